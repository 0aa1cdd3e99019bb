import BusinessCalendar
import Foundation
import Testing

/// The SupportDesk acceptance cases for the Tokyo office, on the calendar
/// shipped in `deploy/config` (Mon–Fri 10:00–18:00 JST, Japanese national
/// holidays).
@Suite("Tokyo acceptance (R-SLA-2, R-SLA-3, R-ORG-5)")
struct TokyoAcceptanceTests {
    struct Deadline: CustomTestStringConvertible, Sendable {
        let severity: Int
        let start: String
        let due: String
        let why: String
        var testDescription: String { "severity \(self.severity) from \(self.start): \(self.why)" }
    }

    static let deadlines: [Deadline] = [
        Deadline(
            severity: 3, start: "2026-12-04T17:00:00+09:00", due: "2026-12-07T15:00:00+09:00",
            why: "1 h on Friday, the weekend skipped, 5 h on Monday"),
        Deadline(
            severity: 4, start: "2026-12-04T17:00:00+09:00", due: "2026-12-07T17:00:00+09:00",
            why: "1 h on Friday, 7 h on Monday"),
        Deadline(
            severity: 3, start: "2027-01-08T16:00:00+09:00", due: "2027-01-12T14:00:00+09:00",
            why: "the weekend and Coming-of-Age Day (Monday 2027-01-11) skipped"),
        Deadline(
            severity: 3, start: "2026-12-04T18:00:00+09:00", due: "2026-12-07T16:00:00+09:00",
            why: "a start exactly at closing time counts from the next opening"),
        Deadline(
            severity: 4, start: "2026-12-07T10:00:00+09:00", due: "2026-12-07T18:00:00+09:00",
            why: "10:00 + 8 h ends at 18:00 the same day, not at the next opening"),
        Deadline(
            severity: 4, start: "2026-12-31T14:00:00+09:00", due: "2027-01-04T14:00:00+09:00",
            why: "across the year boundary: New Year's Day and the weekend skipped"),
        Deadline(
            severity: 4, start: "2026-09-18T17:00:00+09:00", due: "2026-09-24T17:00:00+09:00",
            why: "Silver Week: 9/21 Respect-for-the-Aged, 9/22 citizens' holiday, 9/23 equinox"),
        Deadline(
            severity: 4, start: "2026-05-01T17:00:00+09:00", due: "2026-05-07T17:00:00+09:00",
            why: "Golden Week ending with the 5/6 substitute holiday"),
        Deadline(
            severity: 3, start: "2026-12-05T03:00:00+09:00", due: "2026-12-07T16:00:00+09:00",
            why: "from a Saturday night the clock starts at Monday's opening"),
        Deadline(
            severity: 1, start: "2026-12-05T03:00:00+09:00", due: "2026-12-05T03:30:00+09:00",
            why: "severity 1 runs on the 24×7 wall clock"),
        Deadline(
            severity: 2, start: "2026-12-04T17:00:00+09:00", due: "2026-12-04T21:00:00+09:00",
            why: "severity 2 runs on the 24×7 wall clock"),
    ]

    @Test("R-SLA-2: each severity's response is due at the exact instant", arguments: deadlines)
    func responseDue(_ deadline: Deadline) throws {
        let tokyo = try Fixture.tokyo()
        let target = try #require(ResponseTimeTarget(severity: deadline.severity))
        #expect(target.due(from: Fixture.instant(deadline.start), office: tokyo) == Fixture.instant(deadline.due))
    }

    @Test("R-SLA-2: the business time from start to due is exactly the response time", arguments: deadlines)
    func businessTimeUntilDue(_ deadline: Deadline) throws {
        let tokyo = try Fixture.tokyo()
        let target = try #require(ResponseTimeTarget(severity: deadline.severity))
        let clock = target.clock(for: tokyo)
        let elapsed = clock.businessDuration(from: Fixture.instant(deadline.start), to: Fixture.instant(deadline.due))
        #expect(elapsed == target.duration)
    }

