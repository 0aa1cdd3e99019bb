import ServiceKit

/// notifier owns messages, deliveries and report schedules.
public enum NotifierService {
    public static let definition = ServiceDefinition(name: "notifier")
}
