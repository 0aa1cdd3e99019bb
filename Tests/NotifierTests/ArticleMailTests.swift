import Foundation
import SupportProto
import Testing

@testable import Notifier

/// Issue 22: every public vendor article reaches the customer, in the
/// incident's thread, in the contact's language and local time.
@Suite("The conversation by mail (issue 22)")
struct ArticleMailTests {
    static let bob = Support_Common_V1_Contact.with { $0.name = "Bob"; $0.email = "bob@acme.example"; $0.language = "en" }
    static let chika = Support_Common_V1_Contact.with { $0.name = "千佳"; $0.email = "chika@acme.example"; $0.language = "ja" }

    static func customerMails(_ harness: NotifierHarness) throws -> [Message] {
        try harness.messages().filter { Templates.customerKinds.contains($0.templateName) }
    }

    @Test("R-COM-1: a public vendor article mails the reporting contact and each cc contact once, with the text staff wrote")
    func responseReachesEveryone() throws {
        let harness = try NotifierHarness(severity: 3)
        harness.snapshot.cc = [Self.bob, Self.chika]
        try harness.open(at: "2026-12-04T11:00:00")
        let event = try harness.article(.response, "Update the engine to 12.1.\nThen restart.", at: "2026-12-04T16:00:00", id: "answer")
        let mails = try harness.messages("article-response")
        #expect(mails.map { $0.recipients[0].email } == ["ann@acme.example", "bob@acme.example", "chika@acme.example"])
        #expect(mails.map { $0.recipients[0].role } == [.reportingContact, .contact, .contact])
        #expect(mails.allSatisfy { $0.body.contains("Update the engine to 12.1.\nThen restart.") })
        #expect(mails[0].body.contains("Dear Ann,"))
        #expect(mails[2].body.contains("千佳 様"), "chika's copy is in her language")
        // Redelivered: nothing twice (dedup per event, template, recipient, transport).
        harness.sequence -= 1
        try harness.send(event.payload!, at: "2026-12-04T16:00:00", id: "answer")
        #expect(try harness.messages("article-response").count == 3)
    }

    @Test("R-COM-1: every vendor article kind has its mail", arguments: [
        (Support_Common_V1_ArticleKind.response, "article-response"), (.infoRequest, "article-info-request"), (.workaround, "article-workaround"),
        (.reply, "article-reply"), (.resolution, "article-resolution"), (.reopen, "article-reopen"), (.statusReport, "article-status-report"),
        (.specialistProgress, "article-specialist-progress"),
    ])
    func everyKind(kind: Support_Common_V1_ArticleKind, template: String) throws {
        let harness = try NotifierHarness(severity: 2)
        try harness.open(at: "2026-12-04T11:00:00")
        try harness.article(kind, "text as written: ü✓", at: "2026-12-04T12:00:00")
        let mail = try #require(try harness.messages(template).first)
        #expect(mail.recipients.map(\.email) == ["ann@acme.example"])
        #expect(mail.subject.hasPrefix("[INC-000001] "))
        #expect(mail.body.contains("text as written: ü✓"))
        #expect(mail.body.contains("2026-12-04 12:00 JST"))
    }

    @Test("A customer's own messages mail nothing to the customer")
    func customerMessagesMailNothing() throws {
        let harness = try NotifierHarness(severity: 3)
        harness.snapshot.cc = [Self.bob]
        try harness.open(at: "2026-12-04T11:00:00")
        try harness.article(.customerMessage, "here is the log", at: "2026-12-04T12:00:00", direction: .fromCustomer, channel: .email, author: "ann@acme.example")
        try harness.article(.reopen, "it is back", at: "2026-12-04T13:00:00", direction: .fromCustomer, author: "ann@acme.example")
        #expect(try Self.customerMails(harness).map(\.templateName) == ["incident-opened", "incident-opened"], "only the acknowledgements, to Ann and Bob")
    }

    @Test("R-COM-2: an internal article, which intake never sends, is not mailed to the customer all the same")
    func internalNeverMailed() throws {
        let harness = try NotifierHarness(severity: 3)
        try harness.open(at: "2026-12-04T11:00:00")
        try harness.article(.response, "SECRET: customer is difficult", at: "2026-12-04T12:00:00", visibility: .internal)
        try harness.article(.note, "SECRET note", at: "2026-12-04T12:01:00", direction: .internal, visibility: .internal)
        try harness.article(.note, "SECRET note marked public", at: "2026-12-04T12:02:00")
        try harness.article(.response, "SECRET internal direction", at: "2026-12-04T12:03:00", direction: .internal)
        try harness.article(.response, "SECRET unmarked", at: "2026-12-04T12:04:00", visibility: .unspecified)
        let mails = try harness.messages()
        #expect(mails.map(\.templateName) == ["incident-opened"])
        #expect(!mails.contains { $0.body.contains("SECRET") })
    }

