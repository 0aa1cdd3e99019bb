import ServiceKit

/// intake owns certificates, contact lists and incidents (DESIGN.md).
public enum IntakeService {
    /// intake acknowledges an incident only once it is on disk, power loss
    /// included, so its database commits with `synchronous=FULL`.
    public static let definition = ServiceDefinition(name: "intake", synchronous: .full)
}
