import Foundation
import SupportProto
import Testing

@testable import Notifier

@Suite("R-REP-1: the quarterly TAM report")
struct QuarterlyReportTests {
    /// Certificate C-1 (Acme, Tokyo) with the contact Ann, and its incident opened.
    static func harness() throws -> NotifierHarness {
        let harness = try NotifierHarness(channel: .phone)
        var certificate = Support_Events_V1_CertificateChanged()
        certificate.certificateID = "C-1"
        certificate.customer = "Acme"
        certificate.office = "tokyo"
        certificate.tam = "tam.sato"
        certificate.revision = 1
        certificate.contacts = [.with { $0.name = "Ann"; $0.email = "ann@acme.example" }]
        try harness.send(.certificateChanged(certificate), at: "2026-10-01T09:00:00")
        try harness.open()
        return harness
    }

    @Test("A quarter whose end LocalDate cannot hold (9999Q4) is no period, not a trap (issue 21)")
    func lastQuarter() {
        let utc = TimeZone(identifier: "UTC")!
        #expect(QuarterlyReport.period("9999Q4", zone: utc) == nil)
        #expect(QuarterlyReport.period("9999Q3", zone: utc) != nil)
        #expect(QuarterlyReport.period("1969Q4", zone: utc) == nil)
    }

    @Test("R-REP-1: every incident of the quarter with its severity history, met and breached cycles, escalations and open items")
    func report() throws {
        let harness = try Self.harness()
        var breach = Support_Events_V1_SLABreached()
        breach.cycle = harness.cycle(due: "2026-12-05T03:30:00")
        try harness.send(.slaBreached(breach), at: "2026-12-05T03:30:00", producer: "sla-timer")
        harness.snapshot.severity = 2
        var change = Support_Events_V1_SeverityChanged()
        change.fromSeverity = 1
        change.toSeverity = 2
        try harness.send(.severityChanged(change), at: "2026-12-05T05:00:00")
        var met = Support_Events_V1_SLAMet()
        met.cycle = harness.cycle(due: "2026-12-05T09:00:00", severity: 2)
        try harness.send(.slaMet(met), at: "2026-12-05T06:00:00", producer: "sla-timer")

        let report = try harness.database.writer.write { db in
            try harness.engine.generateReport(certificate: "C-1", quarter: "2026Q4", send: true, now: jst("2026-12-10T12:00:00"), in: db)
        }
        #expect(report.incidentCount == 1)
        #expect(report.cyclesMet == 1)
        #expect(report.cyclesBreached == 1)
        #expect(report.openIncidentCount == 1)
        #expect(report.markdown.contains("| INC-000001 | mail gateway down | 1 (opened 2026-12-05 03:00 JST) → 2 (2026-12-05 05:00 JST) | 1 | 1 | 0 | new |"))
        #expect(report.markdown.contains("## Open items\n\n- INC-000001 (severity 2, new)"))
        let sent = try harness.messages("quarterly-report")
        #expect(Set(sent.map { $0.recipients[0].email }) == ["ann@acme.example", "tam.sato@vendor.example"])
        #expect(report.messageIds == sent.map(\.id))

        let early = try harness.database.writer.write { db in
            Result { try harness.engine.generateReport(certificate: "C-1", quarter: "2027Q1", send: false, now: jst("2026-12-10T12:00:00"), in: db) }
        }
        #expect(throws: (any Error).self) { try early.get() }
    }

    @Test("R-REP-1, R-COM-3: a Japanese contact reads the report in Japanese; the TAM in English; no rule id in either")
    func languages() throws {
        let harness = try NotifierHarness(channel: .phone)
        var certificate = Support_Events_V1_CertificateChanged()
        certificate.certificateID = "C-1"
        certificate.customer = "Acme"
        certificate.office = "tokyo"
        certificate.tam = "tam.sato"
        certificate.revision = 1
        certificate.contacts = [.with { $0.name = "千佳"; $0.email = "chika@acme.example"; $0.language = "ja" }]
        try harness.send(.certificateChanged(certificate), at: "2026-10-01T09:00:00")
        try harness.open()
        let report = try harness.database.writer.write { db in
            try harness.engine.generateReport(certificate: "C-1", quarter: "2026Q4", send: true, now: jst("2026-12-10T12:00:00"), in: db)
        }
        let sent = try harness.messages("quarterly-report")
        let chika = try #require(sent.first { $0.recipients[0].email == "chika@acme.example" })
        #expect(chika.subject == "[C-1] 四半期サポートレポート 2026Q4（Acme 様）")
        #expect(chika.body.contains("# 四半期サポートレポート 2026Q4（Acme 様）"))
        #expect(chika.body.contains("| INC-000001 | mail gateway down | 1 (受付 2026-12-05 03:00 JST) | 0 | 0 | 0 | 受付済み |"))
        #expect(chika.body.contains("- INC-000001 (重要度 1、受付済み): mail gateway down"))
        let tam = try #require(sent.first { $0.recipients[0].email == "tam.sato@vendor.example" })
        #expect(tam.body.contains("# Quarterly support report 2026Q4: Acme"))
        #expect(report.markdown.contains("period 2026-10-01 00:00 JST to 2027-01-01 00:00 JST."))
        for mail in sent { #expect(mail.body.firstMatch(of: /R-[A-Z]+-\d/) == nil) }
    }

    @Test("R-REP-1, R-SLA-1: a breach sla-timer withdrew counts as met, not as breached")
    func withdrawnBreach() throws {
        let harness = try Self.harness()
        try harness.breachWithdrawn(due: "2026-12-05T03:30:00", breachedAt: "2026-12-05T03:31:00", answeredAt: "2026-12-05T03:29:00")
        let report = try harness.database.writer.write { db in
            try harness.engine.generateReport(certificate: "C-1", quarter: "2026Q4", send: false, now: jst("2026-12-10T12:00:00"), in: db)
        }
        #expect(report.cyclesMet == 1)
        #expect(report.cyclesBreached == 0)
    }

    @Test("R-REP-1: every three months from the certificate's start the report of the quarter just ended is sent, once")
    func automatic() throws {
        let harness = try NotifierHarness(channel: .phone)
        var certificate = Support_Events_V1_CertificateChanged()
        certificate.certificateID = "C-1"
        certificate.customer = "Acme"
        certificate.office = "tokyo"
        certificate.tam = "tam.sato"
        certificate.validFrom = .init(date: jst("2026-07-01T00:00:00"))
        certificate.validUntil = .init(date: jst("2027-07-01T00:00:00"))
        certificate.contacts = [.with { $0.name = "Ann"; $0.email = "ann@acme.example" }]
        try harness.send(.certificateChanged(certificate), at: "2026-07-01T09:00:00")
        func run(_ at: String) throws -> [String] {
            try harness.database.writer.write { db in try harness.engine.generateScheduledReports(now: jst(at), in: db) }.map(\.quarter)
        }
        #expect(try run("2026-09-30T23:59:00").isEmpty, "the first period has not ended")
        #expect(try run("2026-10-01T00:00:00") == ["2026Q3"])
        #expect(try run("2026-10-02T00:00:00").isEmpty, "sent once")
        // Six months at once (a fake clock, or a service down over a quarter's end): each report once.
        #expect(try run("2027-04-02T00:00:00") == ["2026Q4", "2027Q1"])
        #expect(try run("2027-12-01T00:00:00") == ["2027Q2"], "the last period ends with the certificate")
        #expect(Set(try harness.messages("quarterly-report").map { $0.recipients[0].email }) == ["ann@acme.example", "tam.sato@vendor.example"])
    }
}
