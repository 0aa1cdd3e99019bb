import BusinessCalendar
import Foundation
import Testing

/// Properties that hold on any calendar, checked on many seeded random
/// ones: odd hours (touching 00:00 and 24:00, boundaries inside DST gaps),
/// zones with half-hour and 45-minute offsets, Samoa's skipped day
/// (2011-12-30), Havana's repeated midnight, one-off and recurring holidays, closures and extra days.
/// A failure message carries the seed that reproduces it.
@Suite("Round-trip properties")
struct RoundTripPropertyTests {
    static let zones = [
        "Asia/Tokyo", "America/New_York", "Europe/Berlin", "America/Sao_Paulo", "Africa/Casablanca",
        "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kathmandu", "Pacific/Apia", "America/Havana", "UTC",
    ]
    /// 2010-01-01T00:00:00Z ..< 2030-01-01T00:00:00Z, whole seconds.
    static let instants: Range<Int> = 1_262_304_000..<1_893_456_000
    static let seeds: [UInt64] = Array(1...8)

    @Test("add then businessDuration gives back the duration, and the deadline is open time or a closing time", arguments: seeds)
    func addRoundTrip(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        for _ in 0..<40 {
            let office = Self.randomCalendar(&random)
            for _ in 0..<4 {
                let start = Date(timeIntervalSince1970: TimeInterval(Int.random(in: Self.instants, using: &random)))
                let duration = TimeInterval(Self.randomDuration(for: office, &random))
                let context = "seed \(seed), \(office.timeZone.identifier), start \(start), +\(duration) s"
                guard let due = office.add(businessDuration: duration, to: start) else {
                    Issue.record("no deadline: \(context)")
                    continue
                }
                #expect(office.businessDuration(from: start, to: due) == duration, "\(context)")
                // The deadline ends open time: the second before it is open.
                #expect(office.isOpen(at: due.addingTimeInterval(-1)), "\(context) → \(due)")
                #expect(office.businessDuration(from: due.addingTimeInterval(-1), to: due) == 1, "\(context)")
                let middle = Date(timeIntervalSince1970: ((start.timeIntervalSince1970 + due.timeIntervalSince1970) / 2).rounded())
                if middle > start && middle < due {
                    #expect(
                        office.businessDuration(from: start, to: middle) + office.businessDuration(from: middle, to: due)
                            == duration, "additivity: \(context)")
                }
            }
        }
    }

    @Test("isOpen agrees with businessDuration, second by second and minute by minute", arguments: seeds)
    func isOpenAgreesWithDuration(seed: UInt64) {
        var random = SeededGenerator(seed: seed &+ 1000)
        for _ in 0..<12 {
            let office = Self.randomCalendar(&random)
            // Every boundary is a whole minute (all offsets and transitions
            // of these zones are), so minute samples see every change.
            let first = Int.random(in: Self.instants, using: &random) / 60 * 60
            let minutes = 180
            var openMinutes = 0
            for minute in 0..<minutes {
                let instant = Date(timeIntervalSince1970: TimeInterval(first + minute * 60))
                let open = office.isOpen(at: instant)
                if open { openMinutes += 1 }
                #expect(open == (office.businessDuration(from: instant, to: instant.addingTimeInterval(1)) == 1))
                #expect((office.nextOpening(atOrAfter: instant) == instant) == open)
            }
            let from = Date(timeIntervalSince1970: TimeInterval(first))
            #expect(
                office.businessDuration(from: from, to: from.addingTimeInterval(TimeInterval(minutes * 60)))
                    == TimeInterval(openMinutes * 60), "seed \(seed), \(office.timeZone.identifier), from \(from)")
        }
    }

    @Test("Away from clock changes, isOpen matches the local wall clock read with Calendar", arguments: seeds)
    func matchesWallClock(seed: UInt64) {
        var random = SeededGenerator(seed: seed &+ 2000)
        for _ in 0..<20 {
            let office = Self.randomCalendar(&random)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = office.timeZone
            for _ in 0..<50 {
                let second = Int.random(in: Self.instants, using: &random)
                let instant = Date(timeIntervalSince1970: TimeInterval(second))
                let zone = office.timeZone
                // Skip instants within 36 h of an offset change, where wall
                // time and elapsed time part ways by design.
                guard zone.secondsFromGMT(for: instant.addingTimeInterval(-129_600))
                    == zone.secondsFromGMT(for: instant.addingTimeInterval(129_600))
                else { continue }
                let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: instant)
                guard let year = parts.year, let month = parts.month, let day = parts.day,
                    let hour = parts.hour, let minute = parts.minute,
                    let date = LocalDate(year: year, month: month, day: day)
                else {
                    Issue.record("Calendar gave incomplete components for \(instant)")
                    continue
                }
                let minuteOfDay = hour * 60 + minute
                let expected = office.hours(on: date).contains { $0.startMinute <= minuteOfDay && minuteOfDay < $0.endMinute }
                #expect(office.isOpen(at: instant) == expected, "seed \(seed), \(zone.identifier), \(instant) = \(date) \(hour):\(minute)")
            }
        }
    }

    /// A random office; at least one weekday has hours, so deadlines exist.
    static func randomCalendar(_ random: inout SeededGenerator) -> OfficeCalendar {
        let zone = Fixture.zone(self.zones.randomElement(using: &random)!)
        var table: [Weekday: [OpenInterval]] = [:]
        for weekday in Weekday.allCases where Double.random(in: 0..<1, using: &random) < 0.7 {
            table[weekday] = self.randomIntervals(&random)
        }
        if table.isEmpty { table[.monday] = self.randomIntervals(&random) }
        let holidays = (0..<Int.random(in: 0...4, using: &random)).map { _ in
            Holiday("one-off", .date(self.randomDate(&random)))
        } + [
            Holiday("yearly", .yearly(month: Int.random(in: 1...12, using: &random), day: Int.random(in: 1...28, using: &random))),
            Holiday(
                "nth", .nthWeekday(ordinal: [1, 2, 3, 4, 5, -1].randomElement(using: &random)!,
                    weekday: Weekday.allCases.randomElement(using: &random)!, month: Int.random(in: 1...12, using: &random))),
        ]
        let closures = (0..<Int.random(in: 0...2, using: &random)).map { _ in Closure(self.randomDate(&random)) }
        let extraDays = (0..<Int.random(in: 0...2, using: &random)).map { _ in
            ExtraWorkingDay(self.randomDate(&random), hours: self.randomIntervals(&random))
        }
        return OfficeCalendar(
            id: "random", timeZone: zone, hours: WeeklyHours(table), holidays: holidays, closures: closures,
            extraWorkingDays: extraDays)
    }

    /// One to three intervals, often touching midnight or the 02:00-03:00
    /// hour where clock changes happen.
    static func randomIntervals(_ random: inout SeededGenerator) -> [OpenInterval] {
        let favourites = [0, 1440, 120, 150, 180, 60, 90, 1380, 600, 1080]
        let count = Int.random(in: 1...3, using: &random)
        var points = Set<Int>()
        while points.count < count * 2 {
            points.insert(
                Bool.random(using: &random)
                    ? favourites.randomElement(using: &random)! : Int.random(in: 0...1440, using: &random))
        }
        let sorted = points.sorted()
        return stride(from: 0, to: sorted.count, by: 2).map {
            OpenInterval(startMinute: sorted[$0], endMinute: sorted[$0 + 1])!
        }
    }

    static func randomDate(_ random: inout SeededGenerator) -> LocalDate {
        LocalDate(year: Int.random(in: 2010...2029, using: &random), month: Int.random(in: 1...12, using: &random),
            day: Int.random(in: 1...28, using: &random))!
    }

    /// Up to four weeks of the office's open time (capped at 300 h), biased
    /// to whole hours and to a single second.
    static func randomDuration(for office: OfficeCalendar, _ random: inout SeededGenerator) -> Int {
        let weekly = Weekday.allCases.reduce(0) { sum, day in
            sum + office.hours[day].reduce(0) { $0 + ($1.endMinute - $1.startMinute) * 60 }
        }
        let limit = max(1, min(4 * weekly, 300 * 3600))
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return 1
        case 1: return max(1, Int.random(in: 1...limit, using: &random) / 3600 * 3600)
        default: return Int.random(in: 1...limit, using: &random)
        }
    }
}
