import Escalation
import Foundation
import GRDB
import Intake
import SLATimer
import ServiceKit
import SupportProto
import SupportRPC
import SwiftProtobuf
import Synchronization
import Testing
import TestSupport

@testable import Notifier

/// Every method that creates something or changes state honours
/// `idempotency.key` through ServiceKit's one write path (issue 20): the
/// same key with the same request answers the first call's response and
/// changes nothing; the same key with another request is
/// `FAILED_PRECONDITION` (`IDEMPOTENCY_KEY_REUSED`), never the first
/// call's response.
@Suite("Idempotency keys on every mutating method", .serialized)
struct IdempotencyKeyTests {
    /// The methods that change state, by service; every other method of
    /// Proto/ only reads (``readOnly``). A method added to a .proto must be
    /// put in one list or the other (`classification`).
    static let mutating: Set<String> = [
        "/support.intake.v1.Intake/RegisterCertificate", "/support.intake.v1.Intake/AddContact",
        "/support.intake.v1.Intake/RemoveContact", "/support.intake.v1.Intake/OpenIncident",
        "/support.intake.v1.Intake/Respond", "/support.intake.v1.Intake/RequestInfo", "/support.intake.v1.Intake/ProvideInfo",
        "/support.intake.v1.Intake/Resolve", "/support.intake.v1.Intake/Reopen", "/support.intake.v1.Intake/Close",
        "/support.intake.v1.Intake/SetSeverity", "/support.intake.v1.Intake/ProvideWorkaround", "/support.intake.v1.Intake/AddNote",
        "/support.intake.v1.Intake/Reply", "/support.intake.v1.Intake/SetCc",
        "/support.intake.v1.Intake/CloseForCustomerTimeout", "/support.intake.v1.Intake/CreateProblem",
        "/support.intake.v1.Intake/LinkIncident", "/support.intake.v1.Intake/RecordKnownError",
        "/support.intake.v1.Intake/BookHealthCheck", "/support.intake.v1.Intake/SetCompanyAccountAvailability",
        "/support.intake.v1.Intake/RescheduleHealthCheck", "/support.intake.v1.Intake/CancelHealthCheck",
        "/support.intake.v1.Intake/RecordHealthCheckFindings",
        "/support.intake.v1.Intake/BeginAttachment", "/support.intake.v1.Intake/WriteAttachment",
        "/support.intake.v1.Intake/CommitAttachment",
        "/support.escalation.v1.Escalation/Escalate", "/support.escalation.v1.Escalation/SetRoster",
        "/support.notifier.v1.Notifier/Retry", "/support.notifier.v1.Notifier/RequestStatusReport",
        "/support.notifier.v1.Notifier/GenerateReport",
        "/support.clock.v1.Clock/Set", "/support.clock.v1.Clock/Advance",
        "/support.admin.v1.Admin/Backup", "/support.admin.v1.Admin/ReleaseBackup", "/support.events.v1.EventSink/Deliver",
        "/support.admin.v1.Admin/RetryParkedEvent", "/support.admin.v1.Admin/DropParkedEvent",
    ]

    static let readOnly: Set<String> = [
        "/support.intake.v1.Intake/GetCertificate", "/support.intake.v1.Intake/ListCertificates",
        "/support.intake.v1.Intake/GetIncident", "/support.intake.v1.Intake/ListIncidents",
        "/support.intake.v1.Intake/GetProblem", "/support.intake.v1.Intake/ListProblems",
        "/support.intake.v1.Intake/ListHealthChecks", "/support.intake.v1.Intake/GetCompanyAccountAvailability",
        "/support.intake.v1.Intake/ListOffices", "/support.intake.v1.Intake/ReadAttachment",
        "/support.escalation.v1.Escalation/GetEscalations", "/support.escalation.v1.Escalation/ListOpenEscalations",
        "/support.escalation.v1.Escalation/Responsible", "/support.escalation.v1.Escalation/GetRoster",
        "/support.notifier.v1.Notifier/ListMessages", "/support.notifier.v1.Notifier/GetMessage",
        "/support.notifier.v1.Notifier/ListCalls",
        "/support.sla.v1.SLATimer/GetClock", "/support.sla.v1.SLATimer/ListDue", "/support.sla.v1.SLATimer/ListBreaches",
        "/support.sla.v1.SLATimer/ComputeDue", "/support.sla.v1.SLATimer/IsOpen", "/support.sla.v1.SLATimer/NextOpening",
        "/support.clock.v1.Clock/Get", "/support.health.v1.Health/Check", "/support.health.v1.Health/Status",
        "/support.admin.v1.Admin/Metrics", "/support.admin.v1.Admin/ReadBackup", "/support.admin.v1.Admin/ListParkedEvents",
    ]

