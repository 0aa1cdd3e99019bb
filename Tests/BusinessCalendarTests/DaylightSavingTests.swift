import BusinessCalendar
import Foundation
import Testing

/// Business time across clock changes is real elapsed time. Expected
/// instants are written with the offsets the tz database gives each zone
/// (checked first by ``tzDataAssumptions``), never computed by the calendar.
@Suite("Daylight saving time")
struct DaylightSavingTests {
    /// A local day around a clock change, on a 00:00-24:00 office and on a
    /// 00:00-04:00 night shift.
    struct TransitionDay: CustomTestStringConvertible, Sendable {
        let zone: String
        let date: String
        let dayStart: String
        let dayEnd: String
        let dayHours: Int
        let nightEnd: String
        let nightHours: Int
        var testDescription: String { "\(self.zone) \(self.date): \(self.dayHours) h day, \(self.nightHours) h night shift" }
    }

    static let days: [TransitionDay] = [
        // New York: 02:00 EST → 03:00 EDT, then 02:00 EDT → 01:00 EST.
        TransitionDay(
            zone: "America/New_York", date: "2026-03-08", dayStart: "2026-03-08T00:00:00-05:00",
            dayEnd: "2026-03-09T00:00:00-04:00", dayHours: 23, nightEnd: "2026-03-08T04:00:00-04:00", nightHours: 3),
        TransitionDay(
            zone: "America/New_York", date: "2026-11-01", dayStart: "2026-11-01T00:00:00-04:00",
            dayEnd: "2026-11-02T00:00:00-05:00", dayHours: 25, nightEnd: "2026-11-01T04:00:00-05:00", nightHours: 5),
        TransitionDay(
            zone: "America/New_York", date: "2026-07-01", dayStart: "2026-07-01T00:00:00-04:00",
            dayEnd: "2026-07-02T00:00:00-04:00", dayHours: 24, nightEnd: "2026-07-01T04:00:00-04:00", nightHours: 4),
        // Berlin: 02:00 CET → 03:00 CEST, then 03:00 CEST → 02:00 CET.
        TransitionDay(
            zone: "Europe/Berlin", date: "2026-03-29", dayStart: "2026-03-29T00:00:00+01:00",
            dayEnd: "2026-03-30T00:00:00+02:00", dayHours: 23, nightEnd: "2026-03-29T04:00:00+02:00", nightHours: 3),
        TransitionDay(
            zone: "Europe/Berlin", date: "2026-10-25", dayStart: "2026-10-25T00:00:00+02:00",
            dayEnd: "2026-10-26T00:00:00+01:00", dayHours: 25, nightEnd: "2026-10-25T04:00:00+01:00", nightHours: 5),
        // São Paulo 2018: midnight did not exist on 11-04 (00:00 -03 → 01:00 -02);
        // on 02-18 midnight -02 fell back to 23:00 -03 on the 17th.
        TransitionDay(
            zone: "America/Sao_Paulo", date: "2018-11-04", dayStart: "2018-11-04T01:00:00-02:00",
            dayEnd: "2018-11-05T00:00:00-02:00", dayHours: 23, nightEnd: "2018-11-04T04:00:00-02:00", nightHours: 3),
        TransitionDay(
            zone: "America/Sao_Paulo", date: "2018-02-17", dayStart: "2018-02-17T00:00:00-02:00",
            dayEnd: "2018-02-18T00:00:00-03:00", dayHours: 25, nightEnd: "2018-02-17T04:00:00-02:00", nightHours: 4),
        // Casablanca 2026: DST (+01) suspended for Ramadan, 03:00 +01 → 02:00 +00
        // on 02-15, and back 02:00 +00 → 03:00 +01 on 03-22.
        TransitionDay(
            zone: "Africa/Casablanca", date: "2026-02-15", dayStart: "2026-02-15T00:00:00+01:00",
            dayEnd: "2026-02-16T00:00:00+00:00", dayHours: 25, nightEnd: "2026-02-15T04:00:00+00:00", nightHours: 5),
        TransitionDay(
            zone: "Africa/Casablanca", date: "2026-03-22", dayStart: "2026-03-22T00:00:00+00:00",
            dayEnd: "2026-03-23T00:00:00+01:00", dayHours: 23, nightEnd: "2026-03-22T04:00:00+01:00", nightHours: 3),
    ]

