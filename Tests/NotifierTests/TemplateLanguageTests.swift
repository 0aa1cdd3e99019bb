import Foundation
import Testing
import TestSupport

@testable import Notifier

/// R-COM-3: customers are written to in their language, in plain words
/// without rule ids; the template sets load strictly (issue 22).
@Suite("Template languages (R-COM-3)")
struct TemplateLanguageTests {
    static let shipped = URL(fileURLWithPath: InProcessService.configDirectory).appendingPathComponent("templates")

    static var customerFiles: [String] { Templates.files.filter { Templates.customerKinds.contains(MailHeaderTests.split($0).kind) } }

    static func values() -> [String: Any] {
        var values = MailHeaderTests.values("mail gateway down")
        values["incident"] = "INC-000123"
        values["certificate"] = "C-1"
        values["due_local"] = "2026-12-07 15:00 JST"
        values["markdown"] = "| INC-000123 | mail gateway down |"
        return values
    }

    @Test("R-COM-3: no customer template, in any language, shows a rule id, whatever section renders", arguments: Self.customerFiles)
    func noRuleIDs(file: String) throws {
        let (language, kind) = MailHeaderTests.split(file)
        let rendered = try Templates(directory: Self.shipped).render(kind, language: language, Self.values())
        #expect(rendered.subject.firstMatch(of: /R-[A-Z]+-\d/) == nil, "\(file): \(rendered.subject)")
        #expect(rendered.body.firstMatch(of: /R-[A-Z]+-\d/) == nil, "\(file): \(rendered.body)")
        #expect(rendered.subject.hasPrefix(["quarterly-report", "healthcheck-findings"].contains(kind) ? "[C-1] " : "[INC-000123] "), "one subject format: the tag first")
    }

    @Test("R-COM-3: each customer kind reads Japanese in ja/ and English in en/", arguments: Templates.customerKinds)
    func japaneseAndEnglish(kind: String) throws {
        let templates = try Templates(directory: Self.shipped)
        let japanese = try templates.render(kind, language: "ja", Self.values())
        let english = try templates.render(kind, language: "en", Self.values())
        #expect(japanese.body.contains("様"), "addressed politely: \(japanese.body)")
        #expect(japanese.body.contains("SupportDesk サポートセンター"))
        #expect(japanese.subject.unicodeScalars.contains { (0x3040...0x30FF).contains($0.value) || (0x4E00...0x9FFF).contains($0.value) })
        #expect(!english.body.unicodeScalars.contains { (0x3040...0x30FF).contains($0.value) })
    }

    @Test("Staff mail stays English whatever language is asked for", arguments: Templates.staffKinds)
    func staffInEnglish(kind: String) throws {
        let templates = try Templates(directory: Self.shipped)
        #expect(try templates.render(kind, language: "ja", Self.values()) == templates.render(kind, language: "en", Self.values()))
        #expect(Templates.language("ja", kind: kind) == "en")
    }

    @Test("A recipient's language: ja, ja-JP and JA read Japanese; empty or unknown read English")
    func languageChoice() {
        #expect(Templates.language("ja") == "ja")
        #expect(Templates.language("ja-JP") == "ja")
        #expect(Templates.language(" JA ") == "ja")
        #expect(Templates.language("") == "en")
        #expect(Templates.language("fr") == "en")
    }

    /// A copy of the shipped templates, changed by `change`, loaded as at start-up.
    static func load(_ change: (URL) throws -> Void) throws -> Templates.LoadError {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let copy = URL(fileURLWithPath: directory.file("templates"))
        try FileManager.default.copyItem(at: Self.shipped, to: copy)
        try change(copy)
        return try #require(throws: Templates.LoadError.self) { try Templates(directory: copy) }
    }

    @Test("Start-up refuses the flat layout of before and says where the files go")
    func flatLayout() throws {
        let error = try Self.load { copy in
            try FileManager.default.copyItem(at: copy.appendingPathComponent("en/incident-opened.mustache"), to: copy.appendingPathComponent("incident-opened.mustache"))
        }
        #expect(error.description.contains("incident-opened.mustache is in the layout of before"))
        #expect(error.description.contains("move the files into en/"))
    }

    @Test("Start-up refuses a missing Japanese kind, a staff template in ja/, and a language notifier does not write")
    func strictSets() throws {
        let missing = try Self.load { try FileManager.default.removeItem(at: $0.appendingPathComponent("ja/article-closure.mustache")) }
        #expect(missing.description.contains("ja/article-closure.mustache cannot be read"))
        let staff = try Self.load {
            try FileManager.default.copyItem(at: $0.appendingPathComponent("en/sla-breached.mustache"), to: $0.appendingPathComponent("ja/sla-breached.mustache"))
        }
        #expect(staff.description.contains("staff mail is written in English only"))
        let typo = try Self.load { try Data("Subject: x\n\ny".utf8).write(to: $0.appendingPathComponent("ja/article-responce.mustache")) }
        #expect(typo.description.contains("article-responce.mustache is not used: it is no message kind"))
        let german = try Self.load { try FileManager.default.createDirectory(at: $0.appendingPathComponent("de"), withIntermediateDirectories: false) }
        #expect(german.description.contains("is not a language notifier writes (en, ja)"))
    }
}