    @Test("every method of Proto/ is classified as mutating or read-only, so a new one cannot escape this suite")
    func classification() {
        let all = Set(AllRPCMethods.all.map(\.fullName)).filter { !$0.hasPrefix("/support.reflection.") }
        #expect(all.subtracting(Self.mutating).subtracting(Self.readOnly).sorted() == [], "unclassified methods")
        #expect(Self.mutating.intersection(Self.readOnly).isEmpty)
        #expect(Self.mutating.union(Self.readOnly).subtracting(all).sorted() == [], "methods that no .proto declares")
    }

    /// Every row of every table but the idempotency records (which the
    /// first call writes) and the migrations: what "changes nothing" means.
    static func state(_ service: InProcessService) throws -> [String] {
        try service.process.environment.database.writer.read { db in
            let tables = try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table'
                    AND name NOT IN ('idempotency_record', 'grdb_migrations') AND name NOT LIKE 'sqlite_%' ORDER BY name
                    """
            )
            return try tables.flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"").map { "\(table): \($0)" }.sorted()
            }
        }
    }

    /// The methods this run called twice.
    final class Calls: Sendable {
        let methods = Mutex<Set<String>>([])
    }

    /// Calls `method` with a new key, then again with the same key and the
    /// same request (the first response, nothing changed), then with the
    /// same key and another request (refused, nothing changed).
    @discardableResult
    static func twice<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message & Equatable>(
        _ service: InProcessService, _ method: RPCMethod<Request, Response>, _ request: Request,
        caller: String? = nil, calls: Calls, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Response {
        var metadata: Metadata = [Metadata.idempotencyKey: UUID().uuidString]
        if let caller { metadata[Metadata.callerIdentity] = caller }
        let first = try await service.client.call(method, request, metadata: metadata)
        let after = try Self.state(service)
        let second = try await service.client.call(method, request, metadata: metadata)
        #expect(second == first, "\(method.fullName): a retry answers the first response", sourceLocation: sourceLocation)
        #expect(try Self.state(service) == after, "\(method.fullName): a retry changes nothing", sourceLocation: sourceLocation)

        // Another request under the same key: an unknown field makes the
        // payload differ without making it invalid.
        // (Field 999, varint 1: tag bytes B8 3E, then 01.)
        let bytes: Data = try request.serializedBytes()
        let other = try Request(serializedBytes: bytes + Data([0xB8, 0x3E, 0x01]))
        let refused = await #expect(throws: RPCError.self, sourceLocation: sourceLocation) {
            try await service.client.call(method, other, metadata: metadata)
        }
        #expect(refused?.code == .failedPrecondition, "\(method.fullName)", sourceLocation: sourceLocation)
        #expect(refused?.details.first?.reason == "IDEMPOTENCY_KEY_REUSED", "\(method.fullName)", sourceLocation: sourceLocation)
        #expect(try Self.state(service) == after, "\(method.fullName): a reused key changes nothing", sourceLocation: sourceLocation)
        calls.methods.withLock { _ = $0.insert(method.fullName) }
        return first
    }

    /// A service's outbox, every stream, in order.
    static func outbox(_ service: InProcessService) throws -> [Event] {
        try service.process.environment.database.writer.read { db in
            try Data.fetchAll(db, sql: "SELECT payload FROM outbox_event ORDER BY position").map { try Event(serializedBytes: $0) }
        }
    }

    /// Delivers `from`'s outbox, in order, to `to`, as the relay would.
    static func forward(from: InProcessService, to: InProcessService) async throws {
        var deliver = Support_Events_V1_DeliverRequest()
        deliver.events = try Self.outbox(from)
        _ = try await to.client.call(EventSinkRPC.deliver, deliver)
    }

    @Test("each mutating method of the four services, called twice with one key, has one effect; another request under the key is refused")
    func everyMutatingMethod() async throws {
        let calls = Calls()
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: "2026-12-04T01:00:00Z")
        let escalation = try await InProcessService.start(EscalationService.definition, fakeClock: "2026-12-04T01:00:00Z")
        let notifier = try await InProcessService.start(NotifierService.definition, fakeClock: "2026-12-04T01:00:00Z")
        let slaTimer = try await InProcessService.start(SLATimerService.definition, fakeClock: "2026-12-04T01:00:00Z")

        // intake: certificates and contacts.
        var register = Support_Intake_V1_RegisterCertificateRequest()
        register.actor = "ops"
        register.certificateID = "C-1"
        register.customer = "Acme"
        register.tier = .enterprise
        register.office = "tokyo"
        register.validFrom = .init(date: Date(timeIntervalSince1970: 1_767_225_600))  // 2026-01-01
        register.validUntil = .init(date: Date(timeIntervalSince1970: 1_830_211_200))  // 2027-12-31
        register.tam = "tam.sato"
        register.contacts = ["ann", "bob"].map { name in
            var contact = Support_Common_V1_Contact()
            contact.name = name
            contact.email = "\(name)@acme.example"
            return contact
        }
        try await Self.twice(intake, IntakeRPC.registerCertificate, register, calls: calls)
        var add = Support_Intake_V1_AddContactRequest()
        add.actor = "ops"
        add.certificateID = "C-1"
        add.contact.name = "Cy"
        add.contact.email = "cy@acme.example"
        try await Self.twice(intake, IntakeRPC.addContact, add, calls: calls)
        var remove = Support_Intake_V1_RemoveContactRequest()
        remove.actor = "ops"
        remove.certificateID = "C-1"
        remove.email = "cy@acme.example"
        try await Self.twice(intake, IntakeRPC.removeContact, remove, calls: calls)

        // intake: incidents, through their life cycle.
        func open(_ severity: Int32) -> Support_Intake_V1_OpenIncidentRequest {
            var request = Support_Intake_V1_OpenIncidentRequest()
            request.certificateID = "C-1"
            request.contactEmail = "ann@acme.example"
            request.channel = .portal
            request.kind = .product
            request.severity = severity
            request.title = "scanner crashes"
            return request
        }
        let first = try await Self.twice(intake, IntakeRPC.openIncident, open(2), caller: "contact:ann@acme.example", calls: calls)
        let outbreak = try await intake.client.call(IntakeRPC.openIncident, open(1))
        let waiting = try await intake.client.call(IntakeRPC.openIncident, open(3))
        let id = first.id
        var note = Support_Intake_V1_AddNoteRequest()
        note.incidentID = id
        note.actor = "eng.kato"
        note.text = "looks like the 12.3 engine"
        try await Self.twice(intake, IntakeRPC.addNote, note, calls: calls)
        var reply = Support_Intake_V1_ReplyRequest()
        reply.incidentID = id
        reply.actor = "eng.kato"
        reply.text = "we are looking at it"
        try await Self.twice(intake, IntakeRPC.reply, reply, calls: calls)
        var cc = Support_Intake_V1_SetCcRequest()
        cc.incidentID = id
        cc.actor = "eng.kato"
        cc.emails = ["bob@acme.example"]
        try await Self.twice(intake, IntakeRPC.setCc, cc, calls: calls)
        var respond = Support_Intake_V1_RespondRequest()
        respond.incidentID = id
        respond.actor = "eng.kato"
        respond.text = "We are on it"
        respond.via = .portal
        try await Self.twice(intake, IntakeRPC.respond, respond, calls: calls)
        var ask = Support_Intake_V1_RequestInfoRequest()
        ask.incidentID = id
        ask.actor = "eng.kato"
        ask.text = "which hosts?"
        try await Self.twice(intake, IntakeRPC.requestInfo, ask, calls: calls)
        var provide = Support_Intake_V1_ProvideInfoRequest()
        provide.incidentID = id
        provide.contactEmail = "ann@acme.example"
        provide.text = "all of them"
        try await Self.twice(intake, IntakeRPC.provideInfo, provide, caller: "contact:ann@acme.example", calls: calls)
        var workaround = Support_Intake_V1_ProvideWorkaroundRequest()
        workaround.incidentID = id
        workaround.actor = "eng.kato"
        workaround.text = "exclude the share"
        try await Self.twice(intake, IntakeRPC.provideWorkaround, workaround, calls: calls)
        var severity = Support_Intake_V1_SetSeverityRequest()
        severity.incidentID = id
        severity.actor = "eng.kato"
        severity.severity = 3
        severity.reason = "workaround in place"
        try await Self.twice(intake, IntakeRPC.setSeverity, severity, calls: calls)
        var resolve = Support_Intake_V1_ResolveRequest()
        resolve.incidentID = id
        resolve.actor = "eng.kato"
        resolve.resolution = "fixed in 12.4"
        try await Self.twice(intake, IntakeRPC.resolve, resolve, calls: calls)
        var reopen = Support_Intake_V1_ReopenRequest()
        reopen.incidentID = id
        reopen.contactEmail = "ann@acme.example"
        reopen.reason = "still crashes"
        try await Self.twice(intake, IntakeRPC.reopen, reopen, caller: "contact:ann@acme.example", calls: calls)
        _ = try await intake.client.call(IntakeRPC.resolve, resolve)
        var close = Support_Intake_V1_CloseRequest()
        close.incidentID = id
        close.actor = "eng.kato"
        close.reason.kind = .resolved
        try await Self.twice(intake, IntakeRPC.close, close, calls: calls)
        ask.incidentID = waiting.id
        let asked = try await intake.client.call(IntakeRPC.requestInfo, ask)
        var timeout = Support_Intake_V1_CloseForCustomerTimeoutRequest()
        timeout.incidentID = waiting.id
        timeout.waitingSince = asked.sideSince
        try await Self.twice(intake, IntakeRPC.closeForCustomerTimeout, timeout, calls: calls)

        // intake: an attachment, begun, written and committed (issue 22).
        let file = Data("Scanner crashed at 03:12".utf8)
        var begin = Support_Intake_V1_BeginAttachmentRequest()
        begin.incidentID = outbreak.id
        begin.actor = "eng.kato"
        begin.name = "scanner.log"
        begin.sizeBytes = UInt64(file.count)
        begin.sha256 = ContentDigest.hex(of: file)
        let upload = try await Self.twice(intake, IntakeRPC.beginAttachment, begin, calls: calls)
        var write = Support_Intake_V1_WriteAttachmentRequest()
        write.uploadID = upload.uploadID
        write.data = file
        let written = try await Self.twice(intake, IntakeRPC.writeAttachment, write, calls: calls)
        #expect(written.receivedBytes == UInt64(file.count), "written once, not twice")
        var commit = Support_Intake_V1_CommitAttachmentRequest()
        commit.uploadID = upload.uploadID
        try await Self.twice(intake, IntakeRPC.commitAttachment, commit, calls: calls)

        // intake: problems, health checks, the Company Account.
        var problem = Support_Intake_V1_CreateProblemRequest()
        problem.actor = "eng.kato"
        problem.title = "12.3 engine crash"
        // (Not the outbreak: a known error's workaround lowers its linked
        // incidents' severity, and notifier's status report below needs a 1.)
        problem.incidentIds = [try await intake.client.call(IntakeRPC.openIncident, open(3)).id]
        let created = try await Self.twice(intake, IntakeRPC.createProblem, problem, calls: calls)
        var link = Support_Intake_V1_LinkIncidentRequest()
        link.actor = "eng.kato"
        link.problemID = created.id
        link.incidentID = try await intake.client.call(IntakeRPC.openIncident, open(4)).id
        try await Self.twice(intake, IntakeRPC.linkIncident, link, calls: calls)
        var known = Support_Intake_V1_RecordKnownErrorRequest()
        known.actor = "eng.kato"
        known.problemID = created.id
        known.rootCause = "a race in the scanner's cache"
        known.workaround = "exclude the share"
        try await Self.twice(intake, IntakeRPC.recordKnownError, known, calls: calls)
        var book = Support_Intake_V1_BookHealthCheckRequest()
        book.actor = "tam.sato"
        book.certificateID = "C-1"
        book.date = "2027-01-15"
        book.agreedWith = "ann@acme.example"
        let booked = try await Self.twice(intake, IntakeRPC.bookHealthCheck, book, calls: calls)
        var account = Support_Intake_V1_SetCompanyAccountAvailabilityRequest()
        account.actor = "ops"
        account.available = false
        account.note = "maintenance"
        try await Self.twice(intake, IntakeRPC.setCompanyAccountAvailability, account, calls: calls)

        // escalation: it learns of the incidents from intake's events.
        try await Self.forward(from: intake, to: escalation)
        var escalate = Support_Escalation_V1_EscalateRequest()
        escalate.incidentID = outbreak.id
        escalate.actor = "lead.tanaka"
        escalate.reason = "the customer's whole fleet"
        let record = try await Self.twice(escalation, EscalationRPC.escalate, escalate, calls: calls)
        #expect(record.toLevel == .supportLead, "one level up, not two")
        var getRoster = Support_Escalation_V1_GetRosterRequest()
        getRoster.office = "tokyo"
        var setRoster = Support_Escalation_V1_SetRosterRequest()
        setRoster.actor = "ops"
        setRoster.roster = try await escalation.client.call(EscalationRPC.getRoster, getRoster)
        try await Self.twice(escalation, EscalationRPC.setRoster, setRoster, calls: calls)

        // notifier: it learns of incidents and certificates the same way.
        try await Self.forward(from: intake, to: notifier)
        var report = Support_Notifier_V1_RequestStatusReportRequest()
        report.incidentID = outbreak.id
        report.actor = "tam.sato"
        report.text = "We reproduced the outbreak."
        try await Self.twice(notifier, NotifierRPC.requestStatusReport, report, calls: calls)
        var quarterly = Support_Notifier_V1_GenerateReportRequest()
        quarterly.certificateID = "C-1"
        quarterly.quarter = "2026Q4"
        quarterly.actor = "tam.sato"
        try await Self.twice(notifier, NotifierRPC.generateReport, quarterly, calls: calls)
        // A failed message (in process no delivery worker runs: fail one by hand).
        let failed = try await notifier.process.environment.database.writer.write { db -> String in
            var message = try #require(try NotifierStore.messages(incident: "", state: .unspecified, offset: 0, limit: 1, in: db).first)
            message.state = .failed
            try NotifierStore.update(message, in: db)
            return message.id
        }
        var retry = Support_Notifier_V1_RetryRequest()
        retry.messageID = failed
        retry.actor = "ops"
        try await Self.twice(notifier, NotifierRPC.retry, retry, calls: calls)

        // Every service: the fake clock, backups, event delivery.
        var set = Support_Clock_V1_SetClockRequest()
        set.time = .init(date: Date(timeIntervalSince1970: 1_796_436_000))
        try await Self.twice(slaTimer, ClockRPC.set, set, calls: calls)
        var advance = Support_Clock_V1_AdvanceClockRequest()
        advance.by.seconds = 3600
        let advanced = try await Self.twice(slaTimer, ClockRPC.advance, advance, calls: calls)
        #expect(advanced.now.seconds == 1_796_436_000 + 3600, "an hour once, not twice")
        #expect(try await slaTimer.client.call(ClockRPC.get, .init()).now == advanced.now)
        let backup = try await Self.twice(slaTimer, AdminRPC.backup, .init(), calls: calls)
        var release = Support_Admin_V1_ReleaseBackupRequest()
        release.snapshotID = backup.snapshotID
        try await Self.twice(slaTimer, AdminRPC.releaseBackup, release, calls: calls)
        var deliver = Support_Events_V1_DeliverRequest()
        deliver.events = try Self.outbox(intake)
        let delivered = try await Self.twice(slaTimer, EventSinkRPC.deliver, deliver, calls: calls)
        #expect(delivered.duplicateCount == 0, "the retry answers the first delivery's response")

        // Parked events: two breaches escalation stopped on twice while
        // applying them (a crash, as the inbox's attempt count records it)
        // are parked without a third try; a retry applies one, once.
        // (Missing staff no longer parks anything, issue 23.)
        let (retryID, dropID) = try await Self.parkTwoBreaches(on: escalation)
        var retryParked = Support_Admin_V1_RetryParkedEventRequest()
        retryParked.eventID = retryID
        retryParked.actor = "ops"
        let retried = try await Self.twice(escalation, AdminRPC.retryParkedEvent, retryParked, calls: calls)
        #expect(retried.applied)
        var escalations = Support_Escalation_V1_GetEscalationsRequest()
        escalations.incidentID = "INC-NY-1"
        #expect(try await escalation.client.call(EscalationRPC.getEscalations, escalations).records.count == 1, "escalated once")
        var dropParked = Support_Admin_V1_DropParkedEventRequest()
        dropParked.eventID = dropID
        dropParked.actor = "ops"
        try await Self.twice(escalation, AdminRPC.dropParkedEvent, dropParked, calls: calls)
        #expect(try await escalation.client.call(AdminRPC.listParkedEvents, .init()).events.isEmpty)
        // admin.proto: an id that is not parked is NOT_FOUND, for both.
        let gone = await #expect(throws: RPCError.self) { try await escalation.client.call(AdminRPC.dropParkedEvent, dropParked) }
        #expect(gone?.code == .notFound && gone?.details.first?.reason == "EVENT_NOT_PARKED")
        let goneRetry = await #expect(throws: RPCError.self) { try await escalation.client.call(AdminRPC.retryParkedEvent, retryParked) }
        #expect(goneRetry?.code == .notFound)

        // intake: moving, cancelling and closing a health check (R-HC-1,
        // issue 23), last because the findings need intake's clock on the
        // check's day.
        var reschedule = Support_Intake_V1_RescheduleHealthCheckRequest()
        reschedule.actor = "tam.sato"
        reschedule.bookingID = booked.id
        reschedule.date = "2027-01-18"
        reschedule.agreedWith = "ann@acme.example"
        try await Self.twice(intake, IntakeRPC.rescheduleHealthCheck, reschedule, calls: calls)
        var cancel = Support_Intake_V1_CancelHealthCheckRequest()
        cancel.actor = "tam.sato"
        cancel.bookingID = booked.id
        cancel.agreedWith = "ann@acme.example"
        try await Self.twice(intake, IntakeRPC.cancelHealthCheck, cancel, calls: calls)
        book.date = "2027-01-19"
        _ = try await intake.client.call(IntakeRPC.bookHealthCheck, book)
        _ = try await intake.clock.set(to: ISO8601DateFormatter().date(from: "2027-01-19T17:00:00+09:00")!)
        var findings = Support_Intake_V1_RecordHealthCheckFindingsRequest()
        findings.actor = "tam.sato"
        findings.bookingID = booked.id
        findings.findings = "scanning is off on two servers"
        try await Self.twice(intake, IntakeRPC.recordHealthCheckFindings, findings, calls: calls)

        #expect(calls.methods.withLock { $0 } == Self.mutating, "every mutating method was called twice")
        for service in [intake, escalation, notifier, slaTimer] { try await service.finish() }
    }

    /// Two new-york incidents breach, and escalation had stopped twice
    /// while applying each breach (its attempt count says so): both are
    /// parked without a third try. Returns their event ids.
    static func parkTwoBreaches(on escalation: InProcessService) async throws -> (String, String) {
        var events: [Event] = []
        for number in 1...2 {
            var snapshot = Support_Events_V1_IncidentSnapshot()
            snapshot.certificateID = "C-NY"
            snapshot.office = "new-york"
            snapshot.tam = "tam.sato"
            snapshot.severity = 1
            snapshot.tier = .enterprise
            snapshot.state = .new
            snapshot.side = .vendor
            var opened = Event()
            opened.eventID = "ny-open-\(number)"
            opened.producer = "intake"
            opened.incidentID = "INC-NY-\(number)"
            opened.sequence = 1
            opened.occurredAt = .init(date: Date(timeIntervalSince1970: 1_796_436_000))
            opened.payload = .incidentOpened(.with { $0.incident = snapshot })
            var breached = Event()
            breached.eventID = "ny-breach-\(number)"
            breached.producer = "sla-timer"
            breached.incidentID = "INC-NY-\(number)"
            breached.sequence = 1
            breached.occurredAt = .init(date: Date(timeIntervalSince1970: 1_796_437_800))
            breached.payload = .slaBreached(.with { $0.cycle.cycleID = "INC-NY-\(number)/1"; $0.cycle.dueAt = breached.occurredAt })
            events += [opened, breached]
        }
        // As a crash twice over would leave it: two attempts counted.
        try await escalation.process.environment.database.writer.write { db in
            for number in 1...2 {
                try db.execute(sql: "INSERT INTO inbox_attempt (event_id, attempts) VALUES (?, 2)", arguments: ["ny-breach-\(number)"])
            }
        }
        var applied = 0
        for event in events {
            var deliver = Support_Events_V1_DeliverRequest()
            deliver.events = [event]
            applied += try await escalation.client.call(EventSinkRPC.deliver, deliver).appliedEventIds.count
        }
        #expect(applied == 4, "the stream went on past the first breach")
        let parked = try await escalation.client.call(AdminRPC.listParkedEvents, .init()).events
        #expect(parked.map(\.eventID) == ["ny-breach-1", "ny-breach-2"])
        #expect(parked.first?.kind == "sla_breached")
        #expect(parked.first?.reason.contains("stopped twice") == true)
        return ("ny-breach-1", "ny-breach-2")
    }

    @Test("a key is scoped by caller: another organisation's contact with the same key gets its own incident, not the first one's")
    func scopedByCaller() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: "2026-12-04T01:00:00Z")
        for (certificate, contact) in [("C-1", "ann@acme.example"), ("C-2", "eve@other.example")] {
            var register = Support_Intake_V1_RegisterCertificateRequest()
            register.actor = "ops"
            register.certificateID = certificate
            register.customer = certificate
            register.tier = .enterprise
            register.office = "tokyo"
            register.validFrom = .init(date: Date(timeIntervalSince1970: 1_767_225_600))
            register.validUntil = .init(date: Date(timeIntervalSince1970: 1_830_211_200))
            register.tam = "tam.sato"
            register.contacts = [Support_Common_V1_Contact.with { $0.name = contact; $0.email = contact }]
            _ = try await intake.client.call(IntakeRPC.registerCertificate, register)
        }
        func open(_ certificate: String, _ contact: String) async throws -> Support_Intake_V1_Incident {
            var request = Support_Intake_V1_OpenIncidentRequest()
            request.certificateID = certificate
            request.contactEmail = contact
            request.channel = .portal
            request.kind = .product
            request.severity = 3
            request.title = "secret title of \(certificate)"
            return try await intake.client.call(
                IntakeRPC.openIncident, request, metadata: [Metadata.idempotencyKey: "K", Metadata.callerIdentity: "contact:\(contact)"]
            )
        }
        let ann = try await open("C-1", "ann@acme.example")
        let eve = try await open("C-2", "eve@other.example")
        #expect(ann.id != eve.id)
        #expect(eve.certificateID == "C-2" && eve.title == "secret title of C-2")
        #expect(try await intake.client.call(IntakeRPC.listIncidents, .init()).incidents.count == 2)
        try await intake.finish()
    }

    @Test("an idempotency.key over 128 bytes is INVALID_ARGUMENT naming the metadata key, and nothing is stored")
    func keyBounded() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: "2026-12-04T01:00:00Z")
        var account = Support_Intake_V1_SetCompanyAccountAvailabilityRequest()
        account.actor = "ops"
        account.available = false
        let before = try Self.state(intake)
        let error = await #expect(throws: RPCError.self) {
            try await intake.client.call(
                IntakeRPC.setCompanyAccountAvailability, account, metadata: [Metadata.idempotencyKey: String(repeating: "k", count: 129)]
            )
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == "idempotency.key")
        #expect(try Self.state(intake) == before)
        try await intake.finish()
    }
}