    @Test("Every mail of an incident answers its acknowledgement: In-Reply-To and References name its Message-ID, and every subject starts with [INC-000001]")
    func oneThread() throws {
        let harness = try NotifierHarness(severity: 1, channel: .phone)
        harness.snapshot.cc = [Self.chika]
        try harness.open()
        var warning = Support_Events_V1_SLAWarning()
        warning.cycle = harness.cycle(due: "2026-12-05T03:30:00")
        try harness.send(.slaWarning(warning), at: "2026-12-05T03:20:00", producer: "sla-timer")
        try harness.article(.response, "first answer", at: "2026-12-05T03:25:00")
        try harness.article(.infoRequest, "which version?", at: "2026-12-05T03:26:00")
        let messages = try harness.messages()
        let ack = try #require(messages.first { $0.templateName == "incident-opened" })
        #expect(ack.inReplyTo.isEmpty, "the reporting contact's acknowledgement starts the thread")
        let rest = messages.filter { $0.id != ack.id }
        #expect(rest.count == 8, "chika's acknowledgement, the duty manager's alert mail and call, the SLA warning, and two articles to two contacts")
        #expect(rest.allSatisfy { $0.inReplyTo == ack.messageIDHeader })
        #expect(Set(messages.map(\.messageIDHeader)).count == messages.count)
        #expect(messages.allSatisfy { $0.subject.hasPrefix("[INC-000001] ") })
        let mail = try ParsedMail.parse(MailFormat.render(rest.last!, from: "SupportDesk <support@x.example>"))
        #expect(mail.headers["In-Reply-To"] == ack.messageIDHeader)
        #expect(mail.headers["References"] == ack.messageIDHeader)
        let root = try ParsedMail.parse(MailFormat.render(ack, from: "SupportDesk <support@x.example>"))
        #expect(root.headers["Message-ID"] == ack.messageIDHeader)
        #expect(root.headers["References"] == nil)
    }

    @Test("R-COM-3: a Japanese contact reads Japanese, with times in JST; the subject keeps the [INC-…] tag")
    func japanese() throws {
        let harness = try NotifierHarness(severity: 3)
        harness.snapshot.contactLanguage = "ja"
        try harness.open(at: "2026-12-04T11:00:00")
        try harness.article(.response, "12.1 に更新してください。", at: "2026-12-04T16:00:00", author: "tam.sato")
        let ack = try #require(try harness.messages("incident-opened").first)
        #expect(ack.subject == "[INC-000001] お問い合わせを受け付けました（重要度 3）：mail gateway down")
        #expect(ack.body.contains("回答期限: 2026-12-07 16:00 JST"), "opened Saturday 03:00: six business hours from Monday's opening")
        let answer = try #require(try harness.messages("article-response").first)
        #expect(answer.subject == "[INC-000001] お問い合わせについて回答いたしました：mail gateway down")
        #expect(answer.body.contains("Ann 様"))
        #expect(answer.body.contains("以下のとおり回答いたします"))
        #expect(answer.body.contains("12.1 に更新してください。"))
        #expect(answer.body.contains("送信日時: 2026-12-04 16:00 JST（担当: Sato Haruka）"))
        let parsed = try ParsedMail.parse(MailFormat.render(answer, from: "SupportDesk <support@x.example>"))
        #expect(parsed.defects.isEmpty)
        #expect(parsed.headers["Subject"] == answer.subject, "RFC 2047 decodes to the Japanese subject")
    }

    @Test("An English contact of a Tokyo incident reads English, also with JST; an unknown language reads English")
    func english() throws {
        let harness = try NotifierHarness(severity: 3)
        harness.snapshot.contactLanguage = "fr"
        try harness.open(at: "2026-12-04T11:00:00")
        try harness.article(.response, "ok", at: "2026-12-04T16:00:00", channel: .phone)
        let answer = try #require(try harness.messages("article-response").first)
        #expect(answer.subject == "[INC-000001] Our answer to your request: mail gateway down")
        #expect(answer.body.contains("Sent:     2026-12-04 16:00 JST, by Sato Haruka"))
        #expect(answer.body.contains("We told you this by phone; this mail confirms it in writing."))
    }

