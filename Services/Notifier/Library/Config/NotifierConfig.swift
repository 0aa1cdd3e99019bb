import BusinessCalendar
import Foundation

/// What an operator keeps about notifier in `deploy/config/notifier.json`:
/// the transport, retry limits, the sender, and a small staff directory
/// (TAMs, support leads, account managers and each office's duty-manager
/// rota, R-ORG-4, R-ESC-1).
///
/// Loaded once at start; a bad file stops start-up with the key at fault,
/// e.g. `notifier.json: offices.tokyo.dutyRota[1].days[0]: "sunnday" is not a weekday`.
struct NotifierConfig: Sendable, Equatable {
    static let fileName = "notifier.json"

    enum TransportKind: String, Sendable, Equatable {
        case maildir, sendmail
    }

    struct Person: Sendable, Equatable {
        var id: String
        var name: String
        var email: String
        var phone: String
    }

    /// One weekly duty shift: `person` is on duty on `days` during `interval`
    /// in the office's time zone.
    struct Shift: Sendable, Equatable {
        var person: String
        var days: Set<Weekday>
        var interval: OpenInterval
    }

    struct Office: Sendable, Equatable {
        var supportLead: String
        var accountManager: String
        var dutyRota: [Shift]
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
    var people: [String: Person] = [:]
    var offices: [String: Office] = [:]

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

    /// The person on duty at `instant` for `office`.
    func dutyManager(office: String, at instant: Date, calendar: OfficeCalendar) -> Person? {
        guard let rota = self.offices[office]?.dutyRota else { return nil }
        guard let date = calendar.localDate(at: instant) else { return nil }
        var local = Calendar(identifier: .gregorian)
        local.timeZone = calendar.timeZone
        let parts = local.dateComponents([.hour, .minute], from: instant)
        let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        let shift = rota.first { $0.days.contains(date.weekday) && $0.interval.startMinute <= minute && minute < $0.interval.endMinute }
        return shift.flatMap { self.people[$0.person] }
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
        let root = try self.object(
            root, "",
            allowed: ["formatVersion", "transport", "sendmailCommand", "from", "priorityLine", "retry", "phoneTemplates", "people", "offices"]
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
        if let people = root["people"] {
            let people = try self.object(people, "people", allowed: Set((people as? [String: Any])?.keys.map { $0 } ?? []))
            for (id, value) in people {
                let person = try self.object(value, "people.\(id)", allowed: ["name", "email", "phone"])
                config.people[id] = NotifierConfig.Person(
                    id: id, name: try self.string(person["name"], "people.\(id).name"), email: try self.string(person["email"], "people.\(id).email"),
                    phone: person["phone"] == nil ? "" : try self.string(person["phone"], "people.\(id).phone")
                )
            }
        }
        if let offices = root["offices"] {
            let offices = try self.object(offices, "offices", allowed: Set((offices as? [String: Any])?.keys.map { $0 } ?? []))
            for (id, value) in offices {
                config.offices[id] = try self.office(value, "offices.\(id)", people: config.people)
            }
        }
        return config
    }

    func person(_ value: Any?, _ key: String, people: [String: NotifierConfig.Person]) throws -> String {
        let id = try self.string(value, key)
        guard people[id] != nil else { throw LoadError(key: key, message: "\"\(id)\" is not in people") }
        return id
    }

    func office(_ value: Any?, _ key: String, people: [String: NotifierConfig.Person]) throws -> NotifierConfig.Office {
        let office = try self.object(value, key, allowed: ["supportLead", "accountManager", "dutyRota"])
        guard let rota = office["dutyRota"] as? [Any], !rota.isEmpty else {
            throw LoadError(key: "\(key).dutyRota", message: "must be a non-empty array of shifts (R-ORG-4: someone is on duty at every hour)")
        }
        var shifts: [NotifierConfig.Shift] = []
        for (index, entry) in rota.enumerated() {
            let shiftKey = "\(key).dutyRota[\(index)]"
            let shift = try self.object(entry, shiftKey, allowed: ["person", "days", "hours"])
            let days = try self.strings(shift["days"], "\(shiftKey).days").enumerated().map { offset, day in
                guard let weekday = Weekday(rawValue: day) else {
                    throw LoadError(key: "\(shiftKey).days[\(offset)]", message: "\"\(day)\" is not a weekday (monday … sunday)")
                }
                return weekday
            }
            let hours = try self.string(shift["hours"], "\(shiftKey).hours")
            guard let interval = OpenInterval(hours) else {
                throw LoadError(key: "\(shiftKey).hours", message: "\"\(hours)\" is not HH:MM-HH:MM")
            }
            shifts.append(.init(person: try self.person(shift["person"], "\(shiftKey).person", people: people), days: Set(days), interval: interval))
        }
        // R-ORG-4: requests go to the duty manager whenever the TAM is absent, so
        // the rota must leave no minute of the week uncovered.
        for day in Weekday.allCases {
            let covered = shifts.filter { $0.days.contains(day) }.map(\.interval).sorted { $0.startMinute < $1.startMinute }
            var reached = 0
            for interval in covered where interval.startMinute <= reached { reached = max(reached, interval.endMinute) }
            if reached < 1440 {
                throw LoadError(
                    key: "\(key).dutyRota",
                    message: "nobody is on duty on \(day) from \(String(format: "%02d:%02d", reached / 60, reached % 60)) (R-ORG-4 needs a duty manager at every hour)"
                )
            }
        }
        return NotifierConfig.Office(
            supportLead: try self.person(office["supportLead"], "\(key).supportLead", people: people),
            accountManager: try self.person(office["accountManager"], "\(key).accountManager", people: people),
            dutyRota: shifts
        )
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
