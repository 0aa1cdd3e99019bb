import BusinessCalendar
import Foundation
import ServiceKit
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
            return ServiceParts(
                rpc: [SLARPCService(environment: environment, engine: engine)],
                workers: [scheduler],
                applyEvent: { db, event in try engine.apply(event, in: db) },
                afterEvents: { scheduler.wake() }
            )
        }
    )
}