    @Test("Attachments are listed by name and size, to download from the portal; their bytes are not mailed")
    func attachmentsListed() throws {
        let harness = try NotifierHarness(severity: 3)
        harness.snapshot.cc = [Self.chika]
        try harness.open(at: "2026-12-04T11:00:00")
        let files = [
            Support_Common_V1_Attachment.with { $0.name = "dump.dmp"; $0.sizeBytes = 2_516_582; $0.sha256 = String(repeating: "a", count: 64) },
            Support_Common_V1_Attachment.with { $0.name = "scan.log"; $0.sizeBytes = 900 },
        ]
        try harness.article(.reply, "", at: "2026-12-04T12:00:00", attachments: files)
        let mails = try harness.messages("article-reply")
        #expect(mails[0].body.contains("Attached files (download them from the portal):\n- dump.dmp (2.4 MB)\n- scan.log (900 B)"))
        #expect(mails[1].body.contains("添付ファイル（ポータルからダウンロードしてください）:\n- dump.dmp（2.4 MB）\n- scan.log（900 B）"))
        let parsed = try ParsedMail.parse(MailFormat.render(mails[0], from: "SupportDesk <support@x.example>"))
        #expect(parsed.headers["Content-Type"] == "text/plain; charset=\"utf-8\"" || parsed.headers["Content-Type"] == "text/plain; charset=utf-8")
    }

    @Test("R-SLA-5: the information request says what to do and that the clock waits for the customer")
    func infoRequestExplains() throws {
        let harness = try NotifierHarness(severity: 3)
        harness.snapshot.cc = [Self.chika]
        try harness.open(at: "2026-12-04T11:00:00")
        try harness.article(.infoRequest, "Which engine version runs on the gateway?", at: "2026-12-04T12:00:00")
        let mails = try harness.messages("article-info-request")
        #expect(mails[0].body.contains("What to do: reply to this mail"))
        #expect(mails[0].body.contains("the time we have to\nanswer does not run"))
        #expect(mails[0].body.contains("one month"))
        #expect(mails[1].body.contains("弊社の回答期限の\n計測は停止いたします"))
        #expect(mails[1].body.contains("1か月間ご回答が"))
    }

    @Test("R-SLA-6: the one-month warning quotes the latest request and when it was made")
    func warningQuotesRequest() throws {
        let harness = try NotifierHarness(severity: 3)
        harness.snapshot.cc = [Self.chika]
        try harness.open(at: "2026-12-04T11:00:00")
        try harness.article(.infoRequest, "Which version?", at: "2026-12-04T12:00:00")
        try harness.article(.infoRequest, "Please send the scan log of the gateway.", at: "2026-12-07T12:00:00")
        var warning = Support_Events_V1_CustomerTimeoutWarning()
        warning.waitingSince = .init(date: jst("2026-12-07T12:00:00"))
        warning.closesAt = .init(date: jst("2027-01-07T12:00:00"))
        try harness.send(.customerTimeoutWarning(warning), at: "2026-12-31T12:00:00", producer: "sla-timer")
        let mails = try harness.messages("customer-timeout-warning")
        #expect(mails.map { $0.recipients[0].email } == ["ann@acme.example", "chika@acme.example"])
        #expect(mails[0].body.contains("On 2026-12-07 12:00 JST we asked you:\n\nPlease send the scan log of the gateway."))
        #expect(!mails[0].body.contains("Which version?"))
        #expect(mails[0].body.contains("Closes without an answer at: 2027-01-07 12:00 JST"))
        #expect(mails[1].body.contains("2026-12-07 12:00 JST に、以下の内容をお願いいたしました。\n\nPlease send the scan log of the gateway."))
        #expect(mails[1].subject.hasPrefix("[INC-000001] ご回答のお願い（2027-01-07 12:00 JST にクローズ予定）"))
    }

