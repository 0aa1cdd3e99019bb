import Foundation
import SupportProto
import Testing
import TestSupport

@testable import Notifier

/// What a mail client makes of a rendered mail: Python's `email` package
/// with `email.policy.strict`, a real RFC 5322 parser, run as a process.
struct ParsedMail: Decodable {
    var names: [String]
    var headers: [String: String]
    var to: [[String]]
    var defects: [String]
    var body: String
    var longestLine: Int
    var bareLineEnds: Bool
    var headerSection: [String]

    static let script = #"""
        import sys, json, email, email.policy
        data = sys.stdin.buffer.read()
        msg = email.message_from_bytes(data, policy=email.policy.strict)
        defects = [str(d) for d in msg.defects]
        headers = {}
        for name, value in msg.items():
            headers[name] = str(value)
            defects += [f"{name}: {d}" for d in getattr(value, "defects", [])]
        head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
        print(json.dumps({
            "names": list(msg.keys()), "headers": headers, "defects": defects,
            "to": [[a.display_name, a.addr_spec] for a in msg["To"].addresses] if msg["To"] is not None else [],
            "body": msg.get_content().replace("\r\n", "\n"),
            "longestLine": max(len(line) for line in data.split(b"\r\n")),
            "bareLineEnds": b"\n" in data.replace(b"\r\n", b"") or b"\r" in data.replace(b"\r\n", b""),
            "headerSection": head.split("\r\n"),
        }))
        """#

    static func parse(_ data: Data) throws -> ParsedMail {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: data)
        try input.fileHandleForWriting.close()
        let result = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TransportError(description: "python3's email parser refused the mail: \(String(decoding: stderr, as: UTF8.self))\n\(String(decoding: data, as: UTF8.self))")
        }
        return try JSONDecoder().decode(ParsedMail.self, from: result)
    }
}

@Suite("Mail headers (issue 21, finding 5)")
struct MailHeaderTests {
    /// A hostile value and the text it must become in a header: line
    /// breaks a space, other control characters gone.
    static let hostile: [String] = [
        "x\r\nBcc: a@evil.example",
        "\n\nbody",
        "障害\r\n",
        "x\nBcc: a@evil.example\n\nbody",
        "nul\u{0}byte and\ttab\u{7F}",
        "=?UTF-8?B?QmNjOiBhQGV2aWwuZXhhbXBsZQ==?= looks encoded",
        String(repeating: "very long title ", count: 40) + String(repeating: "x", count: 300),
        String(repeating: "障害が発生しました ", count: 30),
    ]

    static func expectedText(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var lastWasBreak = false
        for scalar in text.unicodeScalars {
            let isBreak = scalar == "\r" || scalar == "\n"
            if isBreak, !lastWasBreak { scalars.append(" ") }
            if scalar == "\t" { scalars.append(" ") } else if !isBreak, scalar.value >= 0x20, scalar.value != 0x7F { scalars.append(scalar) }
            lastWasBreak = isBreak
        }
        return String(scalars)
    }

    static let textKeys = [
        "incident", "title", "customer", "recipient_name", "role", "due_local", "level_name", "reason", "remaining", "closes_local",
        "waiting_local", "met_local", "report_day", "priority_line", "certificate", "quarter", "period_start_local", "period_end_local",
        "markdown", "text", "at_local", "author_name", "owner_name", "detail",
    ]

    /// Every flag a template tests, set, so every section renders.
    static let flags = [
        "phone_advised", "duty_manager", "by_phone", "has_text", "has_attachments", "owner_tam", "owner_support_lead", "owner_account_manager",
        "state_new", "state_in_progress", "state_waiting_customer", "state_resolved", "state_closed",
        "closure_resolved", "closure_customer_timeout", "closure_not_reproducible", "closure_out_of_scope", "closure_other",
        "oos_already_resolved", "oos_previous_solution", "oos_hardware_fault", "oos_unsupported_platform", "oos_third_party_application",
        "oos_information_not_provided", "oos_misuse", "oos_access_refused", "oos_cause_outside_product", "oos_other",
    ]

    static func values(_ text: String) -> [String: Any] {
        var values: [String: Any] = Dictionary(uniqueKeysWithValues: Self.textKeys.map { ($0, text) })
        values["incident"] = "INC-000001"
        for key in ["severity", "level", "from_level", "incident_count", "cycles_met", "cycles_breached", "escalation_count", "open_count"] { values[key] = 1 }
        for flag in Self.flags { values[flag] = true }
        values["attachments"] = [["name": text, "size": "2.4 MB"], ["name": "b.log", "size": "900 B"]]
        values["asked"] = ["text": text, "at_local": text]
        return values
    }

    /// `language/kind` split.
    static func split(_ file: String) -> (language: String, kind: String) {
        let parts = file.split(separator: "/").map(String.init)
        return (parts[0], parts[1])
    }

    static func message(subject: String, body: String, recipient: Recipient) -> Message {
        var message = Message()
        message.id = "MSG-000001-abcdefgh"
        message.incidentID = "INC-000001"
        message.messageIDHeader = "<msg-000001-abcdefgh.inc-000001@notifier.supportdesk>"
        message.inReplyTo = NotifierStore.threadRoot("INC-000001")
        message.recipients = [recipient]
        message.subject = subject
        message.body = body
        message.createdAt = .init(date: Date(timeIntervalSince1970: 1_796_407_200))
        return message
    }

    static let expectedHeaders = [
        "Date", "From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding", "X-SupportDesk-Message", "X-SupportDesk-Incident",
    ]

    @Test("Every shipped template, in every language, rendered with hostile titles, names and values, parses as one mail with exactly notifier's headers, the intended recipient and the sanitised subject", arguments: Templates.files)
    func hostileTemplates(file: String) throws {
        let (language, template) = Self.split(file)
        let directory = URL(fileURLWithPath: InProcessService.configDirectory).appendingPathComponent("templates")
        let templates = try Templates(directory: directory)
        let source = try String(contentsOf: directory.appendingPathComponent("\(file).mustache"), encoding: .utf8)
        let subjectSource = try #require(source.split(separator: "\n").first { $0.hasPrefix("Subject:") })
        for text in Self.hostile {
            let rendered = try templates.render(template, language: language, Self.values(text))
            // The subject the template gives with the values already sanitised.
            let expected = try Templates.check("{{% CONTENT_TYPE: TEXT}}\n\(subjectSource)\n\nbody", values: Self.values(Self.expectedText(text))).subject
            var recipient = Recipient()
            recipient.email = "ann@acme.example"
            recipient.name = text
            let data = try MailFormat.render(Self.message(subject: rendered.subject, body: rendered.body, recipient: recipient), from: "SupportDesk <support@x.example>")
            let mail = try ParsedMail.parse(data)
            let context = Comment(rawValue: "\(file) with \(text.debugDescription)")
            #expect(mail.defects.isEmpty, context)
            #expect(mail.names == Self.expectedHeaders, context)
            #expect(mail.to.map { $0[1] } == ["ann@acme.example"], "exactly the intended recipient; \(context)")
            // Python 3.11 keeps the folding space between two encoded-words of
            // a display name (RFC 2047 §6.2 drops it): compare without spaces.
            #expect(mail.to.map { $0[0].filter { !$0.isWhitespace } } == [Self.expectedText(text).filter { !$0.isWhitespace }], context)
            #expect(mail.headers["Subject"] == expected, context)
            #expect(mail.headers["From"] == "SupportDesk <support@x.example>", context)
            #expect(mail.longestLine <= 998, context)
            #expect(!mail.bareLineEnds, "every line ends in CRLF; \(context)")
            #expect(mail.headerSection.allSatisfy { $0.utf8.count <= 78 }, context)
            #expect(mail.headerSection.allSatisfy { !$0.isEmpty }, "exactly one empty line, after the headers; \(context)")
            #expect(!mail.body.contains("\u{0}"), context)
            #expect(mail.body == MailFormat.bodyLines(rendered.body).joined(separator: "\n") + "\n", "the body reads as rendered; \(context)")
        }
    }

    @Test("An address that is not a plain local@domain is refused, not sent", arguments: [
        "ann@acme.example\r\nBcc: a@evil.example", "ann@acme.example, b@evil.example", "ann@acme.example>", "<ann@acme.example>",
        "Ann <ann@acme.example>", "ann@acme.example\u{0}", "ann", "@acme.example", "ann@", "ann@acme..example", "アン@acme.example",
        "ann@-acme.example", "\"ann\"@acme.example", String(repeating: "a", count: 65) + "@acme.example",
    ])
    func refusedAddress(address: String) throws {
        var recipient = Recipient()
        recipient.email = address
        recipient.name = "Ann"
        let error = try #require(throws: MailHeaderError.self) {
            try MailFormat.render(Self.message(subject: "s", body: "b", recipient: recipient), from: "s@x.example")
        }
        #expect(error.code == .invalidAddress)
    }

    @Test("Header names follow RFC 5322; a header is set once")
    func names() throws {
        var headers = MailHeaders()
        for bad in ["", "Bad Name", "Bad:Name", "Bcc\r\n", "Sübject", String(repeating: "X", count: 41)] {
            #expect(throws: MailHeaderError.self) { try headers.addText(bad, "x") }
        }
        try headers.addText("X-Ok", "x")
        let twice = try #require(throws: MailHeaderError.self) { try headers.addText("x-ok", "y") }
        #expect(twice.code == .duplicateField)
        #expect(throws: MailHeaderError.self) { try headers.addMessageIDs("Message-ID", ["<a@b>\r\nBcc: c@d"]) }
    }

    @Test("A template may set Subject and nothing else")
    func templateHeaders() throws {
        let bcc = try #require(throws: Templates.LoadError.self) { try Templates.check("Subject: x\nBcc: a@evil.example\n\nbody", values: [:]) }
        #expect(bcc.description.contains("Bcc cannot be set by a template"))
        let badName = try #require(throws: Templates.LoadError.self) { try Templates.check("Subject: x\nBad Name: y\n\nbody", values: [:]) }
        #expect(badName.description.contains("is not a mail header name"))
        let rendered = try Templates.check("Subject: [{{id}}]\n  {{title}}\n\n{{title}}", values: ["id": "INC-1", "title": "a\r\nBcc: b"])
        #expect(rendered.subject == "[INC-1]  a Bcc: b")
        #expect(rendered.body == "a\r\nBcc: b", "the body keeps the text; it is not a header")
    }

    @Test("notifier.json's from must be an address")
    func fromAddress() throws {
        let error = try #require(throws: NotifierConfig.LoadError.self) { try NotifierConfig.parse(Data(#"{"from": "x\r\nBcc: a@evil.example"}"#.utf8)) }
        #expect(error.key == "from")
        #expect(try MailAddress.parse("\"Support Desk\" <s@x.example>") == MailAddress("s@x.example", name: "Support Desk"))
    }
}
