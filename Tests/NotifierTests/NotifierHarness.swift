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
            templates: try Templates(directory: config.appendingPathComponent("templates")), clock: self.clock,
            rosterBook: RosterBook(try self.database.writer.read { db in try NotifierStore.rosters(in: db) })
        )
        // Staff come from escalation's roster (issue 23): the shipped
        // rosters, as escalation publishes them when it seeds.
        if original == nil {
            for (index, roster) in try Self.shippedRosters().enumerated() {
                try self.applyRoster(roster, id: "escalation-roster-\(index)")
            }
        }
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

    /// deploy/config/roster.json's rosters, each at version 1, the fallback
    /// as office "*".
    static func shippedRosters() throws -> [Support_Escalation_V1_Roster] {
        let url = URL(fileURLWithPath: InProcessService.configDirectory).appendingPathComponent("roster.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        var entries = root["rosters"] as? [[String: Any]] ?? []
        if var fallback = root["fallback"] as? [String: Any] {
            fallback["office"] = "*"
            entries.append(fallback)
        }
        return try entries.map { entry in
            var roster = try Support_Escalation_V1_Roster(jsonUTF8Data: JSONSerialization.data(withJSONObject: entry))
            roster.version = 1
            return roster
        }
    }

    /// escalation's RosterChanged for `roster`, applied as the inbox would.
    func applyRoster(_ roster: Support_Escalation_V1_Roster, id: String, at: String = "2026-12-01T00:00:00") throws {
        var changed = Support_Events_V1_RosterChanged()
        changed.roster = roster
        var event = Event()
        event.eventID = id
        event.producer = "escalation"
        event.occurredAt = .init(date: jst(at))
        event.payload = .rosterChanged(changed)
        try self.database.writer.write { db in try self.engine.apply(event, in: db) }
    }

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

    var articleNumber: UInt32 = 1

    /// intake's ArticleAdded for a new article of the thread, written at
    /// local Tokyo time `at` (issue 22).
    @discardableResult
    func article(
        _ kind: Support_Common_V1_ArticleKind, _ text: String, at: String, direction: Support_Common_V1_Direction = .toCustomer,
        visibility: Support_Common_V1_Visibility = .public, channel: Support_Common_V1_Channel = .portal, author: String = "tam.sato",
        closure: Support_Common_V1_ClosureReason? = nil, attachments: [Support_Common_V1_Attachment] = [], id: String? = nil
    ) throws -> Event {
        self.articleNumber += 1
        var added = Support_Events_V1_ArticleAdded()
        added.article.number = self.articleNumber
        added.article.kind = kind
        added.article.author = author
        added.article.direction = direction
        added.article.visibility = visibility
        added.article.channel = channel
        added.article.at = .init(date: jst(at))
        added.article.text = text
        added.article.attachments = attachments
        if let closure { added.article.closure = closure }
        return try self.send(.articleAdded(added), at: at, id: id)
    }

    /// intake's CertificateChanged for the incident's certificate with `contacts`.
    func certificate(contacts: [Support_Common_V1_Contact]) throws {
        var certificate = Support_Events_V1_CertificateChanged()
        certificate.certificateID = "C-1"
        certificate.customer = "Acme"
        certificate.office = "tokyo"
        certificate.tam = "tam.sato"
        certificate.revision = 1
        certificate.contacts = contacts
        self.sequence += 1
        var event = Event()
        event.eventID = "intake-cert-\(self.sequence)"
        event.producer = "intake"
        event.occurredAt = .init(date: jst("2026-12-01T10:00:00"))
        event.payload = .certificateChanged(certificate)
        try self.database.writer.write { db in try self.engine.apply(event, in: db) }
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

    func statusReport(
        at: String, defer deferIfSuppressed: Bool = false, text: String = "We reproduced the crash.", nextAction: String = ""
    ) throws -> StatusReportResponse {
        try self.database.writer.write { db in
            try self.engine.requestStatusReport(
                self.incident, text: text, nextAction: nextAction, deferIfSuppressed: deferIfSuppressed, now: jst(at), in: db
            )
        }
    }

    /// What the delivery worker does before each round: renders the status
    /// reports due by local Tokyo time `at` (R-REP-2).
    func renderDue(at: String) throws {
        try self.database.writer.write { db in try self.engine.renderDueStatusReports(now: jst(at), in: db) }
    }
}