    @Test("R-SLA-6: a customer-timeout closure is mailed once, from its closure article, not again for Closed")
    func oneMailPerClosure() throws {
        let harness = try NotifierHarness(severity: 3)
        harness.snapshot.cc = [Self.bob, Self.chika]
        try harness.open(at: "2026-12-04T11:00:00")
        harness.snapshot.state = .closed
        var closed = Support_Events_V1_Closed()
        closed.closedBy = "sla-timer"
        closed.reason.kind = .customerTimeout
        // As intake writes it: its note for the record is the article's text.
        closed.reason.detail = "no answer from the customer within one month"
        try harness.send(.closed(closed), at: "2027-01-07T12:00:00")
        try harness.article(.closure, closed.reason.detail, at: "2027-01-07T12:00:00", author: "sla-timer", closure: closed.reason)
        let mails = try Self.customerMails(harness).filter { $0.templateName != "incident-opened" }
        #expect(mails.map(\.templateName) == ["article-closure", "article-closure", "article-closure"])
        #expect(mails.map { $0.recipients[0].email } == ["ann@acme.example", "bob@acme.example", "chika@acme.example"])
        #expect(mails[0].body.contains("had no answer for one month"))
        #expect(mails[0].body.contains("open a new request on the portal and mention INC-000001"))
        #expect(mails[2].body.contains("1か月間ご回答をいただけなかったため"))
        #expect(!mails.contains { $0.body.contains("no answer from the customer") }, "intake's English note stays out; each reads its own language")
    }

    /// Each closure kind and out-of-scope reason and a phrase of its
    /// explanation in each language.
    static let closures: [(Support_Common_V1_ClosureKind, Support_Common_V1_OutOfScopeReason, String, String)] = [
        (.resolved, .unspecified, "the solution we gave you resolved it", "ご案内した解決策により、問題が解決いたしました"),
        (.customerTimeout, .unspecified, "had no answer for one month", "1か月間ご回答をいただけなかった"),
        (.notReproducible, .unspecified, "Neither you nor we could make the problem happen again", "事象を再現できなかった"),
        (.outOfScope, .alreadyResolved, "already resolved, occurring again on the same\nproduct", "すでに解決済みの事象"),
        (.outOfScope, .previousSolution, "a solution we provided earlier solves it", "以前にご案内した解決策で解決でき"),
        (.outOfScope, .hardwareFault, "a fault in your hardware", "ハードウェアの故障"),
        (.outOfScope, .unsupportedPlatform, "a platform we do not support", "サポート対象外の環境"),
        (.outOfScope, .thirdPartyApplication, "another vendor's application", "他社製のアプリケーション"),
        (.outOfScope, .informationNotProvided, "we asked for information we needed", "調査に必要な情報のご提供をお願いいたしましたが"),
        (.outOfScope, .misuse, "used against its instructions", "取扱説明に反する方法"),
        (.outOfScope, .accessRefused, "could not get access to an environment", "事象が発生する環境へのアクセス"),
        (.outOfScope, .causeOutsideProduct, "its cause lies outside our product", "原因が弊社製品の外部にある"),
    ]

    @Test("R-SCOPE-2, R-SCOPE-3, R-SLA-6: each closure is explained in plain words, in English and Japanese, without rule ids", arguments: Self.closures)
    func closureExplained(kind: Support_Common_V1_ClosureKind, reason: Support_Common_V1_OutOfScopeReason, english: String, japanese: String) throws {
        let harness = try NotifierHarness(severity: 3)
        harness.snapshot.cc = [Self.chika]
        try harness.open(at: "2026-12-04T11:00:00")
        let closure = Support_Common_V1_ClosureReason.with { $0.kind = kind; $0.outOfScopeReason = reason; $0.detail = "seen with product X 3.1 beta" }
        try harness.article(.closure, "Thank you for working with us.", at: "2026-12-10T12:00:00", closure: closure)
        let mails = try harness.messages("article-closure")
        #expect(mails.count == 2)
        #expect(mails[0].body.contains(english))
        #expect(mails[1].body.contains(japanese))
        for mail in mails {
            // Staff's words as written; the timeout's are intake's, and the template's replace them.
            #expect(mail.body.contains("Thank you for working with us.") == (kind != .customerTimeout))
            #expect(mail.body.contains("seen with product X 3.1 beta") == (kind != .customerTimeout))
            #expect(mail.body.firstMatch(of: /R-[A-Z]+-\d/) == nil)
            // Only this closure's explanation: no other reason's words.
            for other in Self.closures where other.0 != kind || other.1 != reason {
                #expect(!mail.body.contains(other.2) && !mail.body.contains(other.3), "\(kind)/\(reason) also says \(other.2)")
            }
        }
    }