    @Test(
        "Foundation's tz data has the UTC offsets these tests assume",
        arguments: [
            ("America/New_York", "2026-03-08T06:59:59Z", -5 * 3600), ("America/New_York", "2026-03-08T07:00:00Z", -4 * 3600),
            ("America/New_York", "2026-11-01T05:59:59Z", -4 * 3600), ("America/New_York", "2026-11-01T06:00:00Z", -5 * 3600),
            ("Europe/Berlin", "2026-03-29T01:00:00Z", 2 * 3600), ("Europe/Berlin", "2026-10-25T01:00:00Z", 3600),
            ("America/Sao_Paulo", "2018-11-04T02:59:59Z", -3 * 3600), ("America/Sao_Paulo", "2018-11-04T03:00:00Z", -2 * 3600),
            ("America/Sao_Paulo", "2018-02-18T01:59:59Z", -2 * 3600), ("America/Sao_Paulo", "2018-02-18T02:00:00Z", -3 * 3600),
            ("Africa/Casablanca", "2026-02-15T01:59:59Z", 3600), ("Africa/Casablanca", "2026-02-15T02:00:00Z", 0),
            ("Africa/Casablanca", "2026-03-22T01:59:59Z", 0), ("Africa/Casablanca", "2026-03-22T02:00:00Z", 3600),
            ("America/Havana", "2026-11-01T04:59:59Z", -4 * 3600), ("America/Havana", "2026-11-01T05:00:00Z", -5 * 3600),
        ])
    func tzDataAssumptions(_ zone: String, _ instant: String, _ offset: Int) {
        #expect(Fixture.zone(zone).secondsFromGMT(for: Fixture.instant(instant)) == offset)
    }

    @Test("An all-day office is open for the real length of a local day: 23 h in spring, 25 h in autumn", arguments: days)
    func allDayLength(_ day: TransitionDay) throws {
        let office = Fixture.allDay(day.zone)
        let start = Fixture.instant(day.dayStart), end = Fixture.instant(day.dayEnd)
        #expect(end.timeIntervalSince(start) == TimeInterval(day.dayHours * 3600), "the expectation itself")
        #expect(office.openIntervals(on: Fixture.date(day.date)) == [DateInterval(start: start, end: end)])
        #expect(office.businessDuration(from: start, to: end) == TimeInterval(day.dayHours * 3600))
        #expect(office.add(businessDuration: TimeInterval(day.dayHours * 3600), to: start) == end)
    }

