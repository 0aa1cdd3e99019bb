/// One stretch of opening hours on a local day, `[start, end)` in minutes
/// since local midnight.
///
/// `end` may be 1440, an explicit 24:00 that means "until the next local
/// midnight". A shift that crosses midnight is two intervals, one on each
/// day (22:00-24:00 and 00:00-02:00); back to back they count as one
/// uninterrupted stretch. In JSON an interval is the string `"10:00-18:00"`.
public struct OpenInterval: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Minutes since local midnight when the office opens, 0...1439.
    public let startMinute: Int
    /// Minutes since local midnight when it closes, 1...1440; the closing
    /// minute itself is closed (half-open intervals).
    public let endMinute: Int

    /// An interval, or `nil` unless `0 <= startMinute < endMinute <= 1440`.
    public init?(startMinute: Int, endMinute: Int) {
        guard startMinute >= 0, startMinute < endMinute, endMinute <= 1440 else { return nil }
        self.startMinute = startMinute
        self.endMinute = endMinute
    }

    /// Parses `"HH:MM-HH:MM"`; see ``parse(_:)`` for a reason when it fails.
    public init?(_ text: String) {
        guard case .success(let interval) = OpenInterval.parse(text) else { return nil }
        self = interval
    }

    /// Parses `"HH:MM-HH:MM"`, or says in a sentence what is wrong with it
    /// (the configuration loader puts that sentence after the bad key).
    public static func parse(_ text: String) -> Result<OpenInterval, IntervalSyntaxError> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            return .failure(IntervalSyntaxError(message: "\"\(text)\" is not HH:MM-HH:MM"))
        }
        guard let start = minutes(parts[0]), let end = minutes(parts[1]) else {
            return .failure(IntervalSyntaxError(message: "\"\(text)\" is not HH:MM-HH:MM"))
        }
        if start >= 1440 {
            return .failure(IntervalSyntaxError(message: "start \(parts[0]) is not before 24:00"))
        }
        if end > 1440 {
            return .failure(IntervalSyntaxError(message: "end \(parts[1]) is after 24:00"))
        }
        guard let interval = OpenInterval(startMinute: start, endMinute: end) else {
            return .failure(IntervalSyntaxError(message: "start \(parts[0]) is not before end \(parts[1])"))
        }
        return .success(interval)
    }

    /// Minutes for `HH:MM` with HH 00...99 and MM 00...59; range checks are
    /// the caller's, so that the message can say "after 24:00".
    private static func minutes(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
            let hours = Int(parts[0]), let minutes = Int(parts[1]), minutes < 60
        else { return nil }
        return hours * 60 + minutes
    }

    public var description: String {
        func clock(_ minutes: Int) -> String {
            let hours = minutes / 60, rest = minutes % 60
            return (hours < 10 ? "0" : "") + "\(hours):" + (rest < 10 ? "0" : "") + "\(rest)"
        }
        return "\(clock(self.startMinute))-\(clock(self.endMinute))"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        switch OpenInterval.parse(try container.decode(String.self)) {
        case .success(let interval): self = interval
        case .failure(let error): throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}

/// Why a `"HH:MM-HH:MM"` string is not an ``OpenInterval``.
public struct IntervalSyntaxError: Error, Sendable, Hashable {
    public let message: String
}

/// An office's regular opening hours for each day of the week.
///
/// Holidays, closures and extra working days are applied on top of these by
/// ``OfficeCalendar``. A weekday with no intervals is closed.
public struct WeeklyHours: Sendable, Hashable {
    /// Index 0 is Monday; each list sorted and with no two intervals
    /// overlapping or touching.
    private let days: [[OpenInterval]]

    /// Hours from a table; weekdays left out are closed. Overlapping or
    /// touching intervals of one day are merged, so the result is the same
    /// whatever order they were listed in.
    public init(_ table: [Weekday: [OpenInterval]]) {
        self.days = Weekday.allCases.map { WeeklyHours.normalised(table[$0] ?? []) }
    }

    /// The same intervals on each of `weekdays`, closed on the others.
    public init(_ intervals: [OpenInterval], on weekdays: [Weekday]) {
        self.init(Dictionary(uniqueKeysWithValues: weekdays.map { ($0, intervals) }))
    }

    /// R-ORG-5: business hours are Monday to Friday 10:00-18:00 local time.
    public static let standard = WeeklyHours(
        [OpenInterval(startMinute: 600, endMinute: 1080)!],
        on: [.monday, .tuesday, .wednesday, .thursday, .friday])

    /// Open around the clock, 00:00-24:00 every day.
    public static let allDay = WeeklyHours(
        [OpenInterval(startMinute: 0, endMinute: 1440)!], on: Weekday.allCases)

    /// The intervals on `weekday`, sorted.
    public subscript(_ weekday: Weekday) -> [OpenInterval] { self.days[weekday.index] }

    /// True when no weekday has any opening hours.
    public var isAlwaysClosed: Bool { self.days.allSatisfy(\.isEmpty) }

    /// Sorts and merges overlapping or back-to-back intervals.
    static func normalised(_ intervals: [OpenInterval]) -> [OpenInterval] {
        var merged: [OpenInterval] = []
        for interval in intervals.sorted(by: { $0.startMinute < $1.startMinute }) {
            if let last = merged.last, interval.startMinute <= last.endMinute {
                merged[merged.count - 1] = OpenInterval(
                    startMinute: last.startMinute, endMinute: max(last.endMinute, interval.endMinute))!
            } else {
                merged.append(interval)
            }
        }
        return merged
    }
}
