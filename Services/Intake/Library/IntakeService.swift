import BusinessCalendar
import ServiceKit
import SupportProto
import SupportRPC

/// intake owns certificates, contact lists, incidents, problems, health-check
/// bookings and the Company Account's availability (DESIGN.md), and
/// publishes every change to the other three services.
public enum IntakeService {
    /// The default of `--max-attachment-bytes`: 25 MiB a file (issue 22).
    public static let defaultMaxAttachmentBytes = AttachmentRules.defaultMaximumBytes

    /// intake with its defaults.
    public static let definition = Self.definition(maxAttachmentBytes: defaultMaxAttachmentBytes)

    /// intake acknowledges an incident only once it is on disk, power loss
    /// included: its writes are answered after an fsync of the WAL covered
    /// them, made beside the writer (decision 15).
    ///
    /// - Parameter maxAttachmentBytes: The largest attachment accepted
    ///   (`--max-attachment-bytes`); BeginAttachment refuses a larger one.
    public static func definition(maxAttachmentBytes: UInt64) -> ServiceDefinition {
        ServiceDefinition(
            name: "intake",
            synchronous: .durableAcknowledgements,
            subscribers: ["sla-timer", "escalation", "notifier"],
            migrations: { IntakeMigrations.register(in: &$0) },
            make: { environment in
                let offices: OfficeDirectory
                do {
                    offices = try OfficeDirectory.load(configDirectory: environment.configDirectory)
                } catch {
                    throw RuntimeError("intake cannot load its offices from \(environment.configDirectory.path): \(error)")
                }
                let service = IntakeRPCService(
                    environment: environment, offices: Offices(directory: offices), maxAttachmentBytes: maxAttachmentBytes
                )
                environment.metrics.countRows(
                    "supportdesk_incidents", by: "state", as: Support_Common_V1_IncidentState.self,
                    in: environment.database, sql: "SELECT state, COUNT(*) FROM incident GROUP BY state"
                )
                let pruner = AttachmentUploadPruner(database: environment.database, clock: environment.clock, logger: environment.logger)
                return ServiceParts(rpc: [service], workers: [pruner], applyEvent: service.apply)
            },
            checkConfig: { directory in
                let offices = try OfficeDirectory.load(configDirectory: directory)
                return ["\(OfficeDirectory.fileName): offices \(offices.ids.joined(separator: ", "))"]
            }
        )
    }
}