    @Test("R-ESC-2: a customer's escalation is acknowledged to the contacts and the requester in plain words, naming who owns the incident now")
    func escalationReceived() throws {
        let harness = try NotifierHarness(severity: 2)
        try harness.certificate(contacts: [.with { $0.name = "Ann"; $0.email = "ann@acme.example"; $0.language = "en" }, Self.chika])
        try harness.open(at: "2026-12-07T11:00:00")
        var escalated = Support_Events_V1_Escalated()
        escalated.fromLevel = .tam
        escalated.toLevel = .supportLead
        escalated.trigger = .customer
        escalated.requestedBy = "CHIKA@acme.example"
        escalated.reason = "no answer since 2026-12-07T02:00:00Z"
        escalated.levelOwner = .with { $0.id = "lead.tanaka"; $0.name = "Tanaka Ken"; $0.email = "lead.tanaka@vendor.example" }
        escalated.responsible = escalated.levelOwner
        try harness.send(.escalated(escalated), at: "2026-12-07T15:00:00", producer: "escalation")
        let mails = try harness.messages("escalation-received")
        #expect(mails.map { $0.recipients[0].email } == ["ann@acme.example", "chika@acme.example"])
        #expect(mails[0].body.contains("We received the escalation of your request INC-000001 (mail gateway down) at\n2026-12-07 15:00 JST."))
        #expect(mails[0].body.contains("The request is now owned by Tanaka Ken, the leader of our support team,"))
        #expect(mails[0].body.contains("Your reason: no answer since 2026-12-07 11:00 JST"))
        #expect(mails[1].body.contains("弊社サポートチームのリーダーである Tanaka Ken が"))
        #expect(mails[1].body.contains("2026-12-07 15:00 JST にエスカレーションの"))
        #expect(try harness.messages("escalated").map { $0.recipients[0].email }.contains("lead.tanaka@vendor.example"), "staff are told as before")

        // Staff's own and the SLA's escalations tell staff only.
        var staff = escalated
        staff.trigger = .slaBreach
        staff.requestedBy = "sla-timer"
        staff.reason = "SLA breached: a response was due 2026-12-07T06:00:00Z (R-ESC-3)"
        staff.toLevel = .businessAccountManager
        try harness.send(.escalated(staff), at: "2026-12-07T15:01:00", producer: "escalation")
        #expect(try harness.messages("escalation-received").count == 2)
        let alert = try #require(try harness.messages("escalated").last)
        #expect(alert.body.contains("Reason: SLA breached: a response was due 2026-12-07 15:00 JST (R-ESC-3)"), "staff read the breach in local time")
    }

    @Test("R-ESC-2: a requester who is no contact of the certificate is not written to; no reason given shows none")
    func unknownRequester() throws {
        let harness = try NotifierHarness(severity: 2)
        try harness.certificate(contacts: [.with { $0.name = "Ann"; $0.email = "ann@acme.example" }])
        try harness.open(at: "2026-12-07T11:00:00")
        var escalated = Support_Events_V1_Escalated()
        escalated.toLevel = .supportLead
        escalated.trigger = .customer
        escalated.requestedBy = "mallory@evil.example"
        escalated.reason = "escalated by the customer"
        try harness.send(.escalated(escalated), at: "2026-12-07T15:00:00", producer: "escalation")
        let mails = try harness.messages("escalation-received")
        #expect(mails.map { $0.recipients[0].email } == ["ann@acme.example"])
        #expect(!mails[0].body.contains("Your reason"), "escalation's stand-in for no reason is not the customer's words")
    }

    @Test("R-REP-2: the status report goes to the cc contacts too, each in its language, with the state in words")
    func statusReportLanguages() throws {
        let harness = try NotifierHarness(channel: .phone)
        harness.snapshot.cc = [Self.chika]
        harness.snapshot.state = .waitingCustomer
        try harness.open()
        let response = try harness.statusReport(at: "2026-12-05T09:00:00")
        #expect(response.outcome == .queued)
        #expect(response.messages.map { $0.recipients[0].email } == ["ann@acme.example", "chika@acme.example"])
        #expect(response.messages[0].body.contains("State:    waiting for your answer"))
        #expect(response.messages[1].body.contains("状況: お客様のご回答待ち"))
        #expect(response.messages[1].subject == "[INC-000001] 対応状況のご報告（2026-12-05）：mail gateway down")
    }
}
