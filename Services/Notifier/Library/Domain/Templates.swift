import Foundation
import Mustache

/// The operator's message templates, `templates/<language>/<kind>.mustache`
/// in the configuration directory, rendered with Mustache.
///
/// Customers are written to in their language (R-COM-3): every customer
/// kind exists in every language of ``languages``. Staff mail is English:
/// the staff kinds exist in `en/` only. Start-up refuses a set with a kind
/// missing, a file that is no kind, a language notifier does not write, or
/// templates left in the flat layout of before (issue 22), naming the file.
///
/// A template is a header section, a blank line, and the body; `{{%
/// CONTENT_TYPE: TEXT}}` on top keeps values unescaped (mail is plain text,
/// not HTML). The header section is split from the body before anything
/// is substituted, and each header line is its own small template whose
/// result becomes one header's value through ``MailHeaders`` (issue 21,
/// finding 5): a title with line breaks cannot add a header or end the
/// header section. Templates set `Subject` (first, required) and nothing
/// else; notifier writes the addresses, ids and MIME headers itself.
struct Templates: Sendable {
    /// The languages customers are written in; `en` is also the staff's
    /// and the one a recipient without a known language gets.
    static let languages = ["en", "ja"]
    static let defaultLanguage = "en"

    /// What the customer's contacts receive: in every language, without
    /// rule ids (R-COM-3).
    static let customerKinds = [
        "incident-opened", "status-report", "customer-timeout-warning", "quarterly-report", "escalation-received",
        "article-response", "article-info-request", "article-workaround", "article-reply", "article-resolution",
        "article-closure", "article-reopen", "article-status-report", "article-specialist-progress",
        "healthcheck-findings",
    ]

    /// What staff receive: English only; rule ids welcome.
    static let staffKinds = ["incident-alert", "sla-warning", "sla-breached", "sla-breach-withdrawn", "escalated"]

    /// Every kind notifier sends; start-up fails if one is missing in `en/`.
    static let required = customerKinds + staffKinds

    /// Every template file a configuration directory holds, as
    /// `language/kind` ("ja/article-response").
    static let files: [String] = languages.flatMap { language in
        (language == defaultLanguage ? required : customerKinds).map { "\(language)/\($0)" }
    }

    /// The headers a template may set.
    static let templateHeaders = ["Subject"]

    struct Rendered: Equatable {
        /// Sanitised: one line, no control characters (``MailHeaders/sanitisedText(_:)``).
        var subject: String
        var body: String
    }

    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// One library per language.
    private let libraries: [String: MustacheLibrary]

