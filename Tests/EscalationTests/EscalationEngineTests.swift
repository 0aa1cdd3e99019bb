import BusinessCalendar
import Foundation
import GRDB
import Logging
import ServiceKit
import SupportProto
import Testing
import TestSupport

@testable import Escalation

func jst(_ text: String) -> Date { ISO8601DateFormatter().date(from: text + "+09:00")! }

/// escalation's engine on a real database seeded with the shipped roster,
/// fed intake's and sla-timer's events.
final class EscalationHarness {
    let directory: TemporaryDirectory
    let database: ServiceDatabase
    let engine: EscalationEngine
    var snapshot = Support_Events_V1_IncidentSnapshot()
    var sequence = 0
    let incident = "INC-000001"

    /// `config`: a configuration directory other than the shipped one.
    init(config: URL = URL(fileURLWithPath: InProcessService.configDirectory)) throws {
        self.directory = try TemporaryDirectory()
        self.database = try ServiceDatabase(path: self.directory.file("e.sqlite")) { EscalationStore.register(in: &$0) }
        try RosterSeed.seed(from: config, into: self.database, outbox: EventOutbox(producer: "escalation"), at: jst("2026-12-01T00:00:00"))
        self.engine = EscalationEngine(
            offices: try OfficeDirectory.load(configDirectory: config), outbox: EventOutbox(producer: "escalation"),
            logger: LogRecorder().logger()
        )
        var certificate = Support_Events_V1_CertificateChanged()
        certificate.certificateID = "C-1"
        certificate.office = "tokyo"
        certificate.tam = "tam.sato"
        var contact = Support_Common_V1_Contact()
        contact.email = "ann@acme.example"
        certificate.contacts = [contact]
        try self.send(.certificateChanged(certificate), at: "2026-12-01T00:00:00", incident: "")
        self.snapshot.certificateID = "C-1"
        self.snapshot.office = "tokyo"
        self.snapshot.tam = "tam.sato"
        self.snapshot.severity = 1
        self.snapshot.tier = .enterprise
    }

    deinit { self.directory.remove() }

    func send(_ payload: Support_Events_V1_Event.OneOf_Payload, at: String, incident: String? = nil, id: String? = nil) throws {
        self.sequence += 1
        var event = Event()
        event.eventID = id ?? "e-\(self.sequence)"
        event.producer = "intake"
        event.incidentID = incident ?? self.incident
        // As intake numbers its events: a snapshot replaces only an older one.
        event.sequence = UInt64(self.sequence)
        event.occurredAt = .init(date: jst(at))
        event.payload = payload
        try self.database.writer.write { db in try self.engine.apply(event, in: db) }
    }

    /// The incident in `state`, as intake's events would say.
    func incident(state: Support_Common_V1_IncidentState, at: String) throws {
        self.snapshot.state = state
        self.snapshot.side = [.new, .inProgress].contains(state) ? .vendor : .customer
        var opened = Support_Events_V1_IncidentOpened()
        opened.incident = self.snapshot
        try self.send(.incidentOpened(opened), at: at)
    }

    func breach(cycle: String, at: String, eventID: String? = nil) throws {
        var breached = Support_Events_V1_SLABreached()
        breached.cycle.cycleID = cycle
        breached.cycle.dueAt = .init(date: jst(at))
        try self.send(.slaBreached(breached), at: at, id: eventID)
    }

    /// sla-timer's SLAMet for `cycle`, withdrawing its breach.
    func withdraw(cycle: String, due: String, at: String, eventID: String? = nil) throws {
        var met = Support_Events_V1_SLAMet()
        met.cycle.cycleID = cycle
        met.cycle.dueAt = .init(date: jst(due))
        met.metAt = .init(date: jst(due))
        met.withdrawsBreach = true
        try self.send(.slaMet(met), at: at, id: eventID)
    }

    func escalate(_ requester: EscalationEngine.Requester, direction: Support_Escalation_V1_Direction = .up, at: String) throws -> Support_Escalation_V1_EscalationRecord {
        try self.database.writer.write { db in
            let (record, escalated) = try self.engine.escalate(self.incident, by: requester, direction: direction, reason: "test", at: jst(at), in: db)
            try self.engine.outbox.append(escalated, in: db)
            return record
        }
    }

    var records: [Support_Escalation_V1_EscalationRecord] {
        get throws { try self.database.writer.read { db in try EscalationStore.records(of: self.incident, in: db) } }
    }

