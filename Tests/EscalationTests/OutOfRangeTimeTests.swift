import Foundation
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport
@testable import Escalation

/// Issue 21, finding 1: Responsible with `at` near Int64.max overflowed in
/// the roster arithmetic and killed escalation.
@Suite("escalation: out-of-range times (issue 21)")
struct EscalationOutOfRangeTimeTests {
    @Test("Responsible with at out of range is INVALID_ARGUMENT naming at, and escalation keeps serving",
          arguments: [Int64.min, .max, -1_000_000_000_000, 1_000_000_000_000])
    func responsibleAt(seconds: Int64) async throws {
        let service = try await InProcessService.start(EscalationService.definition)
        var request = Support_Escalation_V1_ResponsibleRequest()
        request.incidentID = "I-1"
        request.at.seconds = seconds
        let error = await #expect(throws: RPCError.self) { try await service.client.call(EscalationRPC.responsible, request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == "at")
        #expect(error?.details.first?.reason == "FIELD_OUT_OF_RANGE")
        request.at.seconds = 1_796_371_200
        let unknown = await #expect(throws: RPCError.self) { try await service.client.call(EscalationRPC.responsible, request) }
        #expect(unknown?.code == .notFound, "escalation still answers")
        try await service.finish()
    }

    @Test("The roster's local weekday and minute never trap, whatever the instant")
    func localWeekdayMinute() {
        let tokyo = TimeZone(identifier: "Asia/Tokyo")!
        for seconds in [-9.2e18, -1e12, -1, 0, 1e12, 9.2e18, .infinity, -.infinity] {
            let (_, minute) = RosterRules.localWeekdayMinute(Date(timeIntervalSince1970: seconds), timeZone: tokyo)
            #expect(minute < 1440)
        }
        // 2026-12-04T01:00:00Z is Friday 10:00 in Tokyo.
        let friday = RosterRules.localWeekdayMinute(Date(timeIntervalSince1970: 1_796_346_000), timeZone: tokyo)
        #expect(friday.0 == .friday && friday.1 == 600)
    }
}
