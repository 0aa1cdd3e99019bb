import Foundation
import ServiceKit
import SupportProto
import Testing

@testable import Notifier

/// Every staff recipient comes from escalation's roster, as RosterChanged
/// events bring it (issue 23, R-ORG-4).
@Suite("Staff from escalation's roster")
struct RosterRecipientTests {
    static func tokyo() throws -> Support_Escalation_V1_Roster {
        try #require(try NotifierHarness.shippedRosters().first { $0.office == "tokyo" })
    }

    static func person(_ id: String) -> Support_Common_V1_Person {
        .with { $0.id = id; $0.name = id; $0.email = "\(id)@vendor.example" }
    }

    static func breach(_ harness: NotifierHarness, due: String) throws {
        var breach = Support_Events_V1_SLABreached()
        breach.cycle = harness.cycle(due: due)
        try harness.send(.slaBreached(breach), at: due, producer: "sla-timer")
    }

    @Test("R-ORG-4: after a RosterChanged puts another duty manager on Saturday, the next breach alert goes to them; a late older version changes nothing")
    func rosterChangeReachesNextAlert() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        try Self.breach(harness, due: "2026-12-05T03:30:00")
        var roster = try Self.tokyo()
        roster.version = 2
        roster.dutyManagers = [.with { $0.person = Self.person("duty.mori"); $0.shifts = [.with { $0.weekday = .saturday; $0.startMinute = 0; $0.endMinute = 1440 }] }]
        try harness.applyRoster(roster, id: "roster-v2")
        try Self.breach(harness, due: "2026-12-05T04:30:00")
        // Version 1 delivered late (a redelivery): v2 stays.
        try harness.applyRoster(try Self.tokyo(), id: "roster-v1-late")
        try Self.breach(harness, due: "2026-12-05T05:30:00")
        let mails = try harness.messages("sla-breached").filter { $0.transport == .maildir }.map { $0.recipients[0].email }
        #expect(mails == ["duty.ito@vendor.example", "duty.mori@vendor.example", "duty.mori@vendor.example"])
    }

    @Test("R-ORG-4: the certificate's TAM is found among its office's TAMs in business hours")
    func secondTAM() throws {
        let harness = try NotifierHarness(severity: 3, openedAt: "2026-12-07T11:00:00")
        harness.snapshot.tam = "tam.kobayashi"
        try harness.open(at: "2026-12-07T11:00:00")
        try Self.breach(harness, due: "2026-12-07T12:00:00")
        #expect(try harness.messages("sla-breached").filter { $0.transport == .maildir }.map { $0.recipients[0].email } == ["tam.kobayashi@vendor.example"])
    }

    @Test("issue 23: an escalation escalation could not staff mails the fallback duty address the reason, once")
    func unstaffedEscalationAlertsFallbackDuty() throws {
        let harness = try NotifierHarness(channel: .phone)
        harness.snapshot.office = "new-york"
        harness.snapshot.tam = "tam.smith"
        try harness.open()
        var escalated = Support_Events_V1_Escalated()
        escalated.fromLevel = .tam
        escalated.toLevel = .supportLead
        escalated.office = "new-york"
        escalated.reason = "SLA breached"
        escalated.unstaffedReason = "office new-york has no roster and there is no fallback roster"
        try harness.send(.escalated(escalated), at: "2026-12-05T04:00:00", producer: "escalation")
        let messages = try harness.messages("escalated")
        let alert = try #require(messages.first { $0.recipients[0].email == "duty.desk@vendor.example" })
        #expect(alert.body.contains("NOT FULLY STAFFED: office new-york has no roster"))
        #expect(messages.filter { $0.recipients[0].email == "duty.desk@vendor.example" }.count == 1)
        // The fallback roster's support lead is told as the level's owner.
        #expect(messages.contains { $0.recipients[0].email == "jones@vendor.example" })
    }

    @Test("issue 23: with no roster at all for the office, a breach alert goes to the fallback duty address rather than to nobody")
    func noRosterAlertsFallbackDuty() throws {
        let harness = try NotifierHarness(channel: .phone)
        // Only a fallback that names nobody but its duty address.
        var fallback = Support_Escalation_V1_Roster()
        fallback.office = "*"
        fallback.version = 2
        fallback.fallbackDuty = Self.person("duty.desk")
        try harness.applyRoster(fallback, id: "fallback-v2")
        harness.snapshot.office = "new-york"
        harness.snapshot.tam = "tam.smith"
        try harness.open()
        try Self.breach(harness, due: "2026-12-05T03:30:00")
        #expect(try harness.messages("sla-breached").filter { $0.transport == .maildir }.map { $0.recipients[0].email } == ["duty.desk@vendor.example"])
    }
}
