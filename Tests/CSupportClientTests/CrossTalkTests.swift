import CSupportClient
import CSupportProto
import Escalation
import Foundation
import GRDB
import Intake
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// The C client against the real Swift services, over their sockets: what
/// a C caller sends, swift-protobuf reads, and the other way round.
@Suite("C client ↔ Swift services")
struct CrossTalkTests {
    static let fridayTenJST = "2026-12-04T01:00:00Z"

    /// A valid enterprise certificate C-1 with contact ann@acme.example, registered
    /// with the Swift client.
    static func registerCertificate(_ intake: InProcessService) async throws {
        var request = Support_Intake_V1_RegisterCertificateRequest()
        request.actor = "ops"
        request.certificateID = "C-1"
        request.customer = "Acme"
        request.tier = .enterprise
        request.office = "tokyo"
        request.validFrom = .init(seconds: 1_767_225_600)  // 2026-01-01
        request.validUntil = .init(seconds: 1_830_211_200)  // 2027-12-31
        request.tam = "tam.sato"
        var contact = Support_Common_V1_Contact()
        contact.name = "Ann"
        contact.email = "ann@acme.example"
        request.contacts = [contact]
        _ = try await intake.client.call(IntakeRPC.registerCertificate, request)
    }

    struct Opened: Sendable {
        var outcome: CClient.Outcome
        var id = ""
        var severity: Int32 = 0
        var title = ""
        var contactEmail = ""
        var openedAt: Int64 = 0
    }

    /// OpenIncident from C, typed: the caller never sees a frame.
    static func openIncident(_ client: OpaquePointer, title: String, idempotencyKey: String? = nil) -> Opened {
        let strings = CStrings()
        var request = Support__Intake__V1__OpenIncidentRequest()
        support__intake__v1__open_incident_request__init(&request)
        request.certificate_id = strings("C-1")
        request.contact_email = strings("ann@acme.example")
        request.channel = SUPPORT__COMMON__V1__CHANNEL__CHANNEL_PORTAL
        request.kind = SUPPORT__COMMON__V1__INCIDENT_KIND__INCIDENT_KIND_PRODUCT
        request.severity = 2
        request.title = strings(title)
        var incident: UnsafeMutablePointer<Support__Intake__V1__Incident>?
        var result = sd_result()
        let code: Int32
        if let idempotencyKey {
            let key = strings("idempotency.key"), value = strings(idempotencyKey)
            var metadata = sd_metadata(key: key, value: value)
            code = withUnsafePointer(to: &metadata) { entries in
                var options = sd_call_options(timeout_ms: 5000, metadata: entries, metadata_count: 1)
                return sd_intake_open_incident(client, &request, &options, &incident, &result)
            }
        } else {
            code = sd_intake_open_incident(client, &request, nil, &incident, &result)
        }
        var opened = Opened(outcome: CClient.take(&result))
        #expect(code == opened.outcome.code)
        if let incident {
            opened.id = String(cString: incident.pointee.id)
            opened.severity = incident.pointee.severity
            opened.title = String(cString: incident.pointee.title)
            opened.contactEmail = incident.pointee.contact.map { String(cString: $0.pointee.email) } ?? ""
            opened.openedAt = incident.pointee.opened_at?.pointee.seconds ?? 0
            support__intake__v1__incident__free_unpacked(incident, nil)
        }
        return opened
    }

    static func getIncident(_ client: OpaquePointer, _ id: String) -> (CClient.Outcome, title: String?, history: Int) {
        let strings = CStrings()
        var request = Support__Intake__V1__GetIncidentRequest()
        support__intake__v1__get_incident_request__init(&request)
        request.incident_id = strings(id)
        var incident: UnsafeMutablePointer<Support__Intake__V1__Incident>?
        var result = sd_result()
        _ = sd_intake_get_incident(client, &request, nil, &incident, &result)
        let outcome = CClient.take(&result)
        defer { if let incident { support__intake__v1__incident__free_unpacked(incident, nil) } }
        return (outcome, incident.map { String(cString: $0.pointee.title) }, incident.map { $0.pointee.n_severity_history } ?? -1)
    }

