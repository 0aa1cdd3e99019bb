import Foundation
import GRDB
import Intake
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// intake as its executable builds it, over its real socket, on a fake
/// clock that starts Friday 2026-12-04 10:00 in Tokyo.
@Suite("intake service")
struct IntakeServiceTests {
    static let fridayTenJST = "2026-12-04T01:00:00Z"
    static let saturdayThreeJST = "2026-12-04T18:00:00Z"

    static func certificate(
        _ id: String = "C-1", tier: Support_Common_V1_Tier = .enterprise, contacts: Int = 1,
        from: String = "2026-01-01T00:00:00Z", until: String = "2027-12-31T00:00:00Z"
    ) -> Support_Intake_V1_RegisterCertificateRequest {
        var request = Support_Intake_V1_RegisterCertificateRequest()
        request.actor = "ops"
        request.certificateID = id
        request.customer = "Acme \(id)"
        request.tier = tier
        request.office = "tokyo"
        request.validFrom = .init(date: ISO8601DateFormatter().date(from: from)!)
        request.validUntil = .init(date: ISO8601DateFormatter().date(from: until)!)
        request.tam = "tam.sato"
        request.contacts = (1...max(contacts, 1)).prefix(contacts).map { index in
            var contact = Support_Common_V1_Contact()
            contact.name = "Person \(index)"
            contact.email = "p\(index)@\(id.lowercased()).example"
            return contact
        }
        return request
    }

    static func open(
        _ certificate: String = "C-1", contact: String? = nil, channel: Support_Common_V1_Channel = .portal, severity: Int32 = 3
    ) -> Support_Intake_V1_OpenIncidentRequest {
        var request = Support_Intake_V1_OpenIncidentRequest()
        request.certificateID = certificate
        request.contactEmail = contact ?? "p1@\(certificate.lowercased()).example"
        request.channel = channel
        request.kind = .product
        request.severity = severity
        request.title = "scanner crashes"
        return request
    }

    static func events(_ service: InProcessService, incident: String) throws -> [Support_Events_V1_Event] {
        try service.process.environment.database.writer.read { db in
            try service.process.environment.outbox.events(stream: incident, in: db)
        }
    }

