// BusinessCalendar arithmetic (issue 10): the fuzzer's bytes describe an
// office calendar (a zone from a fixed list, weekly hours, holidays
// including malformed rules, closures, extra working days), an instant and
// a business duration. Missing bytes read as zero, so every input is a
// calendar.
//
// Checked, besides "no crash, no sanitizer report", the properties of
// Tests/BusinessCalendarTests/RoundTripPropertyTests.swift, for whole-second
// instants (the arithmetic's exactness rule, OfficeCalendar+Arithmetic):
//   - an office with weekly hours always has a deadline, and
//     businessDuration(from: s, to: add(d, to: s)) == d;
//   - the second before a deadline (d > 0) is open: 1 s of business time;
//   - business time is additive over a point in between;
//   - isOpen(at: s) agrees with businessDuration(s, s + 1) == 1 and with
//     nextOpening(atOrAfter: s) == s; the next opening is open and no
//     business time passes before it.
// Instants with a fraction of a second, and instants anywhere in the range
// the arithmetic supports (±30 000 years; offices with weekly hours only),
// are checked for crashes only.
import BusinessCalendar
import Foundation

/// The zones of RoundTripPropertyTests and a few more with odd rules:
/// Lord Howe's 30-minute DST, Dublin's negative DST, Troll's 2-hour DST,
/// Kiritimati (UTC+14, skipped 1994-12-31), Casablanca's Ramadan changes.
let zoneNames = [
    "Asia/Tokyo", "America/New_York", "Europe/Berlin", "America/Sao_Paulo", "Africa/Casablanca",
    "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kathmandu", "Pacific/Apia", "America/Havana", "UTC",
    "Europe/Dublin", "Antarctica/Troll", "Pacific/Kiritimati", "America/St_Johns", "Asia/Kolkata",
]
let zones = zoneNames.map { TimeZone(identifier: $0)! }

/// Minutes that touch midnight or the hours where clocks change.
let favouriteMinutes = [0, 1440, 120, 150, 180, 60, 90, 1380, 600, 1080, 30, 1410, 1439, 1]

/// The fuzzer's bytes, read front to back; zero once they run out.
struct Reader {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    mutating func byte() -> UInt8 {
        guard self.index < self.bytes.count else { return 0 }
        defer { self.index += 1 }
        return self.bytes[self.index]
    }

    mutating func uint64(bytes count: Int) -> UInt64 {
        (0..<count).reduce(0) { value, _ in value << 8 | UInt64(self.byte()) }
    }

    /// A value in `range`, from as many bytes as it needs (up to 8).
    mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) &+ 1
        let count = width == 0 ? 8 : min(8, (64 - width.leadingZeroBitCount + 7) / 8)
        let raw = self.uint64(bytes: count)
        return range.lowerBound + Int(width == 0 ? raw : raw % width)
    }

    mutating func bool() -> Bool { self.byte() & 1 == 1 }

    mutating func minute() -> Int {
        self.bool() ? favouriteMinutes[self.int(in: 0...favouriteMinutes.count - 1)] : self.int(in: 0...1440)
    }

    /// Up to three intervals; pairs that make no interval are dropped.
    mutating func intervals() -> [OpenInterval] {
        (0..<self.int(in: 0...3)).compactMap { _ in
            let a = self.minute(), b = self.minute()
            return OpenInterval(startMinute: min(a, b), endMinute: max(a, b))
        }
    }

    /// A date between 2008 and 2032, around the instants below.
    mutating func date() -> LocalDate {
        LocalDate(year: self.int(in: 2008...2032), month: self.int(in: 1...12), day: self.int(in: 1...28))!
    }

    mutating func calendar() -> OfficeCalendar {
        let zone = zones[self.int(in: 0...zones.count - 1)]
        var table: [Weekday: [OpenInterval]] = [:]
        for weekday in Weekday.allCases { table[weekday] = self.intervals() }
        let holidays: [Holiday] = (0..<self.int(in: 0...5)).map { _ in
            switch self.int(in: 0...2) {
            case 0: Holiday("one-off", .date(self.date()))
            // Out-of-range months, days and ordinals too: malformed rules never match.
            case 1: Holiday("yearly", .yearly(month: self.int(in: 0...13), day: self.int(in: 0...32)))
            default:
                Holiday(
                    "nth", .nthWeekday(ordinal: self.int(in: -2...6), weekday: Weekday.allCases[self.int(in: 0...6)],
                        month: self.int(in: 0...13)))
            }
        }
        let closures = (0..<self.int(in: 0...3)).map { _ in Closure(self.date()) }
        let extraDays = (0..<self.int(in: 0...2)).map { _ in ExtraWorkingDay(self.date(), hours: self.intervals()) }
        return OfficeCalendar(
            id: "fuzz", timeZone: zone, hours: WeeklyHours(table), holidays: holidays, closures: closures,
            extraWorkingDays: extraDays)
    }
}

