import Foundation
import Intake
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// R-ORG-1 (issue 23, finding 5): a certificate's validity is calendar days
/// of its office, the last one included.
@Suite("certificate validity in office days")
struct OfficeDayValidityTests {
    static func time(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    static func byDates(_ id: String = "C-1", office: String = "tokyo", from: String, until: String) -> Support_Intake_V1_RegisterCertificateRequest {
        var request = IntakeServiceTests.certificate(id)
        request.clearValidFrom()
        request.clearValidUntil()
        request.office = office
        request.validFromDate = from
        request.validUntilDate = until
        return request
    }

    @Test("R-ORG-1: a Tokyo certificate 2027-01-01..2027-12-31 covers its first and last day in Tokyo and ends at Tokyo midnight")
    func tokyoFirstAndLastDay() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        let certificate = try await intake.client.call(IntakeRPC.registerCertificate, Self.byDates(from: "2027-01-01", until: "2027-12-31"))
        #expect(certificate.validFrom.date == Self.time("2027-01-01T00:00:00+09:00"))
        #expect(certificate.validUntil.date == Self.time("2028-01-01T00:00:00+09:00"), "valid_until stays exclusive on the wire")
        #expect(certificate.validFromDate == "2027-01-01")
        #expect(certificate.validUntilDate == "2027-12-31")

        for accepted in ["2027-01-01T00:30:00+09:00", "2027-12-31T23:30:00+09:00"] {
            _ = try await intake.clock.set(to: Self.time(accepted))
            let incident = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open())
            #expect(!incident.id.isEmpty, "accepted at \(accepted)")
        }
        _ = try await intake.clock.set(to: Self.time("2028-01-01T00:00:00+09:00"))
        let refused = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open()) }
        #expect(refused?.code == .failedPrecondition)
        #expect(refused?.details.first?.reason == "CERTIFICATE_NOT_VALID")
        #expect(refused?.message.contains("from 2027-01-01 through 2027-12-31") == true, "the refusal names the office's days: \(refused?.message ?? "")")
        try await intake.finish()
    }

    @Test("R-ORG-1: a New York certificate's days are New York's, whatever the season")
    func newYorkDays() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        let certificate = try await intake.client.call(IntakeRPC.registerCertificate, Self.byDates(office: "new-york", from: "2027-01-01", until: "2027-06-30"))
        #expect(certificate.validFrom.date == Self.time("2027-01-01T05:00:00Z"), "EST")
        #expect(certificate.validUntil.date == Self.time("2027-07-01T04:00:00Z"), "EDT")
        #expect(certificate.validUntilDate == "2027-06-30")
        try await intake.finish()
    }

    @Test("A certificate registered with instants shows the office days they cover")
    func instantsShowDays() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        let certificate = try await intake.client.call(
            IntakeRPC.registerCertificate, IntakeServiceTests.certificate(from: "2025-12-31T15:00:00Z", until: "2026-12-31T15:00:00Z")
        )
        #expect(certificate.validFromDate == "2026-01-01")
        #expect(certificate.validUntilDate == "2026-12-31")
        try await intake.finish()
    }

    @Test("Bad validity dates are INVALID_ARGUMENT naming the date field", arguments: [
        ("both", "valid_from_date"), ("not a date", "valid_from_date"), ("backwards", "valid_until_date"), ("missing", "valid_until_date"),
    ])
    func badDates(case name: String, field: String) async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        var request = Self.byDates(from: "2027-01-01", until: "2027-12-31")
        switch name {
        case "both": request.validFrom = .init(date: Self.time("2027-01-01T00:00:00Z"))
        case "not a date": request.validFromDate = "2027-02-30"
        case "backwards": request.validUntilDate = "2026-12-30"
        default: request.validUntilDate = ""
        }
        let error = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.registerCertificate, request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == field)
        try await intake.finish()
    }

    @Test("The last day is inclusive: a certificate of one day covers that whole day")
    func oneDay() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        let certificate = try await intake.client.call(IntakeRPC.registerCertificate, Self.byDates(from: "2027-03-01", until: "2027-03-01"))
        #expect(certificate.validUntil.date.timeIntervalSince(certificate.validFrom.date) == 86_400)
        try await intake.finish()
    }
}
