import ServiceKit

/// sla-timer owns SLA clocks per incident and the durable timers.
public enum SLATimerService {
    public static let definition = ServiceDefinition(name: "sla-timer")
}
