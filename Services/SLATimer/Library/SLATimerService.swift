import BusinessCalendar
import Foundation
import ServiceKit
import SupportProto
import SupportRPC

/// sla-timer owns the response cycles of every incident and the durable
/// timers that warn, breach and time out (R-SLA-1..7).
public enum SLATimerService {
    public static let definition = ServiceDefinition(
        name: "sla-timer",
        // intake consumes CustomerTimeout to close the incident (R-SLA-6).
        subscribers: ["intake", "escalation", "notifier"],
        migrations: { SLAMigrations.register(in: &$0) },
        make: { environment in
            let offices: OfficeDirectory
            let policy: SLAPolicy
            do {
                offices = try OfficeDirectory.load(configDirectory: environment.configDirectory)
                policy = try SLAPolicy.load(configDirectory: environment.configDirectory)
            } catch {
                throw RuntimeError("sla-timer cannot load its configuration from \(environment.configDirectory.path): \(error)")
            }
            let engine = SLAEngine(policy: policy, offices: offices, outbox: environment.outbox)
            let scheduler = TimerScheduler(environment: environment, engine: engine)
            environment.metrics.countRows(
                "supportdesk_sla_timers_armed", by: "kind", as: Support_Sla_V1_TimerKind.self, in: environment.database,
                sql: "SELECT kind, COUNT(*) FROM timer WHERE state = \(Support_Sla_V1_TimerState.armed.rawValue) GROUP BY kind"
            )
            environment.metrics.countRows(
                "supportdesk_sla_cycles", by: "state", as: Support_Sla_V1_CycleState.self,
                in: environment.database, sql: "SELECT state, COUNT(*) FROM cycle GROUP BY state"
            )
            return ServiceParts(
                rpc: [SLARPCService(environment: environment, engine: engine)],
                workers: [scheduler],
                applyEvent: { db, event in try engine.apply(event, in: db) },
                afterEvents: { scheduler.wake() }
            )
        },
        checkConfig: { directory in
            let offices = try OfficeDirectory.load(configDirectory: directory)
            let policy = try SLAPolicy.load(configDirectory: directory)
            return [
                "\(OfficeDirectory.fileName): offices \(offices.ids.joined(separator: ", "))",
                "\(SLAPolicy.fileName): version \(policy.version), tiers \(policy.targets.keys.sorted().joined(separator: ", "))",
            ]
        }
    )
}
