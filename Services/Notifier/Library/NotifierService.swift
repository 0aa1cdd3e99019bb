import BusinessCalendar
import Foundation
import ServiceKit
import SupportProto
import SupportRPC

/// notifier owns messages, deliveries and reports: who is told what and
/// when (R-REP-1, R-REP-2, R-SLA-3, R-SLA-6, R-ORG-4).
public enum NotifierService {
    public static let definition = ServiceDefinition(
        name: "notifier",
        migrations: { NotifierMigrations.register(in: &$0) },
        make: { environment in
            let offices: OfficeDirectory
            let config: NotifierConfig
            let templates: Templates
            do {
                offices = try OfficeDirectory.load(configDirectory: environment.configDirectory)
                config = try NotifierConfig.load(configDirectory: environment.configDirectory)
                templates = try Templates(directory: environment.configDirectory.appendingPathComponent("templates"))
            } catch {
                throw RuntimeError("notifier cannot load its configuration from \(environment.configDirectory.path): \(error)")
            }
            let transport: any MailTransport
            switch config.transport {
            case .maildir:
                let directory = URL(fileURLWithPath: environment.layout.directory).appendingPathComponent("maildir")
                do { transport = try MaildirTransport(directory: directory) } catch {
                    throw RuntimeError("notifier cannot create its Maildir \(directory.path): \(error)")
                }
            case .sendmail:
                transport = SendmailTransport(command: config.sendmailCommand)
            }
            // Staff come from escalation's rosters, kept from RosterChanged
            // events (issue 23); the book starts from what was kept.
            let rosters = try environment.database.writer.read { db in try NotifierStore.rosters(in: db) }
            let engine = NotifierEngine(
                config: config, offices: offices, templates: templates, clock: environment.clock, rosterBook: RosterBook(rosters)
            )
            let worker = DeliveryWorker(environment: environment, config: config, transport: transport) { db, now in
                _ = try engine.generateScheduledReports(now: now, in: db)
                // R-REP-2: a status report shows the incident as it is when sent.
                try engine.renderDueStatusReports(now: now, in: db)
            }
            environment.metrics.countRows(
                "supportdesk_messages", by: "state", as: Support_Notifier_V1_MessageState.self,
                in: environment.database, sql: "SELECT state, COUNT(*) FROM message GROUP BY state"
            )
            return ServiceParts(
                rpc: [NotifierRPCService(environment: environment, engine: engine, worker: worker)],
                workers: [worker],
                applyEvent: { db, event in try engine.apply(event, in: db) },
                afterEvents: { worker.wake() }
            )
        },
        checkConfig: { directory in
            let offices = try OfficeDirectory.load(configDirectory: directory)
            let config = try NotifierConfig.load(configDirectory: directory)
            _ = try Templates(directory: directory.appendingPathComponent("templates"))
            return [
                "\(OfficeDirectory.fileName): offices \(offices.ids.joined(separator: ", "))",
                "notifier.json: transport \(config.transport)",
                "templates/: en/ holds every kind, \(Templates.languages.filter { $0 != Templates.defaultLanguage }.map { "\($0)/" }.joined(separator: ", ")) every customer kind (staff mail is English)",
            ]
        }
    )
}
