import Foundation

/// One office's business calendar: its time zone, weekly hours, public
/// holidays, closures and extra working days (R-ORG-5).
///
/// Answers "is the office open now?" (the TAM is present, R-ORG-4), "when
/// does it next open?" (R-SLA-3) and "when are N business hours up?"
/// (R-SLA-2) — see `OfficeCalendar+Arithmetic.swift`. All of it is exact to
/// the second and independent of the process time zone.
///
/// A local date is worked, in order of precedence:
/// 1. as an ``ExtraWorkingDay``'s hours, if it is one (even on a holiday);
/// 2. not at all, if a ``Holiday`` or ``Closure`` falls on it;
/// 3. else as the ``WeeklyHours`` say for its weekday.
public struct OfficeCalendar: Sendable, Equatable, CustomStringConvertible {
    /// Short and stable: `"tokyo"`. Incidents and rosters refer to it.
    public let id: String
    public let timeZone: TimeZone
    public let hours: WeeklyHours
    public let holidays: [Holiday]
    public let closures: [Closure]
    public let extraWorkingDays: [ExtraWorkingDay]
    /// The last date the holiday data is known to cover, when the data says;
    /// past it, holidays not yet published are missing. Operators should be
    /// warned well before deadlines run past it.
    public let holidaysKnownThrough: LocalDate?
    /// What this calendar is, so an SLA cycle can record which calendar it
    /// was computed with: the configured version string, or else
    /// `"fnv1a64:"` and a 16-digit hex fingerprint of the content. The
    /// fingerprint does not cover the time-zone database, whose version
    /// Foundation reports as `TimeZone.timeZoneDataVersion`.
    public let version: String

    /// Day numbers closed by a one-off holiday or closure.
    private let closedDays: Set<Int>
    private let recurringHolidays: [HolidayRule]
    private let extraDays: [Int: [OpenInterval]]
    /// The latest day named by a one-off rule; after it the calendar repeats
    /// every 400 Gregorian years, which bounds every search (see
    /// ``searchLimit(from:)``).
    private let lastOneOffDay: Int

    public init(
        id: String,
        timeZone: TimeZone,
        hours: WeeklyHours = .standard,
        holidays: [Holiday] = [],
        closures: [Closure] = [],
        extraWorkingDays: [ExtraWorkingDay] = [],
        holidaysKnownThrough: LocalDate? = nil,
        version: String? = nil
    ) {
        self.id = id
        self.timeZone = timeZone
        self.hours = hours
        self.holidays = holidays
        self.closures = closures
        self.extraWorkingDays = extraWorkingDays
        self.holidaysKnownThrough = holidaysKnownThrough

        var closed = Set(closures.map(\.date.dayNumber))
        var recurring: [HolidayRule] = []
        for holiday in holidays where holiday.rule.isValid {
            if case .date(let date) = holiday.rule { closed.insert(date.dayNumber) } else { recurring.append(holiday.rule) }
        }
        self.closedDays = closed
        self.recurringHolidays = recurring
        // A later entry for the same date wins, as in a dictionary literal.
        self.extraDays = Dictionary(extraWorkingDays.map { ($0.date.dayNumber, $0.hours) }, uniquingKeysWith: { $1 })
        self.lastOneOffDay = (closed.union(self.extraDays.keys)).max() ?? Int.min

        self.version = version ?? OfficeCalendar.fingerprint(
            id: id, timeZone: timeZone, hours: hours, holidays: holidays, closures: closures,
            extraWorkingDays: extraWorkingDays, holidaysKnownThrough: holidaysKnownThrough)
    }

    /// The opening hours on a local date, after holidays, closures and
    /// extra working days; empty when the office is closed all day.
    public func hours(on date: LocalDate) -> [OpenInterval] { self.hours(onDay: date.dayNumber) }

    /// True when the office is open at all on `date` (R-ORG-5). A health
    /// check takes one business day (R-HC-2).
    ///
    /// Decided on real open time, so when this is true
    /// ``openIntervals(on:)`` is not empty. (Hours lying wholly inside a
    /// spring-forward gap leave their day with no open time at all.)
    public func isBusinessDay(_ date: LocalDate) -> Bool { !self.spans(onDay: date.dayNumber).isEmpty }

