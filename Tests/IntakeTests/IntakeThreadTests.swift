import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import Intake

/// An incident's thread over RPC (issue 22): every step of its life adds
/// its article, public ones are announced, notes stay inside.
@Suite("intake: the thread")
struct IntakeThreadTests {
    static let contact = "p1@c-1.example"

    static func start() async throws -> InProcessService {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate(contacts: 3))
        return intake
    }

    static func open(_ intake: InProcessService) async throws -> String {
        var open = IntakeServiceTests.open()
        open.description_p = "the scanner crashes at start"
        return try await intake.client.call(IntakeRPC.openIncident, open).id
    }

    static func kind(_ event: Support_Events_V1_Event) -> String {
        switch event.payload {
        case .incidentOpened: "opened"
        case .infoRequested: "info-requested"
        case .infoProvided: "info-provided"
        case .responseGiven: "response"
        case .workaroundProvided: "workaround"
        case .resolved: "resolved"
        case .reopened: "reopened"
        case .closed: "closed"
        case .articleAdded(let added): "article \(added.article.number)"
        default: "other"
        }
    }

    /// The thread's rows and the outbox's, to show that a refusal stored nothing.
    static func stored(_ intake: InProcessService) throws -> [Int] {
        try intake.process.environment.database.writer.read { db in
            [
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM article") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox_event") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM idempotency_record") ?? -1,
            ]
        }
    }

    @Test("Issue 22, R-SLA-1: the whole life adds its articles in order; each public one is announced right after its change's event, the note never")
    func wholeLife() async throws {
        let intake = try await Self.start()
        let id = try await Self.open(intake)
        let client = intake.client
        var note = Support_Intake_V1_AddNoteRequest()
        note.incidentID = id; note.actor = "eng.kato"; note.text = "looks like the engine"
        _ = try await client.call(IntakeRPC.addNote, note)
        var ask = Support_Intake_V1_RequestInfoRequest()
        ask.incidentID = id; ask.actor = "eng.kato"; ask.text = "which build?"
        _ = try await client.call(IntakeRPC.requestInfo, ask)
        var call = Support_Intake_V1_ProvideInfoRequest()
        call.incidentID = id; call.contactEmail = Self.contact; call.text = "4711"; call.via = .phone; call.actor = "op.suzuki"
        _ = try await client.call(IntakeRPC.provideInfo, call)
        var mail = Support_Intake_V1_RespondRequest()
        mail.incidentID = id; mail.actor = "eng.kato"; mail.text = "try 12.4"; mail.via = .email
        _ = try await client.call(IntakeRPC.respond, mail)
        var phone = mail
        phone.text = "as said on the phone: 12.4 fixes it"; phone.via = .phone
        let answered = try await client.call(IntakeRPC.respond, phone)
        #expect(answered.state == .inProgress)
        var reply = Support_Intake_V1_ReplyRequest()
        reply.incidentID = id; reply.actor = "eng.kato"; reply.text = "the download link is on the portal"
        _ = try await client.call(IntakeRPC.reply, reply)
        var resolve = Support_Intake_V1_ResolveRequest()
        resolve.incidentID = id; resolve.actor = "eng.kato"; resolve.resolution = "upgrade to 12.4"
        _ = try await client.call(IntakeRPC.resolve, resolve)
        var reopen = Support_Intake_V1_ReopenRequest()
        reopen.incidentID = id; reopen.contactEmail = Self.contact; reopen.reason = "still crashes"
        _ = try await client.call(IntakeRPC.reopen, reopen, metadata: [Caller.metadataKey: "contact:\(Self.contact)"])
        var workaround = Support_Intake_V1_ProvideWorkaroundRequest()
        workaround.incidentID = id; workaround.actor = "eng.kato"; workaround.text = "exclude the share"
        _ = try await client.call(IntakeRPC.provideWorkaround, workaround)
        _ = try await client.call(IntakeRPC.resolve, resolve)
        var close = Support_Intake_V1_CloseRequest()
        close.incidentID = id; close.actor = "eng.kato"; close.reason.kind = .resolved; close.reason.detail = "confirmed by the customer"
        let closed = try await client.call(IntakeRPC.close, close)

        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = id
        let incident = try await client.call(IntakeRPC.getIncident, get)
        #expect(incident == closed, "every Incident-returning call answers the same thread")
        let thread = incident.thread
        #expect(thread.map(\.number) == Array(1...12))
        #expect(thread.map(\.kind) == [
            .description_, .note, .infoRequest, .customerMessage, .response, .response, .reply, .resolution, .reopen, .workaround,
            .resolution, .closure,
        ])
        #expect(thread.map(\.author) == [
            Self.contact, "eng.kato", "eng.kato", Self.contact, "eng.kato", "eng.kato", "eng.kato", "eng.kato", Self.contact, "eng.kato",
            "eng.kato", "eng.kato",
        ])
        #expect(thread.map(\.direction) == [
            .fromCustomer, .internal, .toCustomer, .fromCustomer, .toCustomer, .toCustomer, .toCustomer, .toCustomer, .fromCustomer,
            .toCustomer, .toCustomer, .toCustomer,
        ])
        #expect(thread.map(\.channel) == [.portal, .unspecified, .portal, .phone, .email, .phone, .portal, .portal, .portal, .portal, .portal, .portal])
        #expect(thread.map(\.visibility) == [.public, .internal] + Array(repeating: .public, count: 10))
        #expect(thread[0].text == "the scanner crashes at start")
        #expect(thread[3].enteredBy == "op.suzuki", "the staff id that recorded the call")
        #expect(thread.enumerated().allSatisfy { $0.offset == 3 || $0.element.enteredBy.isEmpty })
        #expect(thread[11].closure.kind == .resolved && thread[11].text == "confirmed by the customer")
        // The deprecated conversation, as before.
        #expect(incident.conversation.map(\.kind) == [.note, .infoRequest, .infoProvided, .response, .response, .workaround])
        #expect(incident.conversation.filter { $0.kind == .response }.map(\.via) == [.email, .phone])

        let events = try IntakeServiceTests.events(intake, incident: id).map(Self.kind)
        #expect(events == [
            "opened", "article 1", "info-requested", "article 3", "info-provided", "article 4", "response", "article 5",
            "response", "article 6", "article 7", "resolved", "article 8", "reopened", "article 9", "workaround", "article 10",
            "resolved", "article 11", "closed", "article 12",
        ])
        let list = try await client.call(IntakeRPC.listIncidents, .init())
        #expect(list.incidents.allSatisfy { $0.thread.isEmpty && $0.conversation.isEmpty }, "ListIncidents leaves the thread out")
        try await intake.finish()
    }

    @Test("ArticleAdded carries the incident's snapshot with the contact's language and the cc contacts")
    func announcement() async throws {
        let intake = try await Self.start()
        let id = try await Self.open(intake)
        var cc = Support_Intake_V1_SetCcRequest()
        cc.incidentID = id; cc.actor = "eng.kato"; cc.emails = ["p2@c-1.example"]
        _ = try await intake.client.call(IntakeRPC.setCc, cc)
        var reply = Support_Intake_V1_ReplyRequest()
        reply.incidentID = id; reply.actor = "eng.kato"; reply.text = "we are on it"; reply.via = .email
        _ = try await intake.client.call(IntakeRPC.reply, reply)
        let event = try #require(try IntakeServiceTests.events(intake, incident: id).last)
        guard case .articleAdded(let added) = event.payload else {
            Issue.record("the reply's event is \(event.payload.map(String.init(describing:)) ?? "none")")
            return
        }
        #expect(added.article.kind == .reply && added.article.text == "we are on it" && added.article.channel == .email)
        #expect(added.incident.contactEmail == Self.contact && added.incident.contactLanguage == "ja", "a tokyo certificate writes in Japanese")
        #expect(added.incident.cc.map(\.email) == ["p2@c-1.example"] && added.incident.cc.map(\.language) == ["ja"])
        #expect(added.incident.state == .new && added.incident.previousState == .new, "a reply moves nothing")
        #expect(event.incidentSnapshot == added.incident)
        try await intake.finish()
    }

    @Test("R-SLA-6: the customer-timeout closure is sla-timer's article, to the customer, without rule ids")
    func customerTimeout() async throws {
        let intake = try await Self.start()
        let id = try await Self.open(intake)
        var ask = Support_Intake_V1_RequestInfoRequest()
        ask.incidentID = id; ask.actor = "eng.kato"; ask.text = "which build?"
        let asked = try await intake.client.call(IntakeRPC.requestInfo, ask)
        var timeout = Support_Intake_V1_CloseForCustomerTimeoutRequest()
        timeout.incidentID = id
        timeout.waitingSince = asked.sideSince
        let closed = try await intake.client.call(IntakeRPC.closeForCustomerTimeout, timeout)
        let closure = try #require(closed.thread.last)
        #expect(closure.kind == .closure && closure.author == "sla-timer" && closure.direction == .toCustomer)
        #expect(closure.closure.kind == .customerTimeout && closure.text == closed.closureReason.detail && !closure.text.contains("R-"))
        let again = try await intake.client.call(IntakeRPC.closeForCustomerTimeout, timeout)
        #expect(again.thread.count == closed.thread.count, "the second timeout adds nothing")
        try await intake.finish()
    }

    // MARK: cc

    @Test("SetCc replaces the list with authorised contacts, each with its language; the reporting contact is left out")
    func setCc() async throws {
        let intake = try await Self.start()
        let id = try await Self.open(intake)
        var cc = Support_Intake_V1_SetCcRequest()
        cc.incidentID = id; cc.actor = "eng.kato"; cc.emails = ["P2@c-1.example", Self.contact, " p3@c-1.example "]
        let set = try await intake.client.call(IntakeRPC.setCc, cc)
        #expect(set.cc.map(\.email) == ["p2@c-1.example", "p3@c-1.example"])
        #expect(set.cc.map(\.name) == ["Person 2", "Person 3"])
        #expect(set.cc.allSatisfy { $0.language == "ja" })
        cc.emails = ["p3@c-1.example"]
        #expect(try await intake.client.call(IntakeRPC.setCc, cc).cc.map(\.email) == ["p3@c-1.example"], "the list is replaced")
        cc.emails = []
        #expect(try await intake.client.call(IntakeRPC.setCc, cc).cc.isEmpty, "an empty list removes every cc")
        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = id
        #expect(try await intake.client.call(IntakeRPC.getIncident, get).cc.isEmpty)
        #expect(try IntakeServiceTests.events(intake, incident: id).count == 2, "SetCc publishes nothing itself")
        try await intake.finish()
    }

    struct BadCc: Sendable, CustomTestStringConvertible {
        let what: String
        let emails: [String]
        let code: RPCError.Code
        let field: String
        var reason = ""
        var testDescription: String { self.what }
    }

    static let badCc: [BadCc] = [
        BadCc(what: "not an authorised contact", emails: ["p2@c-1.example", "eve@elsewhere.example"], code: .permissionDenied, field: "emails[1]", reason: "NOT_AUTHORISED_CONTACT"),
        BadCc(what: "malformed", emails: ["p2-at-c-1.example"], code: .invalidArgument, field: "emails[0]"),
        BadCc(what: "blank", emails: ["p2@c-1.example", " "], code: .invalidArgument, field: "emails[1]"),
        BadCc(what: "repeated", emails: ["p2@c-1.example", "p3@c-1.example", "P2@c-1.example"], code: .invalidArgument, field: "emails[2]"),
        BadCc(what: "more than a certificate's contacts", emails: (1...9).map { "x\($0)@c-1.example" }, code: .invalidArgument, field: "emails"),
    ]

    @Test("SetCc refuses a bad list naming the email at fault, and stores nothing", arguments: badCc)
    func badSetCc(_ bad: BadCc) async throws {
        let intake = try await Self.start()
        let id = try await Self.open(intake)
        let before = try Self.stored(intake)
        var cc = Support_Intake_V1_SetCcRequest()
        cc.incidentID = id; cc.actor = "eng.kato"; cc.emails = bad.emails
        let error = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.setCc, cc) }
        #expect(error?.code == bad.code)
        #expect(error?.details.first?.field == bad.field)
        if !bad.reason.isEmpty { #expect(error?.details.first?.reason == bad.reason) }
        #expect(try Self.stored(intake) == before)
        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = id
        #expect(try await intake.client.call(IntakeRPC.getIncident, get).cc.isEmpty)
        try await intake.finish()
    }

    @Test("SetCc: at most 7 cc contacts; a closed incident takes none")
    func ccLimits() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate(contacts: 8))
        let id = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open()).id
        var cc = Support_Intake_V1_SetCcRequest()
        cc.incidentID = id; cc.actor = "eng.kato"
        cc.emails = (1...8).map { "p\($0)@c-1.example" }
        #expect(try await intake.client.call(IntakeRPC.setCc, cc).cc.count == 7, "the other seven: the reporter is left out")
        var close = Support_Intake_V1_CloseRequest()
        close.incidentID = id; close.actor = "eng.kato"; close.reason.kind = .notReproducible
        _ = try await intake.client.call(IntakeRPC.close, close)
        let closed = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.setCc, cc) }
        #expect(closed?.code == .failedPrecondition)
        try await intake.finish()
    }

    // MARK: Bad input

    struct BadText: Sendable, CustomTestStringConvertible {
        let method: String
        let field: String
        var testDescription: String { "\(self.method).\(self.field)" }
    }

    static let badTexts: [BadText] = [
        BadText(method: "Reply", field: "text"), BadText(method: "Respond", field: "text"), BadText(method: "RequestInfo", field: "text"),
        BadText(method: "ProvideInfo", field: "text"), BadText(method: "AddNote", field: "text"),
        BadText(method: "ProvideWorkaround", field: "text"), BadText(method: "Resolve", field: "resolution"),
        BadText(method: "OpenIncident", field: "description"),
    ]

    @Test("Text over the limit is INVALID_ARGUMENT naming the field; nothing is stored", arguments: badTexts)
    func textOverTheLimit(_ bad: BadText) async throws {
        let intake = try await Self.start()
        let id = try await Self.open(intake)
        let before = try Self.stored(intake)
        let long = String(repeating: "長", count: Field.longText + 1)  // 20,001 characters, 60,003 bytes
        let client = intake.client
        let metadata: Metadata = [Metadata.idempotencyKey: "k-\(bad.method)"]
        let error = await #expect(throws: RPCError.self) {
            switch bad.method {
            case "Reply": _ = try await client.call(IntakeRPC.reply, .with { $0.incidentID = id; $0.actor = "eng"; $0.text = long }, metadata: metadata)
            case "Respond": _ = try await client.call(IntakeRPC.respond, .with { $0.incidentID = id; $0.actor = "eng"; $0.text = long }, metadata: metadata)
            case "RequestInfo": _ = try await client.call(IntakeRPC.requestInfo, .with { $0.incidentID = id; $0.actor = "eng"; $0.text = long }, metadata: metadata)
            case "ProvideInfo":
                _ = try await client.call(IntakeRPC.provideInfo, .with { $0.incidentID = id; $0.contactEmail = Self.contact; $0.text = long }, metadata: metadata)
            case "AddNote": _ = try await client.call(IntakeRPC.addNote, .with { $0.incidentID = id; $0.actor = "eng"; $0.text = long }, metadata: metadata)
            case "ProvideWorkaround":
                _ = try await client.call(IntakeRPC.provideWorkaround, .with { $0.incidentID = id; $0.actor = "eng"; $0.text = long }, metadata: metadata)
            case "Resolve": _ = try await client.call(IntakeRPC.resolve, .with { $0.incidentID = id; $0.actor = "eng"; $0.resolution = long }, metadata: metadata)
            default:
                var open = IntakeServiceTests.open()
                open.description_p = long
                _ = try await client.call(IntakeRPC.openIncident, open, metadata: metadata)
            }
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == bad.field)
        #expect(try Self.stored(intake) == before, "no article, no event, no idempotency record")
        try await intake.finish()
    }

    @Test("ProvideInfo recorded by staff: a call made for a contact records nothing as staff; phone needs the recorder; a recorder needs mail or phone")
    func recordedMessages() async throws {
        let intake = try await Self.start()
        let id = try await Self.open(intake)
        let before = try Self.stored(intake)
        func provide(via: Support_Common_V1_Channel, actor: String, metadata: Metadata = [:]) async -> RPCError? {
            var request = Support_Intake_V1_ProvideInfoRequest()
            request.incidentID = id; request.contactEmail = Self.contact; request.text = "4711"; request.via = via; request.actor = actor
            return await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.provideInfo, request, metadata: metadata) }
        }
        let asContact = await provide(via: .phone, actor: "op.suzuki", metadata: [Caller.metadataKey: "contact:\(Self.contact)"])
        #expect(asContact?.code == .permissionDenied && asContact?.details.first?.field == "actor")
        let unrecorded = await provide(via: .phone, actor: "")
        #expect(unrecorded?.code == .invalidArgument && unrecorded?.details.first?.field == "actor")
        let portal = await provide(via: .portal, actor: "op.suzuki")
        #expect(portal?.code == .invalidArgument && portal?.details.first?.field == "via")
        #expect(try Self.stored(intake) == before)
        try await intake.finish()
    }

    // MARK: Languages

    @Test("Issue 22: a certificate's language defaults to its office's; contacts' to the certificate's; both are validated")
    func languages() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        var tokyo = IntakeServiceTests.certificate("C-1", contacts: 2)
        tokyo.contacts[1].language = "en"
        let registered = try await intake.client.call(IntakeRPC.registerCertificate, tokyo)
        #expect(registered.language == "ja")
        #expect(registered.contacts.map(\.language) == ["ja", "en"])
        #expect(registered.history.first?.contacts.map(\.language) == ["ja", "en"])

        var newYork = IntakeServiceTests.certificate("C-NY")
        newYork.office = "new-york"
        #expect(try await intake.client.call(IntakeRPC.registerCertificate, newYork).language == "en")
        var chosen = IntakeServiceTests.certificate("C-EN")
        chosen.language = "en"
        #expect(try await intake.client.call(IntakeRPC.registerCertificate, chosen).contacts.map(\.language) == ["en"])

        var french = IntakeServiceTests.certificate("C-FR")
        french.language = "fr"
        let badCertificate = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.registerCertificate, french) }
        #expect(badCertificate?.code == .invalidArgument && badCertificate?.details.first?.field == "language")
        var frenchContact = IntakeServiceTests.certificate("C-FR", contacts: 3)
        frenchContact.contacts[2].language = "fr"
        let badContact = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.registerCertificate, frenchContact) }
        #expect(badContact?.details.first?.field == "contacts[2].language")
        var add = Support_Intake_V1_AddContactRequest()
        add.actor = "ops"; add.certificateID = "C-1"; add.contact.name = "Cy"; add.contact.email = "cy@c-1.example"; add.contact.language = "de"
        let badAdd = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.addContact, add) }
        #expect(badAdd?.code == .invalidArgument && badAdd?.details.first?.field == "contact.language")
        add.contact.language = ""
        let added = try await intake.client.call(IntakeRPC.addContact, add)
        #expect(added.contacts.last?.language == "ja")

        // Published with the languages resolved.
        let published = try await intake.process.environment.database.writer.read { db in
            try Data.fetchAll(db, sql: "SELECT payload FROM outbox_event ORDER BY position").map { try Support_Events_V1_Event(serializedBytes: $0) }
        }
        #expect(published.first?.certificateChanged.language == "ja")
        #expect(published.first?.certificateChanged.contacts.map(\.language) == ["ja", "en"])
        let contactsChanged = try #require(published.last?.contactsChanged)
        #expect(contactsChanged.added.language == "ja" && contactsChanged.contacts.map(\.language) == ["ja", "en", "ja"])

        // The incident's contact: p2 writes in English whatever the certificate.
        let incident = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open(contact: "p2@c-1.example"))
        #expect(incident.contact.language == "en")
        let opened = try #require(try IntakeServiceTests.events(intake, incident: incident.id).first)
        #expect(opened.incidentOpened.incident.contactLanguage == "en")

        let offices = try await intake.client.call(IntakeRPC.listOffices, .init())
        #expect(offices.offices.map { "\($0.id)=\($0.language)" } == ["new-york=en", "tokyo=ja"])
        try await intake.finish()
    }
}
