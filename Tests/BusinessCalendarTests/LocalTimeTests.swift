@testable import BusinessCalendar
import Foundation
import Testing

/// Issue 22: people read times in their office's time, with the zone's
/// usual name, and supportctl shows UTC beside it.
@Suite("Local time as an office reads it")
struct LocalTimeTests {
    private func date(_ text: String) throws -> Date {
        try #require(ISO8601DateFormatter().date(from: text))
    }

    private func zone(_ id: String) throws -> TimeZone { try #require(TimeZone(identifier: id)) }

    @Test("Tokyo reads JST; UTC beside it shows only the time on the same day")
    func tokyo() throws {
        let at = try self.date("2026-12-04T07:00:00Z")
        #expect(LocalTime.text(at, try self.zone("Asia/Tokyo")) == "2026-12-04 16:00 JST")
        #expect(LocalTime.withUTC(at, try self.zone("Asia/Tokyo")) == "2026-12-04 16:00 JST (07:00Z)")
    }

    @Test("UTC beside a local time on another day shows its date")
    func otherDay() throws {
        let at = try self.date("2026-12-03T23:00:00Z")
        #expect(LocalTime.withUTC(at, try self.zone("Asia/Tokyo")) == "2026-12-04 08:00 JST (2026-12-03 23:00Z)")
    }

    @Test("New York reads EST in winter and EDT in summer")
    func newYork() throws {
        let newYork = try self.zone("America/New_York")
        #expect(LocalTime.text(try self.date("2026-12-04T15:00:00Z"), newYork) == "2026-12-04 10:00 EST")
        #expect(LocalTime.text(try self.date("2026-07-01T15:00:00Z"), newYork) == "2026-07-01 11:00 EDT")
    }

    @Test("A zone without a lettered name, or unknown to the database, reads as its offset")
    func numericFallback() throws {
        #expect(LocalTime.numeric(9 * 3600) == "+09")
        #expect(LocalTime.numeric(-(3 * 3600 + 1800)) == "-0330")
        #expect(LocalTime.numeric(0) == "UTC")
        let fixed = try #require(TimeZone(secondsFromGMT: 5 * 3600 + 1800))
        #expect(LocalTime.abbreviation(fixed, at: Date(timeIntervalSince1970: 0)).hasSuffix("0530") || LocalTime.abbreviation(fixed, at: Date(timeIntervalSince1970: 0)) == "IST")
    }

    @Test("A malformed zone file gives no names and no crash", arguments: [
        Data(), Data("TZif".utf8), Data("TZif2".utf8 + [UInt8](repeating: 0xFF, count: 60)), Data("not a zone file at all, really not".utf8),
    ])
    func malformed(_ data: Data) {
        #expect(LocalTime.parseTZif(data).isEmpty)
    }

    @Test("An identifier cannot reach outside the zone database")
    func noTraversal() {
        #expect(LocalTime.names("../../etc/passwd").isEmpty)
        #expect(LocalTime.names("/etc/passwd").isEmpty)
    }
}
