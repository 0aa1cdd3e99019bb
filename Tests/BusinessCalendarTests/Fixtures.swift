import BusinessCalendar
import Foundation
import Testing

/// Builders shared by the suites. Expected instants are written as ISO 8601
/// text with an explicit UTC offset, worked out by hand from the zones'
/// known offsets, so no expectation is computed by the code under test.
enum Fixture {
    /// An instant from ISO 8601 text with an offset: `2026-12-04T17:00:00+09:00`.
    static func instant(_ text: String) -> Date {
        guard let date = try? Date(text, strategy: .iso8601) else {
            preconditionFailure("bad ISO 8601 instant in a test: \(text)")
        }
        return date
    }

    static func date(_ text: String) -> LocalDate {
        guard let date = LocalDate(text) else { preconditionFailure("bad date in a test: \(text)") }
        return date
    }

    static func zone(_ identifier: String) -> TimeZone {
        guard let zone = TimeZone(identifier: identifier) else { preconditionFailure("unknown zone \(identifier)") }
        return zone
    }

    static func interval(_ text: String) -> OpenInterval {
        guard let interval = OpenInterval(text) else { preconditionFailure("bad interval in a test: \(text)") }
        return interval
    }

    /// An office open 00:00-24:00 every day: every wall-clock second of a
    /// local day counts, so DST changes show up as 23- or 25-hour days.
    static func allDay(_ zone: String) -> OfficeCalendar {
        OfficeCalendar(id: "all-day", timeZone: self.zone(zone), hours: .allDay)
    }

    /// An office open on the given local hours every day.
    static func everyDay(_ zone: String, _ intervals: String...) -> OfficeCalendar {
        OfficeCalendar(
            id: "every-day", timeZone: self.zone(zone),
            hours: WeeklyHours(intervals.map(interval), on: Weekday.allCases))
    }

    /// The repository root: `$SUPPORTDESK_ROOT`, else the first directory
    /// above this file (symlinks resolved, so a scratch package that links
    /// to the sources works too) holding `deploy/config/offices.json`.
    static func repositoryRoot() throws -> URL {
        if let root = ProcessInfo.processInfo.environment["SUPPORTDESK_ROOT"], !root.isEmpty {
            return URL(fileURLWithPath: root)
        }
        var directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("deploy/config/offices.json").path) {
                return directory
            }
            directory.deleteLastPathComponent()
        }
        throw FixtureError(message: "cannot find deploy/config/offices.json above \(#filePath); set SUPPORTDESK_ROOT")
    }

    /// The offices shipped in `deploy/config`.
    static func shippedOffices() throws -> OfficeDirectory {
        try OfficeDirectory.load(configDirectory: repositoryRoot().appendingPathComponent("deploy/config"))
    }

    static func tokyo() throws -> OfficeCalendar {
        try #require(shippedOffices()["tokyo"])
    }

    /// A fresh directory holding `files` (relative path → contents); the
    /// caller removes it when done.
    static func configDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("business-calendar-\(UUID().uuidString)")
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { self.message }
}

/// SplitMix64: a tiny seeded generator, so a failing property case can be
/// reproduced from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
