import Foundation
import SupportProto
import Testing

@testable import Notifier

@Suite("The escalation mail shows the running cycle's due time in office time (issue 23, finding 8)")
struct EscalationDueTests {
    /// A customer's escalation to the support lead at local Tokyo time `at`.
    static func escalate(_ harness: NotifierHarness, at: String) throws -> Message {
        var escalated = Support_Events_V1_Escalated()
        escalated.fromLevel = .tam
        escalated.toLevel = .supportLead
        escalated.trigger = .customer
        escalated.requestedBy = "ann@acme.example"
        escalated.reason = "escalated by the customer"
        try harness.send(.escalated(escalated), at: at, producer: "escalation")
        return try #require(try harness.messages("escalated").last { $0.transport != .phone })
    }

    /// A severity 3 opened Monday 11:00, answered with a question at 12:00
    /// (cycle 1 met), the question answered Tuesday 11:00: cycle 2 runs,
    /// due in 6 business hours, Tuesday 17:00 JST (R-SLA-2, R-SLA-7).
    static func secondCycle() throws -> NotifierHarness {
        let harness = try NotifierHarness(severity: 3, openedAt: "2026-12-07T11:00:00")
        try harness.open(at: "2026-12-07T11:00:00")
        (harness.snapshot.state, harness.snapshot.side, harness.snapshot.previousSide) = (.waitingCustomer, .customer, .vendor)
        try harness.send(.infoRequested(.init()), at: "2026-12-07T12:00:00")
        (harness.snapshot.state, harness.snapshot.side, harness.snapshot.previousSide) = (.inProgress, .vendor, .customer)
        try harness.send(.infoProvided(.init()), at: "2026-12-08T11:00:00")
        return harness
    }

    @Test("R-SLA-7: after the customer answers a question, the escalation mail shows the new cycle's due time, not \"no response is pending\"")
    func secondCycleDue() throws {
        let harness = try Self.secondCycle()
        let mail = try Self.escalate(harness, at: "2026-12-08T12:00:00")
        #expect(mail.body.contains("Response due by: 2026-12-08 17:00 JST"))
        #expect(!mail.body.contains("no response is pending"))
    }

    @Test("sla-timer's SLAMet of the first cycle, arriving after intake's events started the second, leaves the second's due")
    func lateMetKeepsLaterCycle() throws {
        let harness = try Self.secondCycle()
        var met = Support_Events_V1_SLAMet()
        met.cycle = harness.cycle(due: "2026-12-07T17:00:00", severity: 3)
        met.metAt = .init(date: jst("2026-12-07T12:00:00"))
        try harness.send(.slaMet(met), at: "2026-12-07T12:00:00", producer: "sla-timer")
        #expect(try Self.escalate(harness, at: "2026-12-08T12:00:00").body.contains("Response due by: 2026-12-08 17:00 JST"))
    }

    @Test("While the incident waits for the customer no response is pending, and the mail says so")
    func nothingPending() throws {
        let harness = try NotifierHarness(severity: 3, openedAt: "2026-12-07T11:00:00")
        try harness.open(at: "2026-12-07T11:00:00")
        (harness.snapshot.state, harness.snapshot.side, harness.snapshot.previousSide) = (.waitingCustomer, .customer, .vendor)
        try harness.send(.infoRequested(.init()), at: "2026-12-07T12:00:00")
        #expect(try Self.escalate(harness, at: "2026-12-07T13:00:00").body.contains("Response due by: no response is pending"))
    }

    @Test("A reopened incident's escalation mail shows the due time of the cycle the reopening started")
    func reopened() throws {
        let harness = try NotifierHarness(severity: 2, channel: .phone, openedAt: "2026-12-07T11:00:00")
        try harness.open(at: "2026-12-07T11:00:00")
        harness.snapshot.state = .resolved
        try harness.send(.resolved(.init()), at: "2026-12-07T12:00:00")
        harness.snapshot.state = .inProgress
        try harness.send(.reopened(.init()), at: "2026-12-09T20:00:00")
        #expect(try Self.escalate(harness, at: "2026-12-09T21:00:00").body.contains("Response due by: 2026-12-10 00:00 JST"))
    }
}
