import Foundation
import SupportProto
import Testing
import TestSupport

@testable import Notifier

/// Splits an RFC 5322 file (CRLF line ends) into its unfolded headers and
/// its body with LF line ends.
func parseMail(_ data: Data) -> (headers: [String: String], body: String) {
    let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    let parts = text.components(separatedBy: "\n\n")
    var headers: [String: String] = [:]
    for line in parts[0].replacingOccurrences(of: "\n ", with: " ").split(separator: "\n") {
        let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        headers[pair[0]] = pair[1]
    }
    return (headers, parts.dropFirst().joined(separator: "\n\n"))
}

@Suite("Transports")
struct TransportTests {
    static func sample(_ harness: NotifierHarness) throws -> [Message] {
        try harness.open()
        var warning = Support_Events_V1_SLAWarning()
        warning.cycle = harness.cycle(due: "2026-12-05T10:30:00")
        try harness.send(.slaWarning(warning), at: "2026-12-05T10:00:00", producer: "sla-timer")
        // The severity-1 arrival alert (issue 23) is left out: these are about the transport.
        return try harness.messages().filter { $0.templateName != NotifierEngine.alertTemplate }
    }

    @Test("Maildir: one RFC 5322 file per message in new/, threaded per incident, and a repeated delivery adds no copy")
    func maildir() async throws {
        let harness = try NotifierHarness(phoneAdvised: true)
        let messages = try Self.sample(harness)
        let directory = URL(fileURLWithPath: harness.directory.file("maildir"))
        let transport = try MaildirTransport(directory: directory)
        for message in messages { try await transport.deliver(try MailFormat.render(message, from: "SupportDesk <support@x.example>"), message: message) }
        try await transport.deliver(try MailFormat.render(messages[0], from: "SupportDesk <support@x.example>"), message: messages[0])
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("new").path).sorted()
        #expect(files.count == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("tmp").path).isEmpty)
        let mails = try files.map { parseMail(try Data(contentsOf: directory.appendingPathComponent("new/\($0)"))) }
        let ack = try #require(mails.first { $0.headers["To"] == "\"Ann\" <ann@acme.example>" })
        #expect(ack.headers["Subject"]?.hasPrefix("[INC-000001]") == true)
        #expect(ack.headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(ack.headers["Date"] == "Fri, 04 Dec 2026 18:00:00 +0000")
        #expect(ack.headers["From"] == "\"SupportDesk\" <support@x.example>")
        #expect(ack.body.contains("call our priority line"))
        // The acknowledgement is the thread's root; the warning answers it (issue 22).
        #expect(ack.headers["References"] == nil)
        #expect(Set(mails.compactMap { $0.headers["References"] }) == [ack.headers["Message-ID"]!])
        #expect(Set(mails.compactMap { $0.headers["In-Reply-To"] }) == [ack.headers["Message-ID"]!])
        #expect(Set(mails.compactMap { $0.headers["Message-ID"] }) == Set(messages.map(\.messageIDHeader)))
    }

    @Test("Two notifiers over copies of one database on the same fake clock never share a message id or a Maildir file (issue 21, finding 8)")
    func copiesNeverCollide() async throws {
        let first = try NotifierHarness()
        try first.open()
        let second = try NotifierHarness(copying: first.database)
        for harness in [first, second] {
            var warning = Support_Events_V1_SLAWarning()
            warning.cycle = harness.cycle(due: "2026-12-05T10:30:00")
            try harness.send(.slaWarning(warning), at: "2026-12-05T10:00:00", producer: "sla-timer")
        }
        let (one, two) = try [first, second].map { try $0.messages().filter { $0.templateName != NotifierEngine.alertTemplate } }.pair
        #expect(one.count == 2 && two.count == 2)
        #expect(one[0].id == two[0].id, "the acknowledgement was copied with the database")
        #expect(one[1].id != two[1].id, "the next number is the same in both copies; the ids are not")
        #expect(one[1].messageIDHeader != two[1].messageIDHeader)

        let directory = URL(fileURLWithPath: first.directory.file("maildir"))
        let transport = try MaildirTransport(directory: directory)
        for message in one + two {
            try await transport.deliver(try MailFormat.render(message, from: "s@x.example"), message: message)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("new").path)
        let delivered = try files.map { parseMail(try Data(contentsOf: directory.appendingPathComponent("new/\($0)"))).headers["X-SupportDesk-Message"] }
        #expect(files.count == 3, "the copied acknowledgement once, each copy's warning once")
        #expect(Set(delivered) == Set((one + two).map(\.id)))
        for name in files {
            // Maildir: time.unique.host, the unique part M…P…R…Q…
            #expect(name.wholeMatch(of: /[0-9]+\.M[0-9]+P[0-9]+R[0-9a-f]+Q[0-9]+_MSG-[0-9A-Z-]+\.[^\/:]+/) != nil, "\(name)")
        }
    }

    @Test("sendmail: the command receives the well-formed message on stdin; a non-zero exit is a failed attempt")
    func sendmail() async throws {
        let harness = try NotifierHarness()
        let message = try #require(try Self.sample(harness).first)
        let script = harness.directory.file("fake-sendmail")
        let output = harness.directory.file("received.eml")
        try "#!/bin/sh\n[ \"$1\" = \"-t\" ] || exit 3\ncat > \(output)\n".write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        try await SendmailTransport(command: [script, "-t", "-i"]).deliver(try MailFormat.render(message, from: "s@x.example"), message: message)
        let mail = parseMail(try Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(mail.headers["To"] == "\"Ann\" <ann@acme.example>")
        #expect(mail.headers["Message-ID"] == message.messageIDHeader)
        #expect(mail.body == message.body + (message.body.hasSuffix("\n") ? "" : "\n"))

        let failing = harness.directory.file("failing-sendmail")
        try "#!/bin/sh\necho 'mail queue full' >&2\nexit 75\n".write(toFile: failing, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: failing)
        let error = await #expect(throws: TransportError.self) {
            try await SendmailTransport(command: [failing]).deliver(try MailFormat.render(message, from: "s@x.example"), message: message)
        }
        #expect(error?.description.contains("exited with 75: mail queue full") == true)
    }
}

