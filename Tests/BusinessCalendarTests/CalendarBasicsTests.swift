import BusinessCalendar
import Foundation
import Testing

@Suite("Calendar building blocks")
struct CalendarBasicsTests {
    @Test(
        "LocalDate parses exactly YYYY-MM-DD and only real days",
        arguments: [
            ("2026-12-04", true), ("2028-02-29", true), ("2026-02-29", false), ("2100-02-29", false),
            ("2000-02-29", true), ("2026-1-5", false), ("2026-13-01", false), ("0000-01-01", false),
            ("2026-12-04T00:00", false), ("２０２６-01-01", false), ("", false),
        ])
    func parseDates(_ text: String, _ valid: Bool) {
        #expect((LocalDate(text) != nil) == valid)
        if valid { #expect(LocalDate(text)?.description == text) }
    }

    @Test("LocalDate orders, counts days, knows weekdays and encodes as a JSON string")
    func dateArithmetic() throws {
        let date = Fixture.date("2026-12-31")
        #expect(date.adding(days: 1) == Fixture.date("2027-01-01"))
        #expect(Fixture.date("2028-03-01").adding(days: -1) == Fixture.date("2028-02-29"))
        #expect(Fixture.date("2026-12-04").days(until: Fixture.date("2026-12-18")) == 14)
        #expect(Fixture.date("2026-12-04").weekday == .friday)
        #expect(Fixture.date("1970-01-01").weekday == .thursday)
        #expect(Fixture.date("1969-12-31").weekday == .wednesday)
        #expect(Fixture.date("2026-01-31") < Fixture.date("2026-02-01"))
        let json = try JSONEncoder().encode([date])
        #expect(String(decoding: json, as: UTF8.self) == #"["2026-12-31"]"#)
        #expect(try JSONDecoder().decode([LocalDate].self, from: json) == [date])
    }

    @Test(
        "Intervals parse HH:MM-HH:MM with an explicit 24:00 end",
        arguments: [
            ("10:00-18:00", 600, 1080), ("00:00-24:00", 0, 1440), ("22:30-24:00", 1350, 1440),
        ])
    func parseIntervals(_ text: String, _ start: Int, _ end: Int) throws {
        let interval = try #require(OpenInterval(text))
        #expect(interval.startMinute == start && interval.endMinute == end)
        #expect(interval.description == text)
    }

    @Test("Intervals that are empty, reversed or past 24:00 are refused", arguments: ["10:00-10:00", "24:00-24:00", "09:60-10:00", "9:00-10:00", "10:00-24:01"])
    func refuseIntervals(_ text: String) {
        #expect(OpenInterval(text) == nil)
    }

    @Test("Weekly hours merge touching and overlapping intervals whatever their order")
    func weeklyHoursNormalise() {
        let hours = WeeklyHours(
            [.monday: ["13:00-18:00", "10:00-12:00", "12:00-13:30"].map(Fixture.interval), .sunday: []])
        #expect(hours[.monday] == [Fixture.interval("10:00-18:00")])
        #expect(hours[.sunday].isEmpty && !hours.isAlwaysClosed)
        #expect(WeeklyHours.standard[.friday] == [Fixture.interval("10:00-18:00")])
        #expect(WeeklyHours.standard[.saturday].isEmpty)
    }

    @Test(
        "Holiday rules: fixed days, nth and last weekdays, leap days",
        arguments: [
            (HolidayRule.nthWeekday(ordinal: 2, weekday: .monday, month: 1), "2027-01-11", true),
            (HolidayRule.nthWeekday(ordinal: 2, weekday: .monday, month: 1), "2027-01-04", false),
            (HolidayRule.nthWeekday(ordinal: -1, weekday: .monday, month: 5), "2026-05-25", true),
            (HolidayRule.nthWeekday(ordinal: -1, weekday: .monday, month: 5), "2026-05-18", false),
            (HolidayRule.nthWeekday(ordinal: 5, weekday: .friday, month: 1), "2027-01-29", true),
            (HolidayRule.nthWeekday(ordinal: 4, weekday: .thursday, month: 11), "2026-11-26", true),
            (HolidayRule.yearly(month: 2, day: 29), "2028-02-29", true),
            (HolidayRule.yearly(month: 2, day: 29), "2027-03-01", false),
            (HolidayRule.yearly(month: 1, day: 1), "2031-01-01", true),
        ])
    func holidayRules(_ rule: HolidayRule, _ date: String, _ matches: Bool) {
        #expect(rule.matches(Fixture.date(date)) == matches)
    }

    @Test("An extra working day opens a weekend or holiday; a closure shuts a weekday")
    func extraDaysAndClosures() {
        let office = OfficeCalendar(
            id: "x", timeZone: Fixture.zone("Asia/Tokyo"),
            holidays: [Holiday("New Year", .yearly(month: 1, day: 1))],
            closures: [Closure(Fixture.date("2026-12-07"))],
            extraWorkingDays: [
                ExtraWorkingDay(Fixture.date("2026-12-05"), hours: [Fixture.interval("10:00-12:00")]),
                ExtraWorkingDay(Fixture.date("2027-01-01"), hours: [Fixture.interval("10:00-11:00")]),
            ])
        #expect(office.add(businessDuration: 3 * 3600, to: Fixture.instant("2026-12-04T17:00:00+09:00"))
            == Fixture.instant("2026-12-05T12:00:00+09:00"))
        #expect(office.nextOpening(atOrAfter: Fixture.instant("2026-12-05T12:00:00+09:00"))
            == Fixture.instant("2026-12-08T10:00:00+09:00"))
        #expect(office.isBusinessDay(Fixture.date("2027-01-01")))
    }

    @Test("An office with no open hours terminates: no opening, no deadline, zero business time")
    func neverOpen() {
        let office = OfficeCalendar(id: "closed", timeZone: Fixture.zone("Asia/Tokyo"), hours: WeeklyHours([:]))
        let now = Fixture.instant("2026-12-04T17:00:00+09:00")
        #expect(office.nextOpening(atOrAfter: now) == nil)
        #expect(office.add(businessDuration: 60, to: now) == nil)
        #expect(office.add(businessDuration: 0, to: now) == now)
        #expect(office.businessDuration(from: now, to: .distantFuture) == 0)
        #expect(!office.isOpen(at: now))
        #expect(office.nextBusinessDay(onOrAfter: Fixture.date("2026-12-04")) == nil)
    }

    @Test("An office whose only opening is one extra working day opens then and never after")
    func onlyExtraDay() {
        let office = OfficeCalendar(
            id: "once", timeZone: Fixture.zone("UTC"), hours: WeeklyHours([:]),
            extraWorkingDays: [ExtraWorkingDay(Fixture.date("2030-06-01"), hours: [Fixture.interval("09:00-10:00")])])
        #expect(office.nextOpening(atOrAfter: Fixture.instant("2026-01-01T00:00:00Z")) == Fixture.instant("2030-06-01T09:00:00Z"))
        #expect(office.add(businessDuration: 3600, to: Fixture.instant("2026-01-01T00:00:00Z")) == Fixture.instant("2030-06-01T10:00:00Z"))
        #expect(office.add(businessDuration: 3601, to: Fixture.instant("2026-01-01T00:00:00Z")) == nil)
    }

    @Test("An office whose recurring holidays close every working day terminates after one 400-year cycle")
    func holidaysCloseEverything() {
        let everyMonday = (1...12).flatMap { month in
            [1, 2, 3, 4, 5].map { Holiday("all", .nthWeekday(ordinal: $0, weekday: .monday, month: month)) }
        }
        let office = OfficeCalendar(
            id: "never", timeZone: Fixture.zone("UTC"),
            hours: WeeklyHours([Fixture.interval("10:00-18:00")], on: [.monday]), holidays: everyMonday)
        #expect(office.nextOpening(atOrAfter: Fixture.instant("2026-01-01T00:00:00Z")) == nil)
    }

    @Test("R-SLA-2: the response-time table and its clocks")
    func responseTimeTable() throws {
        let expected: [(Int, TimeInterval, ResponseTimeTarget.ClockKind)] = [
            (1, 1800, .wallClock24x7), (2, 14_400, .wallClock24x7), (3, 21_600, .businessHours), (4, 28_800, .businessHours),
        ]
        for (severity, duration, kind) in expected {
            let target = try #require(ResponseTimeTarget(severity: severity))
            #expect(target.duration == duration && target.clockKind == kind)
        }
        #expect(ResponseTimeTarget(severity: 0) == nil && ResponseTimeTarget(severity: 5) == nil)
        let tokyo = OfficeCalendar(id: "tokyo", timeZone: Fixture.zone("Asia/Tokyo"))
        #expect(ResponseTimeTarget(severity: 1)?.clock(for: tokyo).version == "24x7")
        #expect(ResponseTimeTarget(severity: 3)?.clock(for: tokyo).version == tokyo.version)
        let clock = WallClock24x7()
        let start = Fixture.instant("2026-12-05T03:00:00+09:00")
        #expect(clock.businessDuration(from: start, to: start.addingTimeInterval(-5)) == 0)
        #expect(clock.nextOpening(atOrAfter: start) == start && clock.isOpen(at: start))
    }
}