    /// Loads `directory/<language>/<kind>.mustache` for every language and kind.
    init(directory: URL) throws {
        let manager = FileManager.default
        let entries = (try? manager.contentsOfDirectory(atPath: directory.path)) ?? []
        if let flat = entries.sorted().first(where: { $0.hasSuffix(".mustache") }) {
            throw LoadError(
                description: "template \(directory.appendingPathComponent(flat).path) is in the layout of before: templates now live in one directory per language (\(Self.languages.map { "\($0)/" }.joined(separator: ", "))); move the files into en/ and copy ja/ and the new kinds from deploy/config/templates"
            )
        }
        for entry in entries.sorted() where !Self.languages.contains(entry) {
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: directory.appendingPathComponent(entry).path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw LoadError(description: "templates directory \(directory.appendingPathComponent(entry).path) is not a language notifier writes (\(Self.languages.joined(separator: ", ")))")
            }
        }
        var libraries: [String: MustacheLibrary] = [:]
        for language in Self.languages {
            let folder = directory.appendingPathComponent(language)
            let kinds = language == Self.defaultLanguage ? Self.required : Self.customerKinds
            let present = ((try? manager.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".mustache") }.sorted()
            if let stray = present.first(where: { !kinds.contains(String($0.dropLast(".mustache".count))) }) {
                let why = Self.staffKinds.contains(String(stray.dropLast(".mustache".count))) ? "staff mail is written in English only, from en/" : "it is no message kind"
                throw LoadError(description: "template \(folder.appendingPathComponent(stray).path) is not used: \(why); \(language)/ holds \(kinds.joined(separator: ", "))")
            }
            var library = MustacheLibrary()
            for name in kinds {
                let file = folder.appendingPathComponent("\(name).mustache")
                let text: String
                do { text = try String(contentsOf: file, encoding: .utf8) } catch {
                    throw LoadError(description: "template \(file.path) cannot be read (\(error.localizedDescription)); \(language)/ needs every kind: \(kinds.joined(separator: ", "))")
                }
                try Self.register(text, named: name, file: file.path, in: &library)
            }
            libraries[language] = library
        }
        self.libraries = libraries
    }

    private init(library: MustacheLibrary) {
        self.libraries = [Self.defaultLanguage: library]
    }

    /// The language a recipient's mail is written in: `requested` ("ja",
    /// "ja-JP", "JA") when notifier writes it, else English. Staff kinds
    /// are English whatever is asked.
    static func language(_ requested: String, kind: String? = nil) -> String {
        if let kind, Self.staffKinds.contains(kind) { return Self.defaultLanguage }
        let primary = requested.trimmingCharacters(in: .whitespaces).lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map(String.init) ?? ""
        return Self.languages.contains(primary) ? primary : Self.defaultLanguage
    }

    /// The library name of template `name`'s header `header`.
    private static func headerTemplate(_ name: String, _ header: String) -> String { "\(name)#\(header)" }

    /// Checks one template's text the way start-up does (valid Mustache, a
    /// `Subject:` line first, no other header) and adds its body and its
    /// header lines to `library`.
    private static func register(_ text: String, named name: String, file: String, in library: inout MustacheLibrary) throws {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        // Configuration tags (`{{% CONTENT_TYPE: TEXT}}`) apply to every part.
        var preamble = ""
        while let first = lines.first, first.hasPrefix("{{%") {
            preamble += lines.removeFirst() + "\n"
        }
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        var headers: [(name: String, value: String)] = []
        while let line = lines.first, !line.trimmingCharacters(in: .whitespaces).isEmpty {
            lines.removeFirst()
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += line  // a folded header line
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                if headers.isEmpty { break }
                throw LoadError(description: "template \(file): \"\(line.prefix(60))\" is not a header line; end the headers with an empty line")
            }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        guard let first = headers.first, first.name == "Subject" else {
            throw LoadError(description: "template \(file) must start with a \"Subject: …\" line")
        }
        for header in headers {
            do {
                _ = try MailHeaders.checkedName(header.name)
                guard Self.templateHeaders.contains(header.name), headers.filter({ $0.name == header.name }).count == 1 else {
                    throw MailHeaderError(.notATemplateHeader, "\(header.name) cannot be set by a template; only \(Self.templateHeaders.joined(separator: ", ")), once (notifier writes the others)")
                }
            } catch let error as MailHeaderError {
                throw LoadError(description: "template \(file): \(error.description)")
            }
        }
        do {
            for header in headers { try library.register(preamble + header.value, named: Self.headerTemplate(name, header.name)) }
            try library.register(preamble + lines.joined(separator: "\n"), named: name)
        } catch {
            throw LoadError(description: "template \(file) is not valid Mustache: \(error)")
        }
    }

    /// One template's text, checked as at start-up and rendered with
    /// `values` (the template fuzz harness's entry point, issue 10).
    static func check(_ text: String, values: [String: Any]) throws -> Rendered {
        var library = MustacheLibrary()
        try Self.register(text, named: "checked", file: "(checked text)", in: &library)
        return try Templates(library: library).render("checked", values)
    }

    /// Renders template `name` in `language` (see ``language(_:kind:)``)
    /// with `values` into a subject and a body.
    func render(_ name: String, language: String = Templates.defaultLanguage, _ values: [String: Any]) throws -> Rendered {
        let library = self.libraries[Self.language(language, kind: name)] ?? self.libraries[Self.defaultLanguage]
        guard let library, let text = library.render(values, withTemplate: name),
            let subject = library.render(values, withTemplate: Self.headerTemplate(name, "Subject"))
        else {
            throw LoadError(description: "there is no template \(name)")
        }
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).map(String.init)
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        let sanitised = MailHeaders.sanitisedText(subject)
        return Rendered(subject: sanitised.isEmpty ? name : sanitised, body: lines.joined(separator: "\n"))
    }
}