    @Test(
        "R-SLA-3: the next business-hours opening after a moment outside hours",
        arguments: [
            ("2026-12-05T03:00:00+09:00", "2026-12-07T10:00:00+09:00"),  // Saturday night → Monday
            ("2026-12-04T18:00:00+09:00", "2026-12-07T10:00:00+09:00"),  // Friday at closing time
            ("2026-12-07T09:59:59+09:00", "2026-12-07T10:00:00+09:00"),
            ("2026-12-07T10:00:00+09:00", "2026-12-07T10:00:00+09:00"),  // open: itself
            ("2026-12-04T17:59:59+09:00", "2026-12-04T17:59:59+09:00"),
            ("2027-01-11T09:00:00+09:00", "2027-01-12T10:00:00+09:00"),  // Coming-of-Age Day
            ("2026-12-31T18:00:00+09:00", "2027-01-04T10:00:00+09:00"),  // New Year's Day, weekend
        ])
    func nextOpening(_ from: String, _ opening: String) throws {
        #expect(try Fixture.tokyo().nextOpening(atOrAfter: Fixture.instant(from)) == Fixture.instant(opening))
    }

    @Test("R-ORG-4: the TAM is present from 10:00:00 up to but not including 18:00:00 JST")
    func openingHoursAreHalfOpen() throws {
        let tokyo = try Fixture.tokyo()
        #expect(!tokyo.isOpen(at: Fixture.instant("2026-12-07T09:59:59+09:00")))
        #expect(tokyo.isOpen(at: Fixture.instant("2026-12-07T10:00:00+09:00")))
        #expect(tokyo.isOpen(at: Fixture.instant("2026-12-07T17:59:59+09:00")))
        #expect(!tokyo.isOpen(at: Fixture.instant("2026-12-07T18:00:00+09:00")))
        #expect(!tokyo.isOpen(at: Fixture.instant("2026-12-05T12:00:00+09:00")), "Saturday")
        #expect(!tokyo.isOpen(at: Fixture.instant("2026-09-22T12:00:00+09:00")), "citizens' holiday")
    }

    @Test("R-SLA-2: explicit year-end closures (12/29–1/3) are skipped like holidays")
    func yearEndClosures() throws {
        let shipped = try Fixture.tokyo()
        let closures = ["2026-12-29", "2026-12-30", "2026-12-31", "2027-01-02", "2027-01-03"]
            .map { Closure(Fixture.date($0), reason: "year-end") }
        let tokyo = OfficeCalendar(
            id: "tokyo-year-end", timeZone: shipped.timeZone, hours: shipped.hours,
            holidays: shipped.holidays, closures: closures)
        let due = tokyo.add(businessDuration: 6 * 3600, to: Fixture.instant("2026-12-28T15:00:00+09:00"))
        #expect(due == Fixture.instant("2027-01-04T13:00:00+09:00"))
    }

    @Test("R-HC-2: a health check takes a business day; holidays and weekends are not ones")
    func businessDays() throws {
        let tokyo = try Fixture.tokyo()
        #expect(tokyo.isBusinessDay(Fixture.date("2026-12-07")))
        #expect(!tokyo.isBusinessDay(Fixture.date("2026-12-05")))
        #expect(!tokyo.isBusinessDay(Fixture.date("2027-01-11")))
        #expect(tokyo.nextBusinessDay(onOrAfter: Fixture.date("2026-09-19")) == Fixture.date("2026-09-24"))
        #expect(
            tokyo.openIntervals(on: Fixture.date("2026-12-07"))
                == [DateInterval(start: Fixture.instant("2026-12-07T01:00:00Z"), end: Fixture.instant("2026-12-07T09:00:00Z"))])
        #expect(tokyo.localDate(at: Fixture.instant("2026-12-06T15:00:00Z")) == Fixture.date("2026-12-07"))
        #expect(tokyo.localDate(at: Date(timeIntervalSince1970: 9.2e18)) == nil, "out of range is nil, not a trap (issue 21)")
    }
}
