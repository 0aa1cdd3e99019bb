import ServiceKit
import Foundation
import SupportProto
import SupportRPC
import Testing

@testable import Notifier

@Suite("R-REP-2: the severity-1 status report, once a day")
struct StatusReportTests {
    @Test("R-REP-2: a second report the same Tokyo day is suppressed with the reason; after midnight JST one is queued again")
    func oncePerTokyoDay() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        #expect(try harness.statusReport(at: "2026-12-05T09:00:00").outcome == .queued)
        // 23:55 JST is still Saturday in Tokyo (14:55 UTC).
        let second = try harness.statusReport(at: "2026-12-05T23:55:00")
        #expect(second.outcome == .suppressed)
        #expect(second.messages.first?.state == .suppressed)
        #expect(second.messages.first?.suppressedReason.contains("2026-12-05 (Asia/Tokyo)") == true)
        // 00:05 JST Sunday is 15:05 UTC Saturday: a new Tokyo day.
        #expect(try harness.statusReport(at: "2026-12-06T00:05:00").outcome == .queued)
        #expect(try harness.messages("status-report").filter { $0.state == .pending }.count == 2)
    }

    @Test("R-REP-2: with defer, the second report waits for the next Tokyo midnight")
    func deferred() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        _ = try harness.statusReport(at: "2026-12-05T09:00:00")
        let later = try harness.statusReport(at: "2026-12-05T10:00:00", defer: true)
        #expect(later.outcome == .deferred)
        #expect(later.messages.first?.notBefore.date == jst("2026-12-06T00:00:00"))
        #expect(try harness.statusReport(at: "2026-12-06T08:00:00").outcome == .suppressed, "the deferred one is Sunday's report")
    }

    @Test("R-REP-2: severities 2-4 are refused: they go in the periodic report", arguments: [Int32(2), 3, 4])
    func notIndividuallyReported(severity: Int32) throws {
        let harness = try NotifierHarness(severity: severity)
        try harness.open(at: "2026-12-07T11:00:00")
        let error = try #require(throws: ServiceError.self) { try harness.statusReport(at: "2026-12-07T12:00:00") }
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("quarterly report"))
        #expect(error.reason == "NOT_INDIVIDUALLY_REPORTED")
    }
}
