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

    @Test("R-REP-2: a report carries the TAM's text and the next action; without one it states the step the incident's state implies")
    func textAndNextAction() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        let given = try #require(try harness.statusReport(at: "2026-12-05T09:00:00", text: "The crash is in the scanner's unpacker.", nextAction: "We send a patched build by 15:00.").messages.first)
        #expect(given.body.contains("The crash is in the scanner's unpacker."))
        #expect(given.body.contains("Next step: We send a patched build by 15:00."))
        #expect(given.statusReport.text == "The crash is in the scanner's unpacker.")

        let other = try NotifierHarness(channel: .phone)
        try other.open()
        let implied = try #require(try other.statusReport(at: "2026-12-05T03:10:00").messages.first)
        #expect(implied.body.contains("Next step: we continue working on it and answer you by 2026-12-05 03:30 JST."))
    }

    @Test("R-REP-2: no report promises another that nothing schedules; one queued for a later day is named")
    func promiseOnlyWhatIsScheduled() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        let first = try #require(try harness.statusReport(at: "2026-12-05T09:00:00").messages.first)
        #expect(!first.body.contains("tomorrow"))
        #expect(!first.body.contains("next status report is scheduled"))
        #expect(first.body.contains("at most one status report a day"))
        _ = try harness.statusReport(at: "2026-12-05T10:00:00", defer: true)
        // Rendered again when it is sent, the first now names Sunday's.
        try harness.renderDue(at: "2026-12-05T10:01:00")
        let resent = try #require(try harness.messages("status-report").first)
        #expect(resent.body.contains("The next status report is scheduled for 2026-12-06."))
    }

    @Test("R-REP-2: a deferred report shows the incident as it is on its day, not as it was when it was queued")
    func deferredShowsStateAtSendTime() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        _ = try harness.statusReport(at: "2026-12-05T09:00:00")
        let queued = try #require(try harness.statusReport(at: "2026-12-05T10:00:00", defer: true).messages.first)
        #expect(queued.body.contains("State:    received"))
        (harness.snapshot.state, harness.snapshot.side, harness.snapshot.previousSide) = (.waitingCustomer, .customer, .vendor)
        try harness.send(.infoRequested(.init()), at: "2026-12-05T20:00:00")
        try harness.renderDue(at: "2026-12-05T23:59:00")
        #expect(try harness.messages("status-report").last?.body == queued.body, "not rendered before its day")
        try harness.renderDue(at: "2026-12-06T00:00:00")
        let sent = try #require(try harness.messages("status-report").last)
        #expect(sent.state == .pending)
        #expect(sent.body.contains("State:    waiting for your answer"))
        #expect(sent.body.contains("Next step: we are waiting for your answer to our last question"))
        #expect(!sent.body.contains("Response due by"))
    }

    @Test("R-REP-2: a deferred report whose incident is resolved before its day is suppressed then, with the reason")
    func deferredForResolvedIsSuppressed() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        _ = try harness.statusReport(at: "2026-12-05T09:00:00")
        _ = try harness.statusReport(at: "2026-12-05T10:00:00", defer: true)
        harness.snapshot.state = .resolved
        try harness.send(.resolved(.init()), at: "2026-12-05T20:00:00")
        try harness.renderDue(at: "2026-12-06T00:00:00")
        let deferred = try #require(try harness.messages("status-report").last)
        #expect(deferred.state == .suppressed)
        #expect(deferred.suppressedReason.contains("not sent on its day: INC-000001 is resolved"))
    }
}