    @Test("R-ORG-2: a ninth contact is FAILED_PRECONDITION saying the limit and how to replace one; each change is a revision")
    func contactLimit() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        let registered = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate(contacts: 8))
        #expect(registered.revision == 1)
        var ninth = Support_Intake_V1_AddContactRequest()
        ninth.actor = "ops"
        ninth.certificateID = "C-1"
        ninth.contact.name = "Ninth"
        ninth.contact.email = "ninth@c-1.example"
        let error = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.addContact, ninth) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.details.first?.reason == "CONTACT_LIMIT")
        #expect(error?.message.contains("at most 8") == true && error?.message.contains("remove one") == true)

        var remove = Support_Intake_V1_RemoveContactRequest()
        remove.actor = "ops"
        remove.certificateID = "C-1"
        remove.email = "p8@c-1.example"
        #expect(try await intake.client.call(IntakeRPC.removeContact, remove).revision == 2)
        let added = try await intake.client.call(IntakeRPC.addContact, ninth)
        #expect(added.revision == 3)
        #expect(added.history.map(\.revision) == [1, 2, 3])
        #expect(added.contacts.count == 8)
        try await intake.finish()
    }

    @Test("R-ORG-3: only an authorised contact of a valid certificate may open; a removed contact no longer can")
    func authorisedContacts() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate(contacts: 2))
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate("C-OLD", from: "2024-01-01T00:00:00Z", until: "2025-12-31T00:00:00Z"))

        let stranger = await #expect(throws: RPCError.self) {
            try await intake.client.call(IntakeRPC.openIncident, Self.open(contact: "eve@elsewhere.example"))
        }
        #expect(stranger?.code == .permissionDenied)
        let expired = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.openIncident, Self.open("C-OLD")) }
        #expect(expired?.code == .failedPrecondition)
        #expect(expired?.details.first?.reason == "CERTIFICATE_NOT_VALID")

        #expect(try await intake.client.call(IntakeRPC.openIncident, Self.open(contact: "p2@c-1.example")).id == "INC-000001")
        var remove = Support_Intake_V1_RemoveContactRequest()
        remove.actor = "ops"
        remove.certificateID = "C-1"
        remove.email = "p2@c-1.example"
        _ = try await intake.client.call(IntakeRPC.removeContact, remove)
        let removed = await #expect(throws: RPCError.self) {
            try await intake.client.call(IntakeRPC.openIncident, Self.open(contact: "p2@c-1.example"))
        }
        #expect(removed?.code == .permissionDenied)
        try await intake.finish()
    }

    @Test("R-CH-2, R-CH-3, R-CH-4: closed channels are refused naming the open ones; the portal switch opens email")
    func channels() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.saturdayThreeJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate())
        let phone = await #expect(throws: RPCError.self) {
            try await intake.client.call(IntakeRPC.openIncident, Self.open(channel: .phone, severity: 3))
        }
        #expect(phone?.message.contains("Open now for severity 3: portal.") == true)
        let tam = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.openIncident, Self.open(channel: .tam)) }
        #expect(tam?.details.first?.reason == "CHANNEL_CLOSED")
        let email = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.openIncident, Self.open(channel: .email)) }
        #expect(email?.code == .failedPrecondition)

        var down = Support_Intake_V1_SetCompanyAccountAvailabilityRequest()
        down.actor = "ops"
        down.available = false
        _ = try await intake.client.call(IntakeRPC.setCompanyAccountAvailability, down)
        #expect(try await intake.client.call(IntakeRPC.openIncident, Self.open(channel: .email)).channel == .email)
        let portal = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.openIncident, Self.open(channel: .portal)) }
        #expect(portal?.message.contains("email") == true)
        #expect(try await intake.client.call(IntakeRPC.openIncident, Self.open(channel: .phone, severity: 1)).severity == 1)
        try await intake.finish()
    }

    @Test("R-SLA-3: severity 1 by portal on Saturday 03:00 is accepted phone-advised, and its event says so; by phone it is not")
    func phoneAdvised() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.saturdayThreeJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate())
        let portal = try await intake.client.call(IntakeRPC.openIncident, Self.open(channel: .portal, severity: 1))
        #expect(portal.phoneAdvised)
        let phone = try await intake.client.call(IntakeRPC.openIncident, Self.open(channel: .phone, severity: 1))
        #expect(!phone.phoneAdvised)
        let opened = try #require(try Self.events(intake, incident: portal.id).first)
        #expect(opened.incidentOpened.incident.phoneAdvised)
        #expect(opened.incidentOpened.incident.channel == .portal)
        try await intake.finish()
    }

    @Test("R-SLA-4: the queue lists enterprise before standard, then severity, then age")
    func queueOrder() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate("E", tier: .enterprise))
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate("S", tier: .standard))
        let s1 = try await intake.client.call(IntakeRPC.openIncident, Self.open("S", severity: 1))
        try await intake.clock.advance(by: 60)
        let e4 = try await intake.client.call(IntakeRPC.openIncident, Self.open("E", severity: 4))
        try await intake.clock.advance(by: 60)
        let e2old = try await intake.client.call(IntakeRPC.openIncident, Self.open("E", severity: 2))
        try await intake.clock.advance(by: 60)
        let e2new = try await intake.client.call(IntakeRPC.openIncident, Self.open("E", severity: 2))
        let queue = try await intake.client.call(IntakeRPC.listIncidents, .init())
        #expect(queue.incidents.map(\.id) == [e2old.id, e2new.id, e4.id, s1.id])
        try await intake.finish()
    }

    @Test("The whole life through RPC: every transition writes its event, in order, numbered per incident")
    func lifeCycleEvents() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate())
        let id = try await intake.client.call(IntakeRPC.openIncident, Self.open()).id
        var ask = Support_Intake_V1_RequestInfoRequest()
        ask.incidentID = id; ask.actor = "eng"; ask.text = "logs"
        _ = try await intake.client.call(IntakeRPC.requestInfo, ask)
        var give = Support_Intake_V1_ProvideInfoRequest()
        give.incidentID = id; give.contactEmail = "p1@c-1.example"; give.text = "here"
        _ = try await intake.client.call(IntakeRPC.provideInfo, give)
        var answer = Support_Intake_V1_RespondRequest()
        answer.incidentID = id; answer.actor = "eng"; answer.text = "fixed in 1.2"
        _ = try await intake.client.call(IntakeRPC.respond, answer)
        var resolve = Support_Intake_V1_ResolveRequest()
        resolve.incidentID = id; resolve.actor = "eng"; resolve.resolution = "upgrade"
        _ = try await intake.client.call(IntakeRPC.resolve, resolve)
        var reopen = Support_Intake_V1_ReopenRequest()
        reopen.incidentID = id; reopen.contactEmail = "p1@c-1.example"; reopen.reason = "still crashes"
        _ = try await intake.client.call(IntakeRPC.reopen, reopen)
        _ = try await intake.client.call(IntakeRPC.resolve, resolve)
        var close = Support_Intake_V1_CloseRequest()
        close.incidentID = id; close.contactEmail = "p1@c-1.example"; close.reason.kind = .resolved
        let closed = try await intake.client.call(IntakeRPC.close, close)
        #expect(closed.state == .closed)
        #expect(closed.transitions.map(\.toState) == [.waitingCustomer, .inProgress, .inProgress, .resolved, .inProgress, .resolved, .closed])

        let events = try Self.events(intake, incident: id)
        let kinds = events.map { event -> String in
            switch event.payload {
            case .incidentOpened: "opened"
            case .infoRequested: "info-requested"
            case .infoProvided: "info-provided"
            case .responseGiven: "response"
            case .resolved: "resolved"
            case .reopened: "reopened"
            case .closed: "closed"
            case .articleAdded: "article"
            default: "other"
            }
        }
        // Issue 22: each change's article right after it.
        #expect(kinds == [
            "opened", "article", "info-requested", "article", "info-provided", "article", "response", "article", "resolved", "article",
            "reopened", "article", "resolved", "article", "closed", "article",
        ])
        #expect(events.map(\.sequence) == Array(1...16))
        #expect(Set(events.map(\.eventID)).count == 16)
        #expect(events.allSatisfy { $0.producer == "intake" && $0.occurredAt.date == intake.clock.now() })

        var again = Support_Intake_V1_ReopenRequest()
        again.incidentID = id; again.actor = "eng"; again.reason = "x"
        let refused = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.reopen, again) }
        #expect(refused?.message.contains("is closed") == true)
        try await intake.finish()
    }

    @Test("The same idempotency key returns the same incident and creates nothing new")
    func idempotentOpen() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate())
        let first = try await intake.client.call(IntakeRPC.openIncident, Self.open(), metadata: [Metadata.idempotencyKey: "k-1"])
        let again = try await intake.client.call(IntakeRPC.openIncident, Self.open(), metadata: [Metadata.idempotencyKey: "k-1"])
        let other = try await intake.client.call(IntakeRPC.openIncident, Self.open(), metadata: [Metadata.idempotencyKey: "k-2"])
        #expect(first == again)
        #expect(other.id != first.id)
        #expect(try await intake.client.call(IntakeRPC.listIncidents, .init()).incidents.count == 2)
        #expect(try Self.events(intake, incident: first.id).count == 2, "IncidentOpened and its description's ArticleAdded, once")
        try await intake.finish()
    }

    @Test("R-SEV-4: recording a known error with a workaround reclassifies its linked severity-1 incidents, once")
    func knownError() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate())
        let critical = try await intake.client.call(IntakeRPC.openIncident, Self.open(severity: 1))
        let medium = try await intake.client.call(IntakeRPC.openIncident, Self.open(severity: 3))
        var create = Support_Intake_V1_CreateProblemRequest()
        create.actor = "eng"; create.title = "driver conflict"; create.incidentIds = [critical.id, medium.id]
        let problem = try await intake.client.call(IntakeRPC.createProblem, create)
        var known = Support_Intake_V1_RecordKnownErrorRequest()
        known.actor = "eng"; known.problemID = problem.id; known.rootCause = "filter driver"; known.workaround = "disable it"
        let recorded = try await intake.client.call(IntakeRPC.recordKnownError, known)
        #expect(recorded.problem.state == .knownError)
        #expect(recorded.reclassifiedIncidentIds == [critical.id])
        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = critical.id
        let after = try await intake.client.call(IntakeRPC.getIncident, get)
        #expect(after.severity == 2)
        #expect(after.severityHistory.last?.fromSeverity == 1)
        #expect(after.conversation.last?.kind == .workaround)
        let again = try await intake.client.call(IntakeRPC.recordKnownError, known)
        #expect(again.reclassifiedIncidentIds.isEmpty)
        try await intake.finish()
    }

    @Test("R-HC-1, R-HC-2: a health check is booked on a business day at least 14 days ahead, once per certificate year")
    func healthChecks() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, Self.certificate())
        func book(_ date: String) async throws -> Support_Intake_V1_HealthCheckBooking {
            var request = Support_Intake_V1_BookHealthCheckRequest()
            request.actor = "tam.sato"; request.certificateID = "C-1"; request.date = date; request.agreedWith = "p1@c-1.example"
            return try await intake.client.call(IntakeRPC.bookHealthCheck, request)
        }
        let soon = await #expect(throws: RPCError.self) { try await book("2026-12-14") }
        #expect(soon?.details.first?.reason == "TOO_SOON")
        #expect(soon?.message.contains("2026-12-18") == true, "the message names the earliest date")
        let sunday = await #expect(throws: RPCError.self) { try await book("2026-12-20") }
        #expect(sunday?.details.first?.reason == "NOT_BUSINESS_DAY")
        let booked = try await book("2026-12-21")
        #expect(booked.certificateYear == 1)
        #expect(booked.startsAt.date == ISO8601DateFormatter().date(from: "2026-12-21T01:00:00Z"))
        let second = await #expect(throws: RPCError.self) { try await book("2026-12-22") }
        #expect(second?.details.first?.reason == "ALREADY_BOOKED")
        #expect(try await book("2027-02-01").certificateYear == 2)
        try await intake.finish()
    }

    @Test("Bad input is INVALID_ARGUMENT naming the field", arguments: [
        ("severity", "5"), ("channel", "unspecified"), ("title", "blank"), ("certificate_id", "empty"), ("title", "201 characters"),
    ])
    func badInput(field: String, value: String) async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        var request = Self.open()
        switch (field, value) {
        case ("severity", _): request.severity = 5
        case ("channel", _): request.channel = .unspecified
        case ("title", "blank"): request.title = "  "
        case ("title", _): request.title = String(repeating: "x", count: 201)
        default: request.certificateID = ""
        }
        let error = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.openIncident, request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == field)
        try await intake.finish()
    }
}