    @Test("Health/Check from C: intake is SERVING")
    func health() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        let outcome = await CClient.session(intake.running.socketPath) { client -> (CClient.Outcome, UInt32) in
            var request = Support__Health__V1__CheckRequest()
            support__health__v1__check_request__init(&request)
            var response: UnsafeMutablePointer<Support__Health__V1__CheckResponse>?
            var result = sd_result()
            _ = sd_health_check(client, &request, nil, &response, &result)
            defer { if let response { support__health__v1__check_response__free_unpacked(response, nil) } }
            return (CClient.take(&result), response?.pointee.status.rawValue ?? 99)
        }
        let (status, serving) = try outcome.get()
        #expect(status.codeName == "OK")
        #expect(serving == SUPPORT__HEALTH__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING.rawValue)
        try await intake.finish()
    }

    @Test("R-ORG-3: C opens an incident for an authorised contact; C and Swift then read the same incident")
    func openThenGet() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        try await Self.registerCertificate(intake)
        let outcome = await CClient.session(intake.running.socketPath) { client in
            let opened = Self.openIncident(client, title: "Scanner crashes — ü")
            let again = Self.openIncident(client, title: "Scanner crashes — ü", idempotencyKey: "k-1")
            let replay = Self.openIncident(client, title: "Scanner crashes — ü", idempotencyKey: "k-1")
            return (opened, again, replay, Self.getIncident(client, opened.id))
        }
        let (opened, again, replay, got) = try outcome.get()
        #expect(opened.outcome.codeName == "OK")
        #expect(opened.id == "INC-000001")
        #expect(opened.severity == 2 && opened.contactEmail == "ann@acme.example")
        #expect(opened.openedAt == 1_796_346_000)  // the fake clock's 2026-12-04T01:00:00Z
        #expect(again.id == "INC-000002" && replay.id == "INC-000002", "idempotency.key metadata reached the server")
        #expect(got.0.codeName == "OK")
        #expect(got.title == "Scanner crashes — ü")
        #expect(got.history == 1)

        var request = Support_Intake_V1_GetIncidentRequest()
        request.incidentID = opened.id
        let seenBySwift = try await intake.client.call(IntakeRPC.getIncident, request)
        #expect(seenBySwift.title == "Scanner crashes — ü")
        #expect(seenBySwift.contact.email == "ann@acme.example")
        #expect(seenBySwift.severity == 2 && seenBySwift.channel == .portal && seenBySwift.kind == .product)
        try await intake.finish()
    }

    @Test("An unknown incident is NOT_FOUND in C, with the service's message; a refused open names its reason")
    func errorStatus() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        let outcome = await CClient.session(intake.running.socketPath) { client in
            (Self.getIncident(client, "INC-999999"), Self.openIncident(client, title: "no certificate yet"))
        }
        let (missing, refused) = try outcome.get()
        #expect(missing.0.codeName == "NOT_FOUND")
        #expect(missing.0.message.contains("INC-999999"))
        #expect(missing.title == nil)
        #expect(refused.outcome.codeName == "NOT_FOUND")
        #expect(refused.outcome.message.contains("C-1"))
        #expect(refused.id.isEmpty)
        try await intake.finish()
    }

    @Test("R-ESC-2: a contact escalates from C an incident C opened, once escalation has intake's events")
    func escalate() async throws {
        let directory = try TemporaryDirectory()
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST, directory: directory)
        let escalation = try await InProcessService.start(EscalationService.definition, fakeClock: Self.fridayTenJST, directory: directory)
        try await Self.registerCertificate(intake)
        let opened = try await CClient.session(intake.running.socketPath) { Self.openIncident($0, title: "Outage") }.get()
        #expect(opened.outcome.codeName == "OK")
        // intake's events (its own stream "" with the certificate, then the incident's)
        // reach escalation as its relay would deliver them; the relay does
        // not run in process.
        var delivery = Support_Events_V1_DeliverRequest()
        delivery.events = try await intake.process.environment.database.writer.read { db in
            try ["", opened.id].flatMap { try intake.process.environment.outbox.events(stream: $0, in: db) }
        }
        #expect(!delivery.events.isEmpty)
        _ = try await escalation.client.call(EventSinkRPC.deliver, delivery)

        let escalated = await CClient.session(escalation.running.socketPath) { client -> (CClient.Outcome, UInt32) in
            let strings = CStrings()
            var request = Support__Escalation__V1__EscalateRequest()
            support__escalation__v1__escalate_request__init(&request)
            request.incident_id = strings(opened.id)
            request.contact_email = strings("ann@acme.example")
            request.direction = SUPPORT__ESCALATION__V1__DIRECTION__DIRECTION_UP
            request.reason = strings("Still down")
            for _ in 0..<10 {
                var record: UnsafeMutablePointer<Support__Escalation__V1__EscalationRecord>?
                var result = sd_result()
                _ = sd_escalation_escalate(client, &request, nil, &record, &result)
                let outcome = CClient.take(&result)
                if outcome.codeName == "NOT_FOUND" {  // "retry shortly", says escalation.proto
                    usleep(100_000)
                    continue
                }
                defer { if let record { support__escalation__v1__escalation_record__free_unpacked(record, nil) } }
                return (outcome, record?.pointee.to_level.rawValue ?? 0)
            }
            return (CClient.Outcome(code: -1, message: "escalation never learnt of the incident"), 0)
        }
        let (outcome, level) = try escalated.get()
        #expect(outcome.codeName == "OK", "\(outcome.message)")
        #expect(level == SUPPORT__COMMON__V1__ESCALATION_LEVEL__ESCALATION_LEVEL_SUPPORT_LEAD.rawValue)
        try await escalation.stop()
        try await intake.finish()
    }

    @Test("A stopped service: connecting from C is UNAVAILABLE naming the socket, never a crash")
    func stopped() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: Self.fridayTenJST)
        try await intake.stop()
        let outcome = await CClient.session(intake.running.socketPath) { _ in () }
        guard case .failure(let error) = outcome else {
            Issue.record("connected to a stopped service")
            return
        }
        #expect(error.outcome.codeName == "UNAVAILABLE")
        #expect(error.outcome.message.contains(intake.running.socketPath))
        intake.directory.remove()
    }
}
