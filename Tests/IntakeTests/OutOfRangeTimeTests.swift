import Foundation
import Intake
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Issue 21, finding 1: a Timestamp no calendar handles crashed intake.
/// Every Timestamp is checked to the years 1970-9999 where the request
/// enters (RequestLimits), before any handler sees it.
@Suite("intake: out-of-range times (issue 21)")
struct IntakeOutOfRangeTimeTests {
    static let hostileSeconds: [Int64] = [.min, .max, -1_000_000_000_000, 1_000_000_000_000]

    @Test("RegisterCertificate with valid_until out of range is INVALID_ARGUMENT naming valid_until, and intake keeps serving", arguments: hostileSeconds)
    func validUntil(seconds: Int64) async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        var request = IntakeServiceTests.certificate()
        request.validUntil.seconds = seconds
        let error = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.registerCertificate, request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == "valid_until")
        #expect(error?.details.first?.reason == "FIELD_OUT_OF_RANGE")
        #expect(error?.message.contains("1970-01-01T00:00:00Z") == true)
        let registered = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate())
        #expect(registered.revision == 1, "intake still serves after the refusal")
        try await intake.finish()
    }
}