    var escalatedEvents: Int {
        get throws {
            try self.database.writer.read { db in try EventOutbox(producer: "escalation").events(stream: self.incident, in: db) }.count
        }
    }
}

@Suite("Escalation")
struct EscalationEngineTests {
    @Test("R-ESC-2: a customer escalates an unresolved incident on the vendor's side to the support lead")
    func customerEscalation() throws {
        let harness = try EscalationHarness()
        try harness.incident(state: .inProgress, at: "2026-12-07T11:00:00")
        let record = try harness.escalate(.customer("ann@acme.example"), at: "2026-12-07T11:00:00")
        #expect(record.fromLevel == .tam && record.toLevel == .supportLead)
        #expect(record.trigger == .customer)
        #expect(record.responsible.id == "lead.tanaka")
        #expect(!record.dutyManagerReplacedTam, "Monday 11:00 is within the TAM's hours")
        #expect(try harness.escalatedEvents == 1)
    }

    @Test("R-ESC-2: refused while the incident waits for the customer, and when resolved, with a sentence saying why")
    func customerRefusals() throws {
        let harness = try EscalationHarness()
        try harness.incident(state: .waitingCustomer, at: "2026-12-07T11:00:00")
        let waiting = #expect(throws: ServiceError.self) { try harness.escalate(.customer("ann@acme.example"), at: "2026-12-07T11:00:00") }
        #expect(waiting?.reason == "CUSTOMER_SIDE")
        #expect(waiting?.rpcError.message.contains("waiting for your information; provide it first") == true)
        try harness.incident(state: .resolved, at: "2026-12-07T12:00:00")
        let resolved = #expect(throws: ServiceError.self) { try harness.escalate(.customer("ann@acme.example"), at: "2026-12-07T12:00:00") }
        #expect(resolved?.reason == "INCIDENT_RESOLVED")
        try harness.incident(state: .inProgress, at: "2026-12-07T13:00:00")
        let stranger = #expect(throws: ServiceError.self) { try harness.escalate(.customer("eve@elsewhere.example"), at: "2026-12-07T13:00:00") }
        #expect(stranger?.rpcError.code == .permissionDenied)
        #expect(try harness.records.isEmpty)
    }

    @Test("R-ESC-1: one level at a time up to 3, the ceiling; staff may de-escalate but not below 1")
    func ladder() throws {
        let harness = try EscalationHarness()
        try harness.incident(state: .inProgress, at: "2026-12-07T11:00:00")
        #expect(try harness.escalate(.staff("boss"), at: "2026-12-07T11:00:00").toLevel == .supportLead)
        #expect(try harness.escalate(.staff("boss"), at: "2026-12-07T11:01:00").toLevel == .businessAccountManager)
        let ceiling = #expect(throws: ServiceError.self) { try harness.escalate(.customer("ann@acme.example"), at: "2026-12-07T11:02:00") }
        #expect(ceiling?.reason == "LEVEL_CEILING")
        #expect(try harness.escalate(.staff("boss"), direction: .down, at: "2026-12-07T11:03:00").toLevel == .supportLead)
        #expect(try harness.escalate(.staff("boss"), direction: .down, at: "2026-12-07T11:04:00").toLevel == .tam)
        let floor = #expect(throws: ServiceError.self) { try harness.escalate(.staff("boss"), direction: .down, at: "2026-12-07T11:05:00") }
        #expect(floor?.reason == "LEVEL_FLOOR")
        let customerDown = #expect(throws: ServiceError.self) { try harness.escalate(.customer("ann@acme.example"), direction: .down, at: "2026-12-07T11:06:00") }
        #expect(customerDown?.rpcError.code == .permissionDenied)
    }