    /// The first business day on or after `date`, or `nil` when the office
    /// never opens again.
    public func nextBusinessDay(onOrAfter date: LocalDate) -> LocalDate? {
        let limit = self.searchLimit(from: date.dayNumber)
        var day = date.dayNumber
        while day <= limit {
            if !self.spans(onDay: day).isEmpty { return LocalDate(dayNumber: day) }
            day += 1
        }
        return nil
    }

    /// Short enough for a log line or a test failure: `tokyo (Asia/Tokyo, fnv1a64:…)`.
    public var description: String { "\(self.id) (\(self.timeZone.identifier), \(self.version))" }

    /// The office's local date at an instant; `nil` for an instant the
    /// arithmetic does not handle (not finite, or more than about 30 000
    /// years from 1970; see ``isSupported(_:)``). Requests and events never
    /// carry one (they are checked to years 1970-9999 where they enter), so
    /// a caller turns `nil` into a refusal rather than trapping (issue 21).
    public func localDate(at instant: Date) -> LocalDate? {
        guard Self.isSupported(instant.timeIntervalSince1970) else { return nil }
        return self.localDate(atSecond: Int(instant.timeIntervalSince1970.rounded(.down)))
    }

    /// True for instants the arithmetic handles: finite and within about
    /// ±30 000 years of 1970, so seconds and day numbers fit in an `Int`
    /// with room to spare. The arithmetic treats any other instant as one
    /// at which the office never opens.
    static func isSupported(_ time: TimeInterval) -> Bool { time.isFinite && abs(time) < 1e12 }

    /// Only for seconds that passed ``isSupported(_:)``, so that neither the
    /// sum nor the day number can overflow.
    func localDate(atSecond second: Int) -> LocalDate {
        let local = second + self.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second)))
        return LocalDate(dayNumber: local.floorDivided(by: 86_400))
    }

    func hours(onDay day: Int) -> [OpenInterval] {
        if let extra = self.extraDays[day] { return extra }
        let weekly = self.hours[Weekday(dayNumber: day)]
        // Cheap test first: most days are not one-off holidays.
        guard !weekly.isEmpty, !self.closedDays.contains(day) else { return [] }
        if !self.recurringHolidays.isEmpty {
            let date = LocalDate(dayNumber: day)
            if self.recurringHolidays.contains(where: { $0.matches(date) }) { return [] }
        }
        return weekly
    }

    /// The last day worth searching from `day` for an opening: a full
    /// Gregorian cycle (146 097 days, after which weekdays and dates repeat)
    /// past the last one-off rule. If the office has not opened by then it
    /// never will; with no weekly hours at all it never opens after the
    /// last extra working day. This is what makes every search terminate.
    func searchLimit(from day: Int) -> Int {
        if self.hours.isAlwaysClosed { return self.lastOneOffDay }
        return max(day, self.lastOneOffDay) + 146_097
    }

    private static func fingerprint(
        id: String, timeZone: TimeZone, hours: WeeklyHours, holidays: [Holiday], closures: [Closure],
        extraWorkingDays: [ExtraWorkingDay], holidaysKnownThrough: LocalDate?
    ) -> String {
        // A canonical text (sorted where order does not matter) so that the
        // same content always gives the same version, on every machine.
        var lines = ["id \(id)", "zone \(timeZone.identifier)"]
        lines += Weekday.allCases.map { day in "\(day) \(hours[day].map(\.description).joined(separator: ","))" }
        lines += holidays.map { "holiday \($0.rule) \($0.name)" }.sorted()
        lines += closures.map { "closure \($0.date) \($0.reason)" }.sorted()
        lines += extraWorkingDays.map { "extra \($0.date) \($0.hours.map(\.description).joined(separator: ","))" }.sorted()
        lines.append("known-through \(holidaysKnownThrough.map(\.description) ?? "-")")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in lines.joined(separator: "\n").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension Int {
    /// Division rounding towards minus infinity: -1 second is the day before
    /// 1970-01-01, not the same day.
    func floorDivided(by divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
