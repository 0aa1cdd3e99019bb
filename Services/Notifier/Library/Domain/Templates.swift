import Foundation
import Mustache

/// The operator's message templates, `templates/<kind>.mustache` in the
/// configuration directory, rendered with Mustache.
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
    /// The kinds notifier sends; start-up fails if one is missing.
    static let required = [
        "incident-opened", "sla-warning", "sla-breached", "sla-breach-withdrawn", "escalated", "status-report",
        "customer-timeout-warning", "customer-timeout-closed", "quarterly-report",
    ]

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

    private let library: MustacheLibrary

    /// Loads every `*.mustache` file in `directory`.
    init(directory: URL) throws {
        var library = MustacheLibrary()
        for name in Self.required {
            let file = directory.appendingPathComponent("\(name).mustache")
            let text: String
            do { text = try String(contentsOf: file, encoding: .utf8) } catch {
                throw LoadError(description: "template \(file.path) cannot be read (\(error.localizedDescription)); every kind needs one: \(Self.required.joined(separator: ", "))")
            }
            try Self.register(text, named: name, file: file.path, in: &library)
        }
        self.library = library
    }

    private init(library: MustacheLibrary) {
        self.library = library
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

    /// Renders template `name` with `values` into a subject and a body.
    func render(_ name: String, _ values: [String: Any]) throws -> Rendered {
        guard let text = self.library.render(values, withTemplate: name),
            let subject = self.library.render(values, withTemplate: Self.headerTemplate(name, "Subject"))
        else {
            throw LoadError(description: "there is no template \(name)")
        }
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).map(String.init)
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        let sanitised = MailHeaders.sanitisedText(subject)
        return Rendered(subject: sanitised.isEmpty ? name : sanitised, body: lines.joined(separator: "\n"))
    }
}
