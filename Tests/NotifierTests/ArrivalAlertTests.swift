import Foundation
import SupportProto
import Testing

@testable import Notifier

@Suite("R-ORG-4, R-SLA-3: severity 1 and 2 alert the responsible person on arrival (issue 23)")
struct ArrivalAlertTests {
    /// Mails and call messages of the alert.
    static func alerts(_ harness: NotifierHarness) throws -> (mail: [Message], phone: [Message]) {
        let all = try harness.messages(NotifierEngine.alertTemplate)
        return (all.filter { $0.transport != .phone }, all.filter { $0.transport == .phone })
    }

    @Test("A new severity 1 or 2 alerts the TAM in the TAM's hours and the duty manager on shift out of them", arguments: [
        (Int32(1), "2026-12-07T11:00:00", "tam.sato@vendor.example", false),
        (Int32(1), "2026-12-05T03:00:00", "duty.ito@vendor.example", true),
        (Int32(2), "2026-12-07T11:00:00", "tam.sato@vendor.example", false),
        (Int32(2), "2026-12-07T20:00:00", "duty.kato@vendor.example", true),
    ])
    func alertOnOpen(severity: Int32, at: String, email: String, dutyManager: Bool) throws {
        let harness = try NotifierHarness(severity: severity, channel: .phone, openedAt: at)
        try harness.open(at: at)
        let (mail, _) = try Self.alerts(harness)
        let alert = try #require(mail.first)
        #expect(mail.count == 1)
        #expect(alert.recipients.map(\.email) == [email])
        #expect(alert.state == .pending)
        #expect(alert.subject.contains("SEVERITY \(severity) NEW"))
        #expect(alert.body.contains("by priority phone line"))
        #expect(alert.body.contains("duty manager on shift") == dutyManager)
    }

    @Test("Severity 1 is also a call task for the person alerted; severity 2 is mail only", arguments: [(Int32(1), 1), (Int32(2), 0)])
    func phoneForSeverityOne(severity: Int32, calls: Int) throws {
        let harness = try NotifierHarness(severity: severity, channel: .phone)
        try harness.open()
        let (mail, phone) = try Self.alerts(harness)
        #expect(mail.count == 1)
        #expect(phone.count == calls)
        #expect(phone.allSatisfy { $0.recipients.map(\.email) == ["duty.ito@vendor.example"] && $0.recipients.first?.phone == "+81-3-0000-0201" })
    }

    @Test("Severities 3 and 4 raise no alert on arrival", arguments: [Int32(3), 4])
    func noAlertForThreeAndFour(severity: Int32) throws {
        let harness = try NotifierHarness(severity: severity, openedAt: "2026-12-07T11:00:00")
        try harness.open(at: "2026-12-07T11:00:00")
        #expect(try harness.messages(NotifierEngine.alertTemplate).isEmpty)
    }

    @Test("R-SLA-3: a severity 1 by portal out of hours tells the duty manager that the customer was asked to call the priority line")
    func phoneAdvised() throws {
        let harness = try NotifierHarness(phoneAdvised: true)
        try harness.open()
        let alert = try #require(try Self.alerts(harness).mail.first)
        #expect(alert.recipients.map(\.email) == ["duty.ito@vendor.example"])
        #expect(alert.body.contains("by portal"))
        #expect(alert.body.contains("asked to\ncall the priority line (+81-3-0000-0000) (R-SLA-3)"))
        #expect(alert.body.contains("Response due by: 2026-12-07 10:30 JST"), "the clock waits for Monday's opening")
        #expect(try Self.alerts(harness).phone.count == 1)
    }

    @Test("A severity 1 by phone does not speak of a call the customer should make")
    func notPhoneAdvised() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.open()
        let alert = try #require(try Self.alerts(harness).mail.first)
        #expect(!alert.body.contains("priority line"))
        #expect(alert.body.contains("Response due by: 2026-12-05 03:30 JST"))
    }

    @Test("A raise to severity 1 or 2 alerts at once; a lowering or a change among 3 and 4 does not", arguments: [
        (Int32(3), Int32(1), 1, 1), (Int32(4), Int32(2), 1, 0), (Int32(2), Int32(1), 1, 1),
        (Int32(1), Int32(2), 0, 0), (Int32(4), Int32(3), 0, 0), (Int32(2), Int32(3), 0, 0),
    ])
    func alertOnRaise(from: Int32, to: Int32, mails: Int, calls: Int) throws {
        let harness = try NotifierHarness(severity: from, openedAt: "2026-12-07T11:00:00")
        try harness.open(at: "2026-12-07T11:00:00")
        let before = try harness.messages(NotifierEngine.alertTemplate).count
        harness.snapshot.severity = to
        var change = Support_Events_V1_SeverityChanged()
        change.fromSeverity = from
        change.toSeverity = to
        try harness.send(.severityChanged(change), at: "2026-12-07T11:10:00")
        let raised = try harness.messages(NotifierEngine.alertTemplate).dropFirst(before)
        #expect(raised.filter { $0.transport != .phone }.count == mails)
        #expect(raised.filter { $0.transport == .phone }.count == calls)
        if let mail = raised.first(where: { $0.transport != .phone }) {
            #expect(mail.recipients.map(\.email) == ["tam.sato@vendor.example"])
            #expect(mail.body.contains("raised from severity \(from) to severity \(to) at 2026-12-07 11:10 JST"))
            // R-SLA-7: the running cycle is re-targeted from its start (11:00).
            let due = to == 1 ? "2026-12-07 11:30 JST" : "2026-12-07 15:00 JST"
            #expect(mail.body.contains("Response due by: \(due)"))
        }
    }

    @Test("A redelivered opening alerts no one twice")
    func idempotent() throws {
        let harness = try NotifierHarness(channel: .phone)
        try harness.send(.incidentOpened(.init()), at: "2026-12-05T03:00:00", id: "same")
        try harness.send(.incidentOpened(.init()), at: "2026-12-05T03:00:00", id: "same")
        #expect(try harness.messages(NotifierEngine.alertTemplate).count == 2, "one mail and one call")
    }
}
