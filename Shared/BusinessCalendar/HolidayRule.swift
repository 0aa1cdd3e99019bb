/// Which local dates a holiday falls on.
///
/// Substitute or "observed" days (Japan's 振替休日 when a holiday falls on a
/// Sunday, the US Friday before a Saturday holiday) depend on the other
/// holidays of the year and on national law, so they are not derived here:
/// list them as ``date(_:)`` entries, as `deploy/config/holidays/jp.json`
/// does.
public enum HolidayRule: Sendable, Hashable, CustomStringConvertible {
    /// One date only.
    case date(LocalDate)
    /// The same month and day every year; February 29 matches leap years only.
    case yearly(month: Int, day: Int)
    /// The `ordinal`-th `weekday` of `month` every year: 1...5, or -1 for
    /// the last one (the 2nd Monday of January, the last Monday of May).
    case nthWeekday(ordinal: Int, weekday: Weekday, month: Int)

    /// True when the rule falls on `date`.
    public func matches(_ date: LocalDate) -> Bool {
        switch self {
        case .date(let only):
            return date == only
        case .yearly(let month, let day):
            return date.month == month && date.day == day
        case .nthWeekday(let ordinal, let weekday, let month):
            guard date.month == month, date.weekday == weekday else { return false }
            if ordinal == -1 {
                return date.day + 7 > LocalDate.daysIn(month: date.month, year: date.year)
            }
            return (date.day - 1) / 7 + 1 == ordinal
        }
    }

    /// True when the rule is well formed: an existing month and day, an
    /// ordinal in 1...5 or -1. A malformed rule never matches.
    public var isValid: Bool {
        switch self {
        case .date:
            return true
        case .yearly(let month, let day):
            // 2000 is a leap year, so February 29 is accepted.
            return LocalDate(year: 2000, month: month, day: day) != nil
        case .nthWeekday(let ordinal, _, let month):
            return (1...12).contains(month) && ((1...5).contains(ordinal) || ordinal == -1)
        }
    }

    /// A stable text form, used in ``OfficeCalendar/version`` fingerprints.
    public var description: String {
        switch self {
        case .date(let date): "\(date)"
        case .yearly(let month, let day): "every \(month)/\(day)"
        case .nthWeekday(let ordinal, let weekday, let month): "every \(ordinal == -1 ? "last" : "#\(ordinal)") \(weekday) of \(month)"
        }
    }
}

/// A named public holiday: the office is closed all day.
public struct Holiday: Sendable, Hashable {
    /// For people: `"成人の日 Coming of Age Day"`.
    public var name: String
    public var rule: HolidayRule

    public init(_ name: String, _ rule: HolidayRule) {
        self.name = name
        self.rule = rule
    }
}

/// A one-off day off that is not a public holiday: a year-end closure, an
/// office move.
public struct Closure: Sendable, Hashable {
    public var date: LocalDate
    public var reason: String

    public init(_ date: LocalDate, reason: String = "") {
        self.date = date
        self.reason = reason
    }
}

/// A day that is worked although the weekly hours or a holiday would close
/// it, with its own opening hours.
public struct ExtraWorkingDay: Sendable, Hashable {
    public var date: LocalDate
    /// The hours that day, merged and sorted like a weekday's.
    public var hours: [OpenInterval]

    public init(_ date: LocalDate, hours: [OpenInterval]) {
        self.date = date
        self.hours = WeeklyHours.normalised(hours)
    }
}