    @Test("R-ESC-3, R-ORG-4: a Saturday 03:30 breach escalates once to the support lead; the TAM's part goes to the duty manager")
    func breachOutOfHours() throws {
        let harness = try EscalationHarness()
        try harness.incident(state: .new, at: "2026-12-05T03:00:00")
        try harness.breach(cycle: "INC-000001/1", at: "2026-12-05T03:30:00")
        // The same breach again, and again under another event id.
        try harness.breach(cycle: "INC-000001/1", at: "2026-12-05T03:30:00")
        let records = try harness.records
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.trigger == .slaBreach && record.slaCycleID == "INC-000001/1")
        #expect(record.toLevel == .supportLead)
        #expect(record.levelOwner.id == "lead.tanaka")
        #expect(record.dutyManagerReplacedTam)
        #expect(record.tamContact.id == "duty.ito", "Saturday is duty.ito's shift")
        #expect(try harness.escalatedEvents == 1)
    }

    @Test("R-ESC-3: a breach that arrives before intake's IncidentOpened is refused, not dropped; delivered again after it, it escalates once")
    func breachBeforeOpened() throws {
        let harness = try EscalationHarness()
        #expect(throws: ServiceError.self) {
            try harness.breach(cycle: "INC-000001/1", at: "2026-12-05T03:30:00", eventID: "breach-1")
        }
        #expect(try harness.records.isEmpty)
        try harness.incident(state: .new, at: "2026-12-05T03:00:00")
        try harness.breach(cycle: "INC-000001/1", at: "2026-12-05T03:30:00", eventID: "breach-1")
        let records = try harness.records
        #expect(records.count == 1)
        #expect(records.first?.slaCycleID == "INC-000001/1")
        #expect(try harness.escalatedEvents == 1)
    }

    @Test("R-ESC-3: a withdrawn breach takes its automatic escalation back down, once, recorded as such")
    func withdrawnBreach() throws {
        let harness = try EscalationHarness()
        try harness.incident(state: .new, at: "2026-12-07T10:00:00")
        try harness.breach(cycle: "INC-000001/1", at: "2026-12-07T10:30:00")
        try harness.withdraw(cycle: "INC-000001/1", due: "2026-12-07T10:30:00", at: "2026-12-07T10:31:00", eventID: "met-1")
        // Delivered again under another id: nothing more.
        try harness.withdraw(cycle: "INC-000001/1", due: "2026-12-07T10:30:00", at: "2026-12-07T10:31:00", eventID: "met-2")
        let records = try harness.records
        #expect(records.map(\.trigger) == [.slaBreach, .slaBreachWithdrawn])
        let undone = try #require(records.last)
        #expect(undone.fromLevel == .supportLead && undone.toLevel == .tam)
        #expect(undone.slaCycleID == "INC-000001/1" && undone.causeEventID == "met-1")
        #expect(undone.reason.contains("withdrawn") && undone.reason.contains(records[0].id))
        #expect(try harness.escalatedEvents == 2, "the way down is announced like the way up")
        #expect(try harness.database.writer.read { db in try EscalationStore.incident(harness.incident, in: db) }?.level == .tam)
    }

    @Test("R-ESC-3: a withdrawn breach leaves the level alone once someone escalated since, or when the breach escalated nothing")
    func withdrawnBreachAfterLaterEscalation() throws {
        let harness = try EscalationHarness()
        try harness.incident(state: .new, at: "2026-12-07T10:00:00")
        try harness.breach(cycle: "INC-000001/1", at: "2026-12-07T10:30:00")
        _ = try harness.escalate(.staff("boss"), at: "2026-12-07T10:40:00")
        try harness.withdraw(cycle: "INC-000001/1", due: "2026-12-07T10:30:00", at: "2026-12-07T10:45:00")
        #expect(try harness.records.map(\.trigger) == [.slaBreach, .staff])
        #expect(try harness.database.writer.read { db in try EscalationStore.incident(harness.incident, in: db) }?.level == .businessAccountManager)
        // A cycle whose breach escalated nothing (here: none was delivered).
        try harness.withdraw(cycle: "INC-000001/2", due: "2026-12-07T11:30:00", at: "2026-12-07T11:31:00")
        #expect(try harness.records.count == 2)
    }

    @Test("R-ORG-4: the duty manager on shift follows the office's local weekday and minute")
    func dutyShifts() throws {
        let config = URL(fileURLWithPath: InProcessService.configDirectory)
        let office = try #require(try OfficeDirectory.load(configDirectory: config)["tokyo"])
        let harness = try EscalationHarness()
        let roster = try #require(try harness.database.writer.read { db in try EscalationStore.roster(office: "tokyo", in: db) })
        #expect(RosterRules.dutyManager(at: jst("2026-12-07T08:00:00"), roster: roster, office: office)?.id == "duty.ito")
        #expect(RosterRules.dutyManager(at: jst("2026-12-07T20:00:00"), roster: roster, office: office)?.id == "duty.kato")
        #expect(RosterRules.dutyManager(at: jst("2026-12-06T12:00:00"), roster: roster, office: office)?.id == "duty.kato", "Sunday")
        // Every hour of the week has someone.
        for hour in 0..<(7 * 24) {
            let instant = jst("2026-12-07T00:30:00").addingTimeInterval(Double(hour) * 3600)
            #expect(RosterRules.dutyManager(at: instant, roster: roster, office: office) != nil, "\(instant)")
        }
        // A holiday weekday (2027-01-11, Coming-of-Age Day) at noon: the TAM is away.
        let who = RosterRules.responsibility(
            level: .tam, at: jst("2027-01-11T12:00:00"), roster: roster, office: office, officeID: "tokyo", certificateTAM: "tam.sato"
        )
        #expect(who.dutyManagerReplacedTAM && who.responsible?.id == "duty.kato" && who.gap == nil)
    }

    @Test("A roster without its level owners, or with a bad shift, is refused naming the field")
    func rosterValidation() {
        var roster = Support_Escalation_V1_Roster()
        roster.office = "tokyo"
        let missing = #expect(throws: ServiceError.self) { try RosterRules.validate(roster) }
        #expect(missing?.rpcError.details.first?.field == "roster.tams")
        var person = Support_Common_V1_Person()
        person.id = "x"
        person.email = "x@vendor.example"
        roster.tam = person
        roster.supportLead = person
        roster.businessAccountManager = person
        var manager = Support_Escalation_V1_DutyManager()
        manager.person = person
        var shift = Support_Escalation_V1_Shift()
        shift.weekday = .monday
        shift.startMinute = 600
        shift.endMinute = 1500
        manager.shifts = [shift]
        roster.dutyManagers = [manager]
        let badShift = #expect(throws: ServiceError.self) { try RosterRules.validate(roster) }
        #expect(badShift?.rpcError.details.first?.field == "roster.duty_managers[0].shifts[0]")
    }
}

