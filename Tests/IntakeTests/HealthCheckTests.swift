import Foundation
import Intake
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// R-HC-1, R-HC-2 (issue 23, finding 10): a health check is agreed with an
/// authorised contact, moved or cancelled under the booking rules, and
/// closed by the TAM's findings. The clock starts Friday 2026-12-04 10:00
/// in Tokyo; the certificate (C-1, tokyo, TAM tam.sato) is valid from
/// 2026-01-01 and its contact is p1@c-1.example.
@Suite("health checks")
struct HealthCheckTests {
    static let contact = "p1@c-1.example"

    static func start() async throws -> InProcessService {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        var certificate = IntakeServiceTests.certificate(contacts: 2)
        certificate.contacts[1].language = "en"
        _ = try await intake.client.call(IntakeRPC.registerCertificate, certificate)
        return intake
    }

    static func book(_ intake: InProcessService, _ date: String, agreedWith: String = Self.contact) async throws -> Support_Intake_V1_HealthCheckBooking {
        var request = Support_Intake_V1_BookHealthCheckRequest()
        request.actor = "tam.sato"
        request.certificateID = "C-1"
        request.date = date
        request.agreedWith = agreedWith
        return try await intake.client.call(IntakeRPC.bookHealthCheck, request)
    }

    static func reschedule(_ intake: InProcessService, _ id: String, to date: String, agreedWith: String = Self.contact) async throws -> Support_Intake_V1_HealthCheckBooking {
        var request = Support_Intake_V1_RescheduleHealthCheckRequest()
        request.actor = "tam.sato"
        request.bookingID = id
        request.date = date
        request.agreedWith = agreedWith
        return try await intake.client.call(IntakeRPC.rescheduleHealthCheck, request)
    }

    static func cancel(_ intake: InProcessService, _ id: String, agreedWith: String = Self.contact) async throws -> Support_Intake_V1_HealthCheckBooking {
        var request = Support_Intake_V1_CancelHealthCheckRequest()
        request.actor = "tam.sato"
        request.bookingID = id
        request.agreedWith = agreedWith
        request.reason = "customer's change freeze"
        return try await intake.client.call(IntakeRPC.cancelHealthCheck, request)
    }

    static func findings(_ intake: InProcessService, _ id: String, actor: String = "tam.sato") async throws -> Support_Intake_V1_HealthCheckBooking {
        var request = Support_Intake_V1_RecordHealthCheckFindingsRequest()
        request.actor = actor
        request.bookingID = id
        request.findings = "Real-time scanning is off on 3 file servers; turn it on."
        return try await intake.client.call(IntakeRPC.recordHealthCheckFindings, request)
    }

    static func failure(_ body: () async throws -> Void) async -> (code: RPCError.Code?, reason: String?, field: String?) {
        do {
            try await body()
            return (nil, nil, nil)
        } catch let error as RPCError {
            return (error.code, error.details.first?.reason, error.details.first?.field)
        } catch {
            return (nil, "\(error)", nil)
        }
    }

    @Test("R-HC-2: agreed_with must be an authorised contact of the certificate, and is required")
    func agreedWithAContact() async throws {
        let intake = try await Self.start()
        let stranger = await Self.failure { _ = try await Self.book(intake, "2027-01-15", agreedWith: "stranger@acme.example") }
        #expect(stranger.code == .permissionDenied)
        #expect(stranger.reason == "CONTACT_NOT_AUTHORISED")
        #expect(stranger.field == "agreed_with")
        let missing = await Self.failure { _ = try await Self.book(intake, "2027-01-15", agreedWith: "") }
        #expect(missing.code == .invalidArgument)
        #expect(missing.field == "agreed_with")
        let booked = try await Self.book(intake, "2026-12-21", agreedWith: "P1@C-1.example")
        #expect(booked.agreedWith == Self.contact)
        #expect(booked.id == "HC-C-1-1")
        try await intake.finish()
    }

    @Test("R-HC-2, R-ORG-1: the 14 days count from the office's today, not UTC's")
    func noticeInOfficeDays() async throws {
        let intake = try await Self.start()
        // Friday 16:00 UTC is already Saturday 2026-12-05 01:00 in Tokyo.
        _ = try await intake.clock.set(to: ISO8601DateFormatter().date(from: "2026-12-04T16:00:00Z")!)
        let error = await #expect(throws: RPCError.self) { _ = try await Self.book(intake, "2026-12-18") }
        #expect(error?.details.first?.reason == "TOO_SOON")
        #expect(error?.message.contains("2026-12-19") == true, "names the office's earliest date: \(error?.message ?? "")")
        #expect(try await Self.book(intake, "2026-12-21").date == "2026-12-21")
        try await intake.finish()
    }