@Suite("notifier.json")
struct NotifierConfigTests {
    @Test("The shipped configuration loads")
    func shipped() throws {
        let config = try NotifierConfig.load(configDirectory: URL(fileURLWithPath: InProcessService.configDirectory))
        #expect(config.transport == .maildir)
        #expect(config.priorityLine == "+81-3-0000-0000")
    }

    @Test("issue 23, R-ORG-4: a leftover staff directory is refused, saying the roster moved to roster.json and `supportctl roster set`", arguments: ["people", "offices"])
    func staffMoved(key: String) throws {
        let error = try #require(throws: NotifierConfig.LoadError.self) { try NotifierConfig.parse(Data(#"{"\#(key)": {}}"#.utf8)) }
        #expect(error.key == key)
        #expect(error.description.contains("roster.json") && error.description.contains("supportctl roster set"))
    }

    @Test("A bad file names the key at fault", arguments: [
        (#"{"transport": "pigeon"}"#, "transport"),
        (#"{"retry": {"maxAttempts": 0}}"#, "retry.maxAttempts"),
        (#"{"colour": 1}"#, "colour"),
        (#"{"phoneTemplates": "sla-breached"}"#, "phoneTemplates"),
    ])
    func badKey(json: String, key: String) throws {
        let error = try #require(throws: NotifierConfig.LoadError.self) { try NotifierConfig.parse(Data(json.utf8)) }
        #expect(error.key == key)
        #expect(error.description.hasPrefix("notifier.json: \(key): "))
    }
}

@Suite("Message templates")
struct TemplateCheckTests {
    @Test("A template is checked as at start-up and renders with the sample values")
    func checkTemplate() throws {
        let rendered = try NotifierService.checkTemplate("{{% CONTENT_TYPE: TEXT}}\nSubject: {{incident_id}} breached\n\n{{title}}\n{{#incidents}}- {{incident_id}}\n{{/incidents}}")
        #expect(rendered.subject == "INC-000042 breached")
        #expect(rendered.body.hasPrefix("Scan engine stops on <boot> & \"resume\""), "plain text: nothing escaped")
        #expect(rendered.body.contains("- INC-000001"))
        let noSubject = try #require(throws: Templates.LoadError.self) { try NotifierService.checkTemplate("Hello {{title}}") }
        #expect(noSubject.description.contains("must start with a \"Subject: …\" line"))
        let broken = try #require(throws: Templates.LoadError.self) { try NotifierService.checkTemplate("Subject: x\n\n{{#open}} never closed") }
        #expect(broken.description.contains("is not valid Mustache"))
    }
}


extension Array {
    /// The two elements of a two-element array.
    fileprivate var pair: (Element, Element) { (self[0], self[1]) }
}
