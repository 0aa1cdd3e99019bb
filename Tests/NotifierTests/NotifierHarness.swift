import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto
import TestSupport

@testable import Notifier

func jst(_ text: String) -> Date { ISO8601DateFormatter().date(from: text + "+09:00")! }

/// Feeds the engine events for one incident as intake, sla-timer and
/// escalation would, and reads back the messages it created.
final class NotifierHarness {
    let directory: TemporaryDirectory
    let database: ServiceDatabase
    let engine: NotifierEngine
    let clock: ManualClock
    var snapshot = Support_Events_V1_IncidentSnapshot()
    var sequence = 0
    let incident = "INC-000001"

    /// `copying`: a database to start from, copied as a backup and restore would.
    init(
        severity: Int32 = 1, channel: Support_Common_V1_Channel = .portal, phoneAdvised: Bool = false, openedAt: String = "2026-12-05T03:00:00",
        copying original: ServiceDatabase? = nil
    ) throws {
        self.directory = try TemporaryDirectory()
        self.database = try ServiceDatabase(path: self.directory.file("notifier.sqlite")) { NotifierMigrations.register(in: &$0) }
        if let original { try original.writer.backup(to: self.database.writer) }
        let config = URL(fileURLWithPath: InProcessService.configDirectory)
        self.clock = ManualClock(start: jst(openedAt))
        self.engine = NotifierEngine(
            config: try NotifierConfig.load(configDirectory: config), offices: try OfficeDirectory.load(configDirectory: config),
            templates: try Templates(directory: config.appendingPathComponent("templates")), clock: self.clock
        )
        self.snapshot.certificateID = "C-1"
        self.snapshot.customer = "Acme"
        self.snapshot.tier = .enterprise
        self.snapshot.office = "tokyo"
        self.snapshot.tam = "tam.sato"
        self.snapshot.severity = severity
        self.snapshot.channel = channel
        self.snapshot.phoneAdvised = phoneAdvised
        self.snapshot.contactEmail = "ann@acme.example"
        self.snapshot.contactName = "Ann"
        self.snapshot.title = "mail gateway down"
        self.snapshot.openedAt = .init(date: jst(openedAt))
        self.snapshot.state = .new
        self.snapshot.side = .vendor
    }

    deinit { self.directory.remove() }

    /// Applies an event at local Tokyo time `at`; intake payloads get the current snapshot.
    @discardableResult
    func send(_ payload: Support_Events_V1_Event.OneOf_Payload, at: String, producer: String = "intake", id: String? = nil) throws -> Event {
        self.sequence += 1
        var event = Event()
        event.eventID = id ?? "\(producer)-\(self.sequence)"
        event.producer = producer
        event.incidentID = self.incident
        event.sequence = UInt64(self.sequence)
        event.occurredAt = .init(date: jst(at))
        event.payload = payload
        event.incidentSnapshot = self.snapshot
        try self.database.writer.write { db in try self.engine.apply(event, in: db) }
        return event
    }

    func open(at: String = "2026-12-05T03:00:00") throws {
        try self.send(.incidentOpened(.init()), at: at)
    }

    func cycle(due: String, severity: Int32 = 1) -> Support_Events_V1_CycleFacts {
        var facts = Support_Events_V1_CycleFacts()
        facts.cycleID = "\(self.incident)/1"
        facts.cycleNumber = 1
        facts.severity = severity
        facts.dueAt = .init(date: jst(due))
        facts.office = "tokyo"
        facts.certificateID = "C-1"
        return facts
    }

    /// sla-timer's breach of cycle 1 (due `due`, fired at `breachedAt`),
    /// then its withdrawal: the answer recorded at `answeredAt` reached it late.
    func breachWithdrawn(due: String, breachedAt: String, answeredAt: String) throws {
        var breach = Support_Events_V1_SLABreached()
        breach.cycle = self.cycle(due: due)
        try self.send(.slaBreached(breach), at: breachedAt, producer: "sla-timer")
        var met = Support_Events_V1_SLAMet()
        met.cycle = breach.cycle
        met.metAt = .init(date: jst(answeredAt))
        met.withdrawsBreach = true
        try self.send(.slaMet(met), at: answeredAt, producer: "sla-timer")
    }

    func messages(_ template: String? = nil) throws -> [Message] {
        try self.database.writer.read { db in
            try NotifierStore.messages(incident: "", state: .unspecified, offset: 0, limit: 1000, in: db)
        }.filter { template == nil || $0.templateName == template }
    }

    func statusReport(at: String, defer deferIfSuppressed: Bool = false) throws -> StatusReportResponse {
        try self.database.writer.write { db in
            try self.engine.requestStatusReport(self.incident, deferIfSuppressed: deferIfSuppressed, now: jst(at), in: db)
        }
    }
}