    @Test("R-HC-1, R-HC-2: a reschedule keeps the year's booking and obeys the booking rules")
    func reschedule() async throws {
        let intake = try await Self.start()
        let booked = try await Self.book(intake, "2026-12-21")
        let moved = try await Self.reschedule(intake, booked.id, to: "2026-12-22", agreedWith: "p2@c-1.example")
        #expect(moved.id == booked.id)
        #expect(moved.date == "2026-12-22")
        #expect(moved.rescheduledFrom == "2026-12-21")
        #expect(moved.agreedWith == "p2@c-1.example")
        #expect(moved.certificateYear == 1)
        #expect(moved.startsAt.date == ISO8601DateFormatter().date(from: "2026-12-22T01:00:00Z"))
        #expect(await Self.failure { _ = try await Self.reschedule(intake, booked.id, to: "2026-12-10") }.reason == "TOO_SOON")
        #expect(await Self.failure { _ = try await Self.reschedule(intake, booked.id, to: "2026-12-26") }.reason == "NOT_BUSINESS_DAY")
        #expect(await Self.failure { _ = try await Self.reschedule(intake, booked.id, to: "2027-02-01") }.reason == "OTHER_CERTIFICATE_YEAR")
        #expect(await Self.failure { _ = try await Self.reschedule(intake, booked.id, to: "2028-02-01") }.reason == "CERTIFICATE_NOT_VALID")
        let stranger = await Self.failure { _ = try await Self.reschedule(intake, booked.id, to: "2026-12-23", agreedWith: "x@acme.example") }
        #expect(stranger.code == .permissionDenied && stranger.field == "agreed_with")
        let unknown = await Self.failure { _ = try await Self.reschedule(intake, "HC-C-1-9", to: "2026-12-23") }
        #expect(unknown.code == .notFound)
        let listed = try await intake.client.call(IntakeRPC.listHealthChecks, .init())
        #expect(listed.bookings.map(\.date) == ["2026-12-22"], "one booking for the year, at its new date")
        try await intake.finish()
    }

    @Test("R-HC-1: a cancelled check frees its year, which is booked again under the same id; a cancelled check cannot move")
    func cancel() async throws {
        let intake = try await Self.start()
        let booked = try await Self.book(intake, "2026-12-21")
        let cancelled = try await Self.cancel(intake, booked.id)
        #expect(cancelled.hasCancelledAt)
        #expect(cancelled.cancelledBy == "tam.sato")
        #expect(cancelled.cancelReason == "customer's change freeze")
        #expect(await Self.failure { _ = try await Self.cancel(intake, booked.id) }.reason == "HEALTH_CHECK_CANCELLED")
        #expect(await Self.failure { _ = try await Self.reschedule(intake, booked.id, to: "2026-12-22") }.reason == "HEALTH_CHECK_CANCELLED")
        let stranger = await Self.failure { _ = try await Self.cancel(intake, booked.id, agreedWith: "x@acme.example") }
        #expect(stranger.code == .permissionDenied)
        let again = try await Self.book(intake, "2026-12-24")
        #expect(again.id == booked.id)
        #expect(!again.hasCancelledAt)
        #expect(again.date == "2026-12-24")
        #expect(await Self.failure { _ = try await Self.book(intake, "2026-12-25") }.reason == "ALREADY_BOOKED")
        // On its day (Tokyo time) it can no longer be cancelled.
        _ = try await intake.clock.set(to: ISO8601DateFormatter().date(from: "2026-12-24T00:10:00+09:00")!)
        #expect(await Self.failure { _ = try await Self.cancel(intake, again.id) }.reason == "HEALTH_CHECK_STARTED")
        try await intake.finish()
    }

    @Test("R-HC-1: the TAM records the findings once the day has begun; intake publishes them with the contacts in their languages")
    func findings() async throws {
        let intake = try await Self.start()
        let booked = try await Self.book(intake, "2026-12-21")
        #expect(await Self.failure { _ = try await Self.findings(intake, booked.id) }.reason == "HEALTH_CHECK_NOT_STARTED")
        _ = try await intake.clock.set(to: ISO8601DateFormatter().date(from: "2026-12-21T17:00:00+09:00")!)
        let notTAM = await Self.failure { _ = try await Self.findings(intake, booked.id, actor: "lead.tanaka") }
        #expect(notTAM.code == .permissionDenied && notTAM.reason == "NOT_THE_TAM" && notTAM.field == "actor")
        let held = try await Self.findings(intake, booked.id)
        #expect(held.findings.hasPrefix("Real-time scanning is off"))
        #expect(held.findingsRecordedBy == "tam.sato")
        #expect(held.findingsRecordedAt.date == intake.clock.now())
        #expect(await Self.failure { _ = try await Self.findings(intake, booked.id) }.reason == "HEALTH_CHECK_DONE")
        #expect(await Self.failure { _ = try await Self.reschedule(intake, booked.id, to: "2027-01-15") }.reason == "HEALTH_CHECK_DONE")
        #expect(await Self.failure { _ = try await Self.cancel(intake, booked.id) }.reason == "HEALTH_CHECK_DONE")

        let events = try IntakeServiceTests.events(intake, incident: "").compactMap { event -> Support_Events_V1_HealthCheckFindingsRecorded? in
            if case .healthCheckFindingsRecorded(let recorded) = event.payload { return recorded }
            return nil
        }
        #expect(events.count == 1)
        let recorded = try #require(events.first)
        #expect(recorded.bookingID == booked.id)
        #expect(recorded.certificateID == "C-1" && recorded.office == "tokyo" && recorded.date == "2026-12-21" && recorded.tam == "tam.sato")
        #expect(recorded.contacts.map(\.email) == ["p1@c-1.example", "p2@c-1.example"])
        #expect(recorded.contacts.map(\.language) == ["ja", "en"], "tokyo's contacts in Japanese unless they say otherwise")
        #expect(recorded.findings == held.findings)
        try await intake.finish()
    }

    @Test("ListHealthChecks lists every certificate's for an empty id and refuses an unknown certificate")
    func list() async throws {
        let intake = try await Self.start()
        _ = try await Self.book(intake, "2026-12-21")
        #expect(try await intake.client.call(IntakeRPC.listHealthChecks, .init()).bookings.count == 1)
        var unknown = Support_Intake_V1_ListHealthChecksRequest()
        unknown.certificateID = "C-404"
        #expect(await Self.failure { _ = try await intake.client.call(IntakeRPC.listHealthChecks, unknown) }.code == .notFound)
        try await intake.finish()
    }
}
