import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Issue 22 on the four real processes: what the customer's Maildir holds
/// after a whole conversation.
@Suite("Conversation by mail scenarios", .serialized)
struct ConversationMailScenarioTests {
    @Test("Issue 22, R-COM-1, R-COM-3: open → request-info → provide-info → respond by mail → respond by phone → resolve → close: one mail per public vendor article, in order, in one thread, in Japanese with JST times, no note text")
    func conversation() async throws {
        // Friday 2026-12-04 10:00 JST, business hours; Tokyo's contacts read Japanese.
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        let id = try await SLAScenarioTests.open(cluster, severity: 3)
        func run(_ arguments: String...) async throws {
            let result = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/supportctl", arguments + ["--runtime-dir", cluster.runtime.path])
            #expect(result.status == 0, "supportctl \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        try await run("incident", "note", id, "--message", "SECRET: their admin disabled the agent", "--actor", "tam.sato")
        try await run("incident", "request-info", id, "--message", "どのビルドをお使いですか？", "--actor", "tam.sato")
        try await run("incident", "provide-info", id, "--contact", "ann@acme.example", "--message", "build 4711")
        try await run("clock", "advance", "1h")
        try await run("incident", "respond", id, "--via", "email", "--message", "ホットフィックス 12 を適用してください。", "--actor", "tam.sato")
        try await run("incident", "respond", id, "--via", "phone", "--message", "適用手順をお電話でご説明しました。", "--actor", "tam.sato")
        try await run("incident", "resolve", id, "--message", "12.1 で修正済みです。", "--actor", "tam.sato")
        try await run("incident", "close", id, "--reason", "resolved", "--actor", "tam.sato")

        try await NotifierScenarioTests.settled(cluster) { $0.incidentID == id }
        let messages = try await NotifierScenarioTests.messages(cluster).filter { $0.incidentID == id && $0.recipients.first?.email == "ann@acme.example" }
        #expect(messages.map(\.templateName) == [
            "incident-opened", "article-info-request", "article-response", "article-response", "article-resolution", "article-closure",
        ])
        #expect(messages.allSatisfy { $0.state == .sent && $0.subject.hasPrefix("[\(id)] ") })

        let mails = NotifierScenarioTests.maildir(cluster)
        let byID = Dictionary(mails.compactMap { mail in mail.headers["X-SupportDesk-Message"].map { ($0, mail) } }, uniquingKeysWith: { first, _ in first })
        let read = messages.compactMap { byID[$0.id] }
        #expect(read.count == messages.count, "every mail is in the Maildir")
        let root = try #require(read.first?.headers["Message-ID"])
        #expect(read.dropFirst().allSatisfy { $0.headers["In-Reply-To"] == root && $0.headers["References"] == root }, "one thread")
        for mail in read {
            #expect(mail.body.contains("Ann 様"), "in Japanese: \(mail.body)")
            #expect(mail.body.contains(" JST"))
            #expect(!mail.body.contains("SECRET"))
            #expect(mail.body.firstMatch(of: /R-[A-Z]+-\d/) == nil)
        }
        #expect(read[1].body.contains("どのビルドをお使いですか？"))
        #expect(read[3].body.contains("お電話でお伝えした内容を、確認のため書面でもお送りいたします。"))
        #expect(read[5].body.contains("ご案内した解決策により、問題が解決いたしました。"))
        #expect(!mails.contains { $0.body.contains("SECRET") }, "no note text in any mail, staff's included")
        await cluster.shutdown()
    }
}
