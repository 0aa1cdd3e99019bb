import Foundation
import Mustache

/// The operator's message templates, `templates/<kind>.mustache` in the
/// configuration directory, rendered with Mustache.
///
/// A template's first line is `Subject: …`, then a blank line, then the
/// body; `{{% CONTENT_TYPE: TEXT}}` on top keeps values unescaped (mail is
/// plain text, not HTML).
struct Templates: Sendable {
    /// The kinds notifier sends; start-up fails if one is missing.
    static let required = [
        "incident-opened", "sla-warning", "sla-breached", "sla-breach-withdrawn", "escalated", "status-report",
        "customer-timeout-warning", "customer-timeout-closed", "quarterly-report",
    ]

    struct Rendered: Equatable {
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

    /// Checks one template's text the way start-up does (valid Mustache, a
    /// `Subject:` line first) and adds it to `library`.
    private static func register(_ text: String, named name: String, file: String, in library: inout MustacheLibrary) throws {
        do { try library.register(text, named: name) } catch {
            throw LoadError(description: "template \(file) is not valid Mustache: \(error)")
        }
        guard let first = text.split(separator: "\n").first(where: { !$0.hasPrefix("{{%") }), first.hasPrefix("Subject:") else {
            throw LoadError(description: "template \(file) must start with a \"Subject: …\" line")
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
        guard let text = self.library.render(values, withTemplate: name) else {
            throw LoadError(description: "there is no template \(name)")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        let subject = lines.isEmpty ? name : String(lines.removeFirst().dropFirst("Subject:".count)).trimmingCharacters(in: .whitespaces)
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        return Rendered(subject: subject, body: lines.joined(separator: "\n"))
    }
}
