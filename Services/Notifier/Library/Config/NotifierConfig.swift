import BusinessCalendar
import Foundation

/// What an operator keeps about notifier in `deploy/config/notifier.json`:
/// the transport, retry limits, the sender, the priority line and which
/// kinds also become a call task. Staff are not here: every staff recipient
/// comes from escalation's roster (roster.json, `supportctl roster set`),
/// which notifier receives as `RosterChanged` events (issue 23, R-ORG-4).
///
/// Loaded once at start; a bad file stops start-up with the key at fault,
/// e.g. `notifier.json: retry.maxAttempts: must be an integer in 1...100`.
struct NotifierConfig: Sendable, Equatable {
    static let fileName = "notifier.json"

    enum TransportKind: String, Sendable, Equatable {
        case maildir, sendmail
    }

    var transport: TransportKind = .maildir
    var sendmailCommand: [String] = ["/usr/sbin/sendmail", "-t", "-i"]
    var from = "SupportDesk <support@supportdesk.invalid>"
    /// The number customers are told to call (R-SLA-3).
    var priorityLine = ""
    var maxAttempts = 5
    var initialBackoff: TimeInterval = 30
    var maxBackoff: TimeInterval = 3600
    /// Templates whose staff messages also become a call task (R-REP-2 allows phone).
    var phoneTemplates: Set<String> = []

    struct LoadError: Error, CustomStringConvertible, Equatable {
        let key: String
        let message: String
        var description: String { "\(NotifierConfig.fileName): \(self.key.isEmpty ? "" : "\(self.key): ")\(self.message)" }
    }

    /// Reads `notifier.json` from `configDirectory`.
    static func load(configDirectory: URL) throws -> NotifierConfig {
        let url = configDirectory.appendingPathComponent(Self.fileName)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LoadError(key: "", message: "cannot read \(url.path): \(error.localizedDescription)")
        }
        return try Self.parse(data)
    }

    static func parse(_ data: Data) throws -> NotifierConfig {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LoadError(key: "", message: "not a JSON object")
        }
        var reader = Reader()
        return try reader.config(root)
    }
}

/// Walks the JSON, remembering the key path for error messages.
private struct Reader {
    typealias LoadError = NotifierConfig.LoadError

    func object(_ value: Any?, _ key: String, allowed: Set<String>) throws -> [String: Any] {
        guard let object = value as? [String: Any] else { throw LoadError(key: key, message: "must be an object") }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw LoadError(key: key.isEmpty ? unknown : "\(key).\(unknown)", message: "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        return object
    }

    func string(_ value: Any?, _ key: String) throws -> String {
        guard let text = value as? String, !text.isEmpty else { throw LoadError(key: key, message: "must be a non-empty string") }
        return text
    }

    func int(_ value: Any?, _ key: String, in range: ClosedRange<Int>) throws -> Int {
        guard let number = value as? NSNumber, let int = Int(exactly: number.doubleValue), range.contains(int)
        else { throw LoadError(key: key, message: "must be an integer in \(range.lowerBound)...\(range.upperBound)") }
        return int
    }

    func strings(_ value: Any?, _ key: String) throws -> [String] {
        guard let array = value as? [Any] else { throw LoadError(key: key, message: "must be an array of strings") }
        return try array.enumerated().map { try self.string($1, "\(key)[\($0)]") }
    }

    mutating func config(_ root: [String: Any]) throws -> NotifierConfig {
        // Issue 23: the staff directory moved to escalation's roster; a
        // leftover copy here would be a second, silently ignored truth.
        for moved in ["people", "offices"] where root[moved] != nil {
            throw LoadError(
                key: moved,
                message: "staff moved to escalation's roster: put TAMs, support leads, account managers and duty managers in roster.json "
                    + "(or `supportctl roster set`) and remove \"\(moved)\" from notifier.json"
            )
        }
        let root = try self.object(
            root, "",
            allowed: ["formatVersion", "transport", "sendmailCommand", "from", "priorityLine", "retry", "phoneTemplates"]
        )
        var config = NotifierConfig()
        if let version = root["formatVersion"] { _ = try self.int(version, "formatVersion", in: 1...1) }
        if let transport = root["transport"] {
            let text = try self.string(transport, "transport")
            guard let kind = NotifierConfig.TransportKind(rawValue: text) else {
                throw LoadError(key: "transport", message: "\"\(text)\" is not a transport; use maildir or sendmail")
            }
            config.transport = kind
        }
        if let command = root["sendmailCommand"] {
            config.sendmailCommand = try self.strings(command, "sendmailCommand")
            guard !config.sendmailCommand.isEmpty else { throw LoadError(key: "sendmailCommand", message: "needs at least the program's path") }
        }
        if let from = root["from"] {
            config.from = try self.string(from, "from")
            do { _ = try MailAddress.parse(config.from) } catch let error as MailHeaderError {
                throw LoadError(key: "from", message: error.description)
            }
        }
        if let line = root["priorityLine"] { config.priorityLine = try self.string(line, "priorityLine") }
        if let retry = root["retry"] {
            let retry = try self.object(retry, "retry", allowed: ["maxAttempts", "initialBackoffSeconds", "maxBackoffSeconds"])
            if let value = retry["maxAttempts"] { config.maxAttempts = try self.int(value, "retry.maxAttempts", in: 1...100) }
            if let value = retry["initialBackoffSeconds"] { config.initialBackoff = TimeInterval(try self.int(value, "retry.initialBackoffSeconds", in: 1...86400)) }
            if let value = retry["maxBackoffSeconds"] { config.maxBackoff = TimeInterval(try self.int(value, "retry.maxBackoffSeconds", in: 1...604800)) }
        }
        if let templates = root["phoneTemplates"] { config.phoneTemplates = Set(try self.strings(templates, "phoneTemplates")) }
        return config
    }
}

extension NotifierService {
    /// Validates the bytes of a `notifier.json` exactly as start-up does:
    /// returns when they would load, throws the key at fault otherwise. The
    /// entry point of the configuration fuzz harness (issue 10).
    public static func validateConfig(_ data: Data) throws {
        _ = try NotifierConfig.parse(data)
    }

    /// Checks a message template's text as start-up does and renders it with
    /// values of every kind a message carries (text, numbers, a list);
    /// returns the subject and body. The entry point of the configuration
    /// fuzz harness for templates.
    public static func checkTemplate(_ text: String) throws -> (subject: String, body: String) {
        let values: [String: Any] = [
            "incident_id": "INC-000042", "title": "Scan engine stops on <boot> & \"resume\"", "customer": "Example KK",
            "severity": 1, "level": 2, "level_name": "support lead", "remaining": "15 minutes",
            "due_local": "2026-12-04 10:30 JST", "incidents": [["incident_id": "INC-000001", "severity": 2]],
            "text": "Please send the scan log.\nThank you.", "has_text": true, "at_local": "2026-12-04 16:00 JST",
            "has_attachments": true, "attachments": [["name": "scan.log", "size": "2.4 MB"]], "closure_out_of_scope": true, "oos_misuse": true,
            "asked": ["text": "Which version?", "at_local": "2026-12-01 11:00 JST"],
        ]
        let rendered = try Templates.check(text, values: values)
        return (rendered.subject, rendered.body)
    }
}