@Suite("Escalation: what a contact may see")
struct EscalationContactScopeTests {
    @Test("A contact is known only on its own certificate's incidents; the handler answers NOT_FOUND for the rest")
    func contactScope() throws {
        let harness = try EscalationHarness()
        try harness.incident(state: .inProgress, at: "2026-12-07T11:00:00")
        let (own, stranger, missing) = try harness.database.writer.read { db in
            (
                try EscalationStore.isContact("ann@acme.example", ofIncident: harness.incident, in: db),
                try EscalationStore.isContact("eve@other.example", ofIncident: harness.incident, in: db),
                try EscalationStore.isContact("ann@acme.example", ofIncident: "INC-999999", in: db)
            )
        }
        #expect(own)
        #expect(!stranger)
        #expect(!missing)
    }

    @Test("R-ORG-2: a late CertificateChanged of an older revision leaves the newer revision's contacts")
    func staleCertificateRevision() throws {
        let harness = try EscalationHarness()
        try harness.incident(state: .inProgress, at: "2026-12-07T11:00:00")
        func certificate(revision: UInt32, contact: String) -> Support_Events_V1_CertificateChanged {
            var certificate = Support_Events_V1_CertificateChanged()
            certificate.certificateID = "C-1"
            certificate.office = "tokyo"
            certificate.tam = "tam.sato"
            certificate.revision = revision
            certificate.contacts = [.with { $0.email = contact }]
            return certificate
        }
        try harness.send(.certificateChanged(certificate(revision: 2, contact: "bob@acme.example")), at: "2026-12-07T11:01:00", incident: "")
        try harness.send(.certificateChanged(certificate(revision: 1, contact: "old@acme.example")), at: "2026-12-07T11:02:00", incident: "")
        let (bob, old, ann) = try harness.database.writer.read { db in
            (
                try EscalationStore.isContact("bob@acme.example", ofIncident: harness.incident, in: db),
                try EscalationStore.isContact("old@acme.example", ofIncident: harness.incident, in: db),
                try EscalationStore.isContact("ann@acme.example", ofIncident: harness.incident, in: db)
            )
        }
        #expect(bob, "revision 2's contact stays")
        #expect(!old, "revision 1 arrived late and is ignored")
        #expect(!ann, "revision 0's contact was replaced by revision 2's")
        let record = try harness.escalate(.customer("bob@acme.example"), at: "2026-12-07T11:05:00")
        #expect(record.requestedBy == "bob@acme.example")
    }
}