/// 2010-01-01T00:00:00Z ... 2030-01-01T00:00:00Z.
let instants = 1_262_304_000...1_893_456_000

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var reader = Reader(bytes: UnsafeRawBufferPointer(start: start, count: count))
    let office = reader.calendar()
    let mode = reader.int(in: 0...7)
    let second: TimeInterval
    switch mode {
    // Anywhere in the supported range — only for offices with weekly hours:
    // an office open on extra days only is searched day by day up to its
    // last one (documented linear cost), so from 30 000 years away that
    // takes minutes, which is no bug.
    case 0 where !office.hours.isAlwaysClosed: second = TimeInterval(reader.int(in: -999_999_999_999...999_999_999_999))
    case 1: second = TimeInterval(reader.int(in: instants)) + Double(reader.int(in: 1...999)) / 1000
    default: second = TimeInterval(reader.int(in: instants))
    }
    let from = Date(timeIntervalSince1970: second)
    let weekly = Weekday.allCases.reduce(0) { sum, day in
        sum + office.hours[day].reduce(0) { $0 + ($1.endMinute - $1.startMinute) * 60 }
    }
    // Up to four weeks of open time (at most 300 h), as in the tests: cost is
    // linear in the days walked.
    let limit = max(1, min(4 * weekly, 300 * 3600))
    let duration: TimeInterval
    switch reader.int(in: 0...3) {
    case 0: duration = TimeInterval(reader.int(in: 0...1))
    case 1: duration = TimeInterval(reader.int(in: 1...limit) / 3600 * 3600)
    default: duration = TimeInterval(reader.int(in: 1...limit))
    }
    let context = "\(office), hours \(Weekday.allCases.map { office.hours[$0] }), from \(second), +\(duration) s"

    // Whatever the instant: no crash.
    if let date = office.localDate(at: from) {
        _ = office.openIntervals(on: date)
        _ = office.isBusinessDay(date)
        _ = office.nextBusinessDay(onOrAfter: date)
    }
    let open = office.isOpen(at: from)
    let next = office.nextOpening(atOrAfter: from)
    let due = office.add(businessDuration: duration, to: from)
    if let due { _ = office.businessDuration(from: from, to: due) }
    guard mode != 0 && mode != 1 else { return 0 }

    // Whole seconds around today: the properties.
    check(open == (office.businessDuration(from: from, to: from.addingTimeInterval(1)) == 1), "isOpen vs 1 s: \(context)")
    check(open == (next == from), "isOpen vs nextOpening: \(context)")
    if let next {
        check(next >= from && office.isOpen(at: next), "next opening \(next) is not open: \(context)")
        check(office.businessDuration(from: from, to: next) == 0, "business time before the next opening \(next): \(context)")
    } else {
        check(!open, "open but no next opening: \(context)")
    }
    guard let due else {
        check(office.hours.isAlwaysClosed, "no deadline although the office has weekly hours: \(context)")
        return 0
    }
    check(office.businessDuration(from: from, to: due) == duration, "round trip to \(due): \(context)")
    if duration > 0 {
        check(office.isOpen(at: due.addingTimeInterval(-1)), "the second before the deadline \(due) is closed: \(context)")
        check(office.businessDuration(from: due.addingTimeInterval(-1), to: due) == 1, "last second before \(due): \(context)")
        let span = Int(due.timeIntervalSince(from))
        if span > 1 {
            let middle = from.addingTimeInterval(TimeInterval(reader.int(in: 1...span - 1)))
            check(
                office.businessDuration(from: from, to: middle) + office.businessDuration(from: middle, to: due) == duration,
                "additivity at \(middle): \(context)")
        }
    } else {
        check(due == from, "adding 0 moved \(from) to \(due): \(context)")
    }
    return 0
}
