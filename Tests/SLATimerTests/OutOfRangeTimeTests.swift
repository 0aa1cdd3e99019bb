import Foundation
import ServiceKit
import SLATimer
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Issue 21, finding 1: a Timestamp far outside the calendar's range
/// reached a precondition in OfficeCalendar and killed sla-timer. Every
/// Timestamp is now checked to the years 1970-9999 where the request
/// enters, and the calendar answers nil instead of trapping.
@Suite("sla-timer: out-of-range times (issue 21)")
struct SLAOutOfRangeTimeTests {
    static let hostileSeconds: [Int64] = [.min, .max, -1_000_000_000_000, 1_000_000_000_000]

    /// Each method and the Timestamp field it takes, called with `seconds`.
    static func call(_ method: String, seconds: Int64, on client: RPCClient) async throws {
        switch method {
        case "ComputeDue":
            var request = Support_Sla_V1_ComputeDueRequest()
            request.office = "tokyo"
            request.severity = 3
            request.channel = .portal
            request.tier = .enterprise
            request.start.seconds = seconds
            _ = try await client.call(SLATimerRPC.computeDue, request)
        case "NextOpening":
            var request = Support_Sla_V1_NextOpeningRequest()
            request.office = "tokyo"
            request.after.seconds = seconds
            _ = try await client.call(SLATimerRPC.nextOpening, request)
        case "ListDue":
            var request = Support_Sla_V1_ListDueRequest()
            request.before.seconds = seconds
            _ = try await client.call(SLATimerRPC.listDue, request)
        case "ListBreaches":
            var request = Support_Sla_V1_ListBreachesRequest()
            request.from.seconds = seconds
            _ = try await client.call(SLATimerRPC.listBreaches, request)
        default:
            var request = Support_Sla_V1_IsOpenRequest()
            request.office = "tokyo"
            request.at.seconds = seconds
            _ = try await client.call(SLATimerRPC.isOpen, request)
        }
    }

    static let methods = [("ComputeDue", "start"), ("NextOpening", "after"), ("ListDue", "before"), ("ListBreaches", "from"), ("IsOpen", "at")]

    @Test("Every time-taking method refuses an out-of-range Timestamp with INVALID_ARGUMENT naming the field, and sla-timer keeps serving",
          arguments: methods)
    func refused(method: String, field: String) async throws {
        let service = try await InProcessService.start(SLATimerService.definition, fakeClock: "2026-12-04T01:00:00Z")
        for seconds in Self.hostileSeconds {
            let error = await #expect(throws: RPCError.self, "\(method) \(seconds)") {
                try await Self.call(method, seconds: seconds, on: service.client)
            }
            #expect(error?.code == .invalidArgument, "\(method) \(seconds)")
            #expect(error?.details.first?.field == field, "\(method) \(seconds)")
            #expect(error?.details.first?.reason == "FIELD_OUT_OF_RANGE")
        }
        // The edges of the range are answered.
        try await Self.call(method, seconds: 0, on: service.client)
        try await Self.call(method, seconds: 253_402_300_799 - 400 * 86_400, on: service.client)
        try await service.finish()
    }

    @Test("ComputeDue for a start whose due time would fall after 9999 is INVALID_ARGUMENT naming start")
    func dueBeyondRange() async throws {
        let service = try await InProcessService.start(SLATimerService.definition, fakeClock: "2026-12-04T01:00:00Z")
        let error = await #expect(throws: RPCError.self) {
            try await Self.call("ComputeDue", seconds: 253_402_300_799, on: service.client)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == "start")
        try await service.finish()
    }
}
