import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Issue 23 on the four real processes: validity in Tokyo's days (finding
/// 5, R-ORG-1) and a health check agreed, moved, cancelled and reported to
/// the contacts (finding 10, R-HC-1, R-HC-2).
@Suite("Office days and health check scenarios", .serialized)
struct OfficeDaysScenarioTests {
    @Test("R-ORG-1: supportctl's 2027-01-01..2027-12-31 for Tokyo accepts incidents at 00:30 JST on the first day and 23:30 JST on the last, and refuses at midnight after")
    func tokyoValidity() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await cluster.startAll()
        let register = try await cluster.supportctl(
            "certificate", "register", "--id", "C-T", "--customer", "Acme", "--office", "tokyo", "--tier", "enterprise",
            "--valid-from", "2027-01-01", "--valid-until", "2027-12-31", "--tam", "tam.sato"
        )
        #expect(register.status == 0, "\(register.stderr)")
        #expect(register.stdout.contains("valid 2027-01-01 through 2027-12-31 (tokyo days)"), "\(register.stdout)")
        _ = try await cluster.supportctl("contact", "add", "--certificate", "C-T", "--name", "Ann", "--email", "ann@acme.example")
        func open() async throws -> ServiceCluster.CommandResult {
            try await cluster.supportctl(
                "incident", "open", "--certificate", "C-T", "--contact", "ann@acme.example", "--channel", "portal",
                "--kind", "product", "--severity", "3", "--title", "scanner crashes"
            )
        }
        for accepted in ["2027-01-01T00:30:00+09:00", "2027-12-31T23:30:00+09:00"] {
            #expect(try await cluster.supportctl("clock", "set", accepted).status == 0)
            let opened = try await open()
            #expect(opened.status == 0, "refused at \(accepted): \(opened.stderr)")
        }
        #expect(try await cluster.supportctl("clock", "set", "2028-01-01T00:00:00+09:00").status == 0)
        let refused = try await open()
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("FAILED_PRECONDITION") && refused.stderr.contains("through 2027-12-31"), "\(refused.stderr)")
        await cluster.shutdown()
    }

    @Test("R-HC-1, R-HC-2: a stranger cannot agree a health check; booked with Ann, moved, cancelled, booked again, held, and the TAM's findings reach Ann's Maildir in Japanese")
    func healthCheck() async throws {
        // Friday 2026-12-04 10:00 JST; C-1 (Tokyo) with Ann.
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        func run(_ arguments: String...) async throws -> ServiceCluster.CommandResult {
            let result = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/supportctl", arguments + ["--runtime-dir", cluster.runtime.path])
            return result
        }
        let stranger = try await run("healthcheck", "book", "--certificate", "C-1", "--date", "2026-12-21", "--agreed-with", "stranger@acme.example", "--actor", "tam.sato")
        #expect(stranger.status != 0)
        #expect(stranger.stderr.contains("PERMISSION_DENIED") && stranger.stderr.contains("stranger@acme.example"), "\(stranger.stderr)")

        for step in [
            ["healthcheck", "book", "--certificate", "C-1", "--date", "2026-12-21", "--agreed-with", "ann@acme.example", "--actor", "tam.sato"],
            ["healthcheck", "reschedule", "HC-C-1-1", "--date", "2026-12-22", "--agreed-with", "ann@acme.example", "--actor", "tam.sato"],
            ["healthcheck", "cancel", "HC-C-1-1", "--agreed-with", "ann@acme.example", "--reason", "change freeze", "--actor", "tam.sato"],
            ["healthcheck", "book", "--certificate", "C-1", "--date", "2026-12-24", "--agreed-with", "ann@acme.example", "--actor", "tam.sato"],
            ["clock", "set", "2026-12-24T17:00:00+09:00"],
            ["healthcheck", "findings", "HC-C-1-1", "--text", "3 台のファイルサーバーでリアルタイムスキャンが無効です。有効にしてください。", "--actor", "tam.sato"],
        ] {
            let result = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/supportctl", step + ["--runtime-dir", cluster.runtime.path])
            #expect(result.status == 0, "supportctl \(step.joined(separator: " ")): \(result.stderr)")
        }
        let listed = try await run("healthcheck", "list", "--certificate", "C-1")
        #expect(listed.stdout.contains("2026-12-24") && listed.stdout.contains("held"), "\(listed.stdout)")

        try await NotifierScenarioTests.settled(cluster) { $0.templateName == "healthcheck-findings" }
        let messages = try await NotifierScenarioTests.messages(cluster).filter { $0.templateName == "healthcheck-findings" }
        #expect(messages.map { $0.recipients.first?.email } == ["ann@acme.example"])
        #expect(messages.allSatisfy { $0.state == .sent && $0.certificateID == "C-1" })
        let mail = try #require(NotifierScenarioTests.maildir(cluster).first { $0.headers["X-SupportDesk-Message"] == messages.first?.id })
        #expect(mail.body.contains("Ann 様"))
        #expect(mail.body.contains("3 台のファイルサーバーでリアルタイムスキャンが無効です。"))
        #expect(mail.body.contains("2026-12-24"))
        #expect(mail.body.firstMatch(of: /R-[A-Z]+-\d/) == nil)
        await cluster.shutdown()
    }
}