    @Test("A 00:00-04:00 night shift that contains the change lasts 3 h in spring and 5 h in autumn", arguments: days)
    func nightShiftLength(_ day: TransitionDay) throws {
        let office = Fixture.everyDay(day.zone, "00:00-04:00")
        let start = Fixture.instant(day.dayStart), end = Fixture.instant(day.nightEnd)
        #expect(office.openIntervals(on: Fixture.date(day.date)) == [DateInterval(start: start, end: end)])
        #expect(office.businessDuration(from: start.addingTimeInterval(-7200), to: end.addingTimeInterval(7200))
            == TimeInterval(day.nightHours * 3600))
        #expect(office.add(businessDuration: 1, to: start.addingTimeInterval(-7200)) == start.addingTimeInterval(1))
    }

    @Test("A boundary inside the spring-forward gap becomes the first instant after the gap")
    func gapBoundary() {
        let office = Fixture.everyDay("America/New_York", "02:30-03:30")
        let day = Fixture.date("2026-03-08")
        #expect(office.openIntervals(on: day) == [
            DateInterval(start: Fixture.instant("2026-03-08T03:00:00-04:00"), end: Fixture.instant("2026-03-08T03:30:00-04:00"))
        ])
        #expect(!office.isOpen(at: Fixture.instant("2026-03-08T01:59:59-05:00")))
        #expect(office.nextOpening(atOrAfter: Fixture.instant("2026-03-08T01:00:00-05:00"))
            == Fixture.instant("2026-03-08T03:00:00-04:00"))
    }

    @Test("An interval wholly inside the gap has no open time: that day is not a business day")
    func intervalInsideGap() {
        let office = Fixture.everyDay("America/New_York", "02:10-02:50")
        #expect(office.openIntervals(on: Fixture.date("2026-03-08")).isEmpty)
        #expect(!office.isBusinessDay(Fixture.date("2026-03-08")) && office.isBusinessDay(Fixture.date("2026-03-09")))
        #expect(office.nextOpening(atOrAfter: Fixture.instant("2026-03-08T00:00:00-05:00"))
            == Fixture.instant("2026-03-09T02:10:00-04:00"))
    }

    @Test("A repeated local time opens at its first occurrence and closes at its second")
    func repeatedBoundary() {
        let office = Fixture.everyDay("America/New_York", "01:00-01:30")
        #expect(office.openIntervals(on: Fixture.date("2026-11-01")) == [
            DateInterval(start: Fixture.instant("2026-11-01T01:00:00-04:00"), end: Fixture.instant("2026-11-01T01:30:00-05:00"))
        ])
        #expect(office.isOpen(at: Fixture.instant("2026-11-01T01:45:00-04:00")), "between the two 01:30s")
        #expect(!office.isOpen(at: Fixture.instant("2026-11-01T01:30:00-05:00")))
    }

    @Test("São Paulo 2018-11-04: with local midnight missing, a Sunday shift opens at 01:00 -02:00")
    func missingMidnight() {
        let office = OfficeCalendar(
            id: "sunday", timeZone: Fixture.zone("America/Sao_Paulo"),
            hours: WeeklyHours([Fixture.interval("00:00-08:00")], on: [.sunday]))
        #expect(!office.isOpen(at: Fixture.instant("2018-11-03T23:59:59-03:00")))
        #expect(office.nextOpening(atOrAfter: Fixture.instant("2018-11-03T23:30:00-03:00"))
            == Fixture.instant("2018-11-04T01:00:00-02:00"))
        #expect(office.businessDuration(from: Fixture.instant("2018-11-03T12:00:00-03:00"), to: Fixture.instant("2018-11-05T12:00:00-02:00"))
            == 7 * 3600)
    }

    @Test("São Paulo 2018-02-17: the repeated 23:00 hour belongs to Saturday, which lasts 25 h")
    func repeatedMidnightHour() {
        let office = Fixture.allDay("America/Sao_Paulo")
        let saturday = Fixture.instant("2018-02-17T00:00:00-02:00")
        let monday = Fixture.instant("2018-02-19T00:00:00-03:00")
        #expect(office.businessDuration(from: saturday, to: monday) == 49 * 3600)
        #expect(office.isOpen(at: Fixture.instant("2018-02-17T23:30:00-03:00")), "the second 23:30")
    }

    @Test("Havana 2026-11-01: midnight happens twice; the hour between ends Saturday and starts Sunday but counts once")
    func repeatedMidnight() {
        // 01:00 CDT (-04) falls back to 00:00 CST (-05).
        let office = Fixture.allDay("America/Havana")
        let saturday = Fixture.instant("2026-10-31T00:00:00-04:00")
        let monday = Fixture.instant("2026-11-02T00:00:00-05:00")
        #expect(office.openIntervals(on: Fixture.date("2026-10-31")).last?.end == Fixture.instant("2026-11-01T00:00:00-05:00"))
        #expect(office.openIntervals(on: Fixture.date("2026-11-01")).first?.start == Fixture.instant("2026-11-01T00:00:00-04:00"))
        #expect(office.businessDuration(from: saturday, to: monday) == 49 * 3600)
        #expect(office.add(businessDuration: 49 * 3600, to: saturday) == monday)
    }

    @Test(
        "R-SLA-2: business-hours deadlines across a DST weekend land on the right wall-clock time",
        arguments: [
            ("America/New_York", "2026-03-06T17:00:00-05:00", 6, "2026-03-09T15:00:00-04:00"),
            ("America/New_York", "2026-10-30T17:00:00-04:00", 8, "2026-11-02T17:00:00-05:00"),
            ("Europe/Berlin", "2026-03-27T16:00:00+01:00", 6, "2026-03-30T14:00:00+02:00"),
            ("Africa/Casablanca", "2026-02-13T17:00:00+01:00", 8, "2026-02-16T17:00:00+00:00"),
            ("Africa/Casablanca", "2026-03-20T17:00:00+00:00", 8, "2026-03-23T17:00:00+01:00"),
        ])
    func deadlineAcrossWeekendChange(_ zone: String, _ start: String, _ hours: Int, _ due: String) {
        let office = OfficeCalendar(id: "standard", timeZone: Fixture.zone(zone))
        #expect(office.add(businessDuration: TimeInterval(hours * 3600), to: Fixture.instant(start)) == Fixture.instant(due))
    }

    @Test("R-SLA-2: 24 h on an all-day office and on the 24×7 clock are both 24 real hours")
    func allDayMatchesWallClock() {
        let start = Fixture.instant("2026-03-08T00:00:00-05:00")
        let expected = Fixture.instant("2026-03-09T01:00:00-04:00")
        #expect(Fixture.allDay("America/New_York").add(businessDuration: 86_400, to: start) == expected)
        #expect(WallClock24x7().add(businessDuration: 86_400, to: start) == expected)
    }
}
