import ServiceKit

/// escalation owns the roster and escalation records and levels.
public enum EscalationService {
    public static let definition = ServiceDefinition(name: "escalation")
}
