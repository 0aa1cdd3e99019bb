import Foundation

/// Every office's business calendar, by office id, as configured in
/// `deploy/config/offices.json` (format in `deploy/config/README.md`).
///
/// Loaded once at start-up by every service that needs business hours;
/// a bad file stops start-up with an error naming the file and key.
public struct OfficeDirectory: Sendable, Equatable {
    /// The configuration file inside the configuration directory.
    public static let fileName = "offices.json"

    /// The languages customer mail is written in (issue 22), as
    /// `offices.json`, certificates and contacts name them.
    public static let languages = ["en", "ja"]
    /// An office's language when `offices.json` gives none.
    public static let defaultLanguage = "en"

    /// Calendars by ``OfficeCalendar/id``.
    public let offices: [String: OfficeCalendar]
    /// The language of each office's customer mail, by office id; an office
    /// not listed writes in ``defaultLanguage``.
    public let languages: [String: String]

    /// A directory of calendars; ids must be unique.
    ///
    /// - Parameter languages: Each office's mail language, by office id
    ///   (``defaultLanguage`` for an office left out).
    public init(_ calendars: [OfficeCalendar], languages: [String: String] = [:]) {
        self.offices = Dictionary(calendars.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in
            preconditionFailure("two offices have the id \(first.id)")
        })
        self.languages = languages
    }

    init(_ configured: [ConfigLoader.ConfiguredOffice]) {
        self.init(
            configured.map(\.calendar),
            languages: Dictionary(configured.map { ($0.calendar.id, $0.language) }, uniquingKeysWith: { first, _ in first })
        )
    }

    /// The calendar of office `id`, if configured.
    public subscript(_ id: String) -> OfficeCalendar? { self.offices[id] }

    /// The language office `id` writes to its customers in: `offices.json`'s
    /// `language`, else ``defaultLanguage`` (also for an unknown office).
    public func language(of id: String) -> String {
        self.languages[id] ?? Self.defaultLanguage
    }

    /// The configured office ids, sorted.
    public var ids: [String] { self.offices.keys.sorted() }

    /// Reads `offices.json` and the holiday files it references from
    /// `configDirectory`, validating everything.
    ///
    /// - Throws: ``BusinessCalendarError`` naming the file and key at fault.
    public static func load(configDirectory: URL) throws -> OfficeDirectory {
        var loader = ConfigLoader(directory: configDirectory)
        let root = try loader.read(OfficeDirectory.fileName)
        return OfficeDirectory(try loader.offices(from: root))
    }

    /// Validates the bytes of an `offices.json` as ``load(configDirectory:)``
    /// does, without a directory: `file` gives the bytes of each holiday
    /// file referenced, by its path relative to the configuration
    /// directory, or `nil` when there is no such file. For the fuzz
    /// harnesses (issue 10) and anything else that holds the file in memory.
    ///
    /// - Throws: ``BusinessCalendarError`` naming the file and key at fault.
    public static func parse(_ data: Data, file: @escaping (String) -> Data?) throws -> OfficeDirectory {
        var loader = ConfigLoader { path in
            guard let contents = file(path) else {
                throw BusinessCalendarError(.unreadableFile, file: path, key: "", "does not exist")
            }
            return contents
        }
        let root = try ConfigNode.parse(data, file: OfficeDirectory.fileName)
        return OfficeDirectory(try loader.offices(from: root))
    }
}

/// Reads files relative to the configuration directory, each holiday file
/// once however many offices share it.
struct ConfigLoader {
    /// The bytes of a file by its path relative to the configuration
    /// directory; throws an ``BusinessCalendarError/Code/unreadableFile``
    /// error when it cannot.
    private let contents: (String) throws -> Data
    private var holidayFiles: [String: HolidayFile] = [:]

    init(contents: @escaping (String) throws -> Data) {
        self.contents = contents
    }

    init(directory: URL) {
        self.init { relativePath in
            let url = directory.appendingPathComponent(relativePath)
            do {
                return try Data(contentsOf: url)
            } catch {
                throw BusinessCalendarError(
                    .unreadableFile, file: relativePath, key: "",
                    "cannot be read at \(url.path) (\(error.localizedDescription))")
            }
        }
    }

    func read(_ relativePath: String) throws -> ConfigNode {
        try ConfigNode.parse(try self.contents(relativePath), file: relativePath)
    }

    /// The holiday file named at `reference` (an entry of `holidayFiles`).
    mutating func holidayFile(at reference: ConfigNode) throws -> HolidayFile {
        let path = try reference.string()
        guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            throw reference.error(.invalidValue, "\"\(path)\" must be a path inside the configuration directory")
        }
        if let known = self.holidayFiles[path] { return known }
        let node: ConfigNode
        do {
            node = try self.read(path)
        } catch let error as BusinessCalendarError where error.code == .unreadableFile {
            throw reference.error(.invalidValue, "\(error.file) \(error.message)")
        }
        let file = try HolidayFile(node)
        self.holidayFiles[path] = file
        return file
    }
}

/// One holiday data file, such as `holidays/jp.json`.
struct HolidayFile {
    var source: String
    var knownThrough: LocalDate?
    var holidays: [Holiday]

    /// Keys: `source` (required), `country`, `coverage` (`from`, `through`),
    /// `holidays` (required; entries as in `offices.json`).
    init(_ node: ConfigNode) throws {
        let object = try node.object(allowed: ["source", "country", "coverage", "holidays"])
        self.source = try object.required("source").string()
        _ = try object.optional("country")?.string()
        if let coverage = try object.optional("coverage")?.object(allowed: ["from", "through"]) {
            let from = try coverage.required("from").date()
            let through = try coverage.required("through")
            self.knownThrough = try through.date()
            if self.knownThrough! < from { throw through.error(.invalidValue, "is before coverage.from \(from)") }
        }
        var seen: [LocalDate: String] = [:]
        self.holidays = try object.required("holidays").array().map { entry in
            let holiday = try ConfigLoader.holiday(entry)
            if case .date(let date) = holiday.rule {
                if let earlier = seen[date] {
                    throw entry.error(.invalidValue, "\(date) is listed twice (also at \(earlier))")
                }
                seen[date] = entry.key
            }
            return holiday
        }
    }
}
