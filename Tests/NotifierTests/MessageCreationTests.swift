import Foundation
import ServiceKit
import SupportRPC
import SupportProto
import Testing

@testable import Notifier

@Suite("Who is told what")
struct MessageCreationTests {
    @Test("a breach that arrives before intake's events about its incident is early, not bad: UNAVAILABLE, so it is delivered again, never parked")
    func earlyEventIsRetried() throws {
        let harness = try NotifierHarness()
        var breached = Support_Events_V1_SLABreached()
        breached.cycle = harness.cycle(due: "2026-12-05T03:30:00")
        let error = try #require(throws: ServiceError.self) {
            try harness.send(.slaBreached(breached), at: "2026-12-05T03:31:00", producer: "sla-timer")
        }
        #expect(error.code == .unavailable)
        #expect(error.reason == "INCIDENT_NOT_YET_KNOWN")
    }

    @Test("R-SLA-3: severity 1 by portal on Saturday 03:00 JST is acknowledged with Monday's due time and told to call")
    func acknowledgementAdvisesPhone() throws {
        let harness = try NotifierHarness(phoneAdvised: true)
        try harness.open()
        let ack = try #require(try harness.messages("incident-opened").first)
        #expect(ack.recipients.map(\.email) == ["ann@acme.example"])
        #expect(ack.recipients.first?.role == .reportingContact)
        #expect(ack.state == .pending)
        #expect(ack.body.contains("INC-000001"))
        #expect(ack.body.contains("Severity: 1"))
        #expect(ack.body.contains("Response due by: 2026-12-07 10:30 JST"), "the clock starts at Monday's opening")
        #expect(ack.body.contains("Please call our priority line now on +81-3-0000-0000"))
    }

    @Test("R-SLA-3: severity 1 by phone at night is due in 30 minutes and not told to call")
    func phoneAcknowledgement() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        let ack = try #require(try harness.messages("incident-opened").first)
        #expect(ack.body.contains("2026-12-05 03:30 JST"))
        #expect(!ack.body.contains("priority line"))
    }

    @Test("A redelivered event creates no second message")
    func idempotent() throws {
        let harness = try NotifierHarness()
        try harness.send(.incidentOpened(.init()), at: "2026-12-05T03:00:00", id: "same")
        let first = try harness.messages().count
        harness.sequence = 0
        try harness.send(.incidentOpened(.init()), at: "2026-12-05T03:00:00", id: "same")
        #expect(first == 3, "the acknowledgement, the duty manager's alert mail and call (issue 23)")
        #expect(try harness.messages().count == first)
    }

    @Test("R-ORG-4: an SLA warning in business hours goes to the TAM", arguments: [
        ("2026-12-07T11:00:00", "tam.sato@vendor.example", false),
        ("2026-12-05T03:20:00", "duty.ito@vendor.example", true),
        ("2026-12-07T20:00:00", "duty.kato@vendor.example", true),
    ])
    func warningRecipient(at: String, email: String, dutyManager: Bool) throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        var warning = Support_Events_V1_SLAWarning()
        warning.cycle = harness.cycle(due: "2026-12-05T03:30:00")
        warning.remaining = .init(seconds: 600)
        try harness.send(.slaWarning(warning), at: at, producer: "sla-timer")
        let message = try #require(try harness.messages("sla-warning").first)
        #expect(message.recipients.map(\.email) == [email])
        #expect(message.body.contains("2026-12-05 03:30 JST"))
        #expect(message.body.contains("duty manager on shift") == dutyManager)
    }

    @Test("R-ORG-4: a breach on Saturday night alerts the duty manager instead of the TAM, by mail and phone; a breach at level 2 also the support lead")
    func breachRecipients() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        var breach = Support_Events_V1_SLABreached()
        breach.cycle = harness.cycle(due: "2026-12-05T03:30:00")
        try harness.send(.slaBreached(breach), at: "2026-12-05T03:30:00", producer: "sla-timer")
        let mails = try harness.messages("sla-breached").filter { $0.transport == .maildir }
        #expect(mails.map { $0.recipients[0].email } == ["duty.ito@vendor.example"])
        #expect(mails[0].body.contains("as the duty manager on shift"))
        #expect(try harness.messages("sla-breached").filter { $0.transport == .phone }.count == 1, "sla-breached is a phone template in notifier.json")

        // Once escalation has moved it to level 2, a later breach also alerts the support lead.
        var escalated = Support_Events_V1_Escalated()
        escalated.fromLevel = .tam
        escalated.toLevel = .supportLead
        try harness.send(.escalated(escalated), at: "2026-12-05T03:31:00", producer: "escalation")
        var second = Support_Events_V1_SLABreached()
        second.cycle = harness.cycle(due: "2026-12-05T04:30:00")
        try harness.send(.slaBreached(second), at: "2026-12-05T04:30:00", producer: "sla-timer")
        let all = try harness.messages("sla-breached").filter { $0.transport == .maildir }
        #expect(all.suffix(2).map { $0.recipients[0].email } == ["lead.tanaka@vendor.example", "duty.ito@vendor.example"])
    }

    @Test("R-SLA-1: a withdrawn breach tells the people the breach alerted, by mail only; an ordinary SLAMet tells nobody")
    func breachWithdrawn() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        try harness.breachWithdrawn(due: "2026-12-05T03:30:00", breachedAt: "2026-12-05T03:31:00", answeredAt: "2026-12-05T03:29:00")
        let withdrawn = try harness.messages("sla-breach-withdrawn")
        #expect(withdrawn.map { $0.recipients[0].email } == (try harness.messages("sla-breached").filter { $0.transport == .maildir }.map { $0.recipients[0].email }))
        #expect(withdrawn.map(\.transport) == [.maildir])
        let mail = try #require(withdrawn.first)
        #expect(mail.subject.contains("SLA breach withdrawn"))
        #expect(mail.body.contains("recorded at 2026-12-05 03:29 JST, before it was due at 2026-12-05 03:30 JST"))

        var inTime = Support_Events_V1_SLAMet()
        inTime.cycle = harness.cycle(due: "2026-12-05T05:30:00")
        inTime.metAt = .init(date: jst("2026-12-05T05:00:00"))
        try harness.send(.slaMet(inTime), at: "2026-12-05T05:00:00", producer: "sla-timer")
        #expect(try harness.messages("sla-breach-withdrawn").count == 1)
    }

    @Test("R-ORG-4: Escalated uses escalation's responsible and TAM contact")
    func escalatedUsesRoster() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        var escalated = Support_Events_V1_Escalated()
        escalated.fromLevel = .tam
        escalated.toLevel = .businessAccountManager
        escalated.reason = "customer asked"
        escalated.responsible = .with { $0.name = "Boss"; $0.email = "boss@vendor.example" }
        escalated.tamContact = .with { $0.name = "Duty"; $0.email = "duty@vendor.example" }
        escalated.dutyManagerReplacedTam = true
        try harness.send(.escalated(escalated), at: "2026-12-05T04:00:00", producer: "escalation")
        let messages = try harness.messages("escalated")
        #expect(messages.map { $0.recipients[0].email } == ["boss@vendor.example", "duty@vendor.example"])
        #expect(messages[0].subject.contains("level 3 (business account manager)"))
        #expect(messages[1].recipients[0].role == .dutyManager)
    }

    @Test("R-SLA-6: the contact is warned before the customer timeout; Closed itself mails nothing (its closure article does)")
    func customerTimeout() throws {
        let harness = try NotifierHarness(severity: 3)
        try harness.open(at: "2026-12-07T11:00:00")
        var warning = Support_Events_V1_CustomerTimeoutWarning()
        warning.waitingSince = .init(date: jst("2026-12-07T12:00:00"))
        warning.closesAt = .init(date: jst("2027-01-07T12:00:00"))
        try harness.send(.customerTimeoutWarning(warning), at: "2026-12-31T12:00:00", producer: "sla-timer")
        harness.snapshot.state = .closed
        var closed = Support_Events_V1_Closed()
        closed.reason.kind = .customerTimeout
        try harness.send(.closed(closed), at: "2027-01-07T12:00:00")
        let warned = try #require(try harness.messages("customer-timeout-warning").first)
        #expect(warned.recipients[0].email == "ann@acme.example")
        #expect(warned.body.contains("2027-01-07 12:00 JST"))
        #expect(try harness.messages().map(\.templateName) == ["incident-opened", "customer-timeout-warning"])
    }

    @Test("Messages of one incident share a thread rooted at the acknowledgement and have distinct stable Message-IDs")
    func threading() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        var warning = Support_Events_V1_SLAWarning()
        warning.cycle = harness.cycle(due: "2026-12-05T03:30:00")
        try harness.send(.slaWarning(warning), at: "2026-12-05T03:20:00", producer: "sla-timer")
        let messages = try harness.messages()
        #expect(messages.map(\.templateName) == ["incident-opened", "incident-alert", "incident-alert", "sla-warning"])
        #expect(messages.map(\.inReplyTo) == [""] + Array(repeating: messages[0].messageIDHeader, count: 3))
        #expect(Set(messages.map(\.messageIDHeader)).count == 4)
    }
}
