import Foundation

/// Turning local wall-clock boundaries into instants, and walking the
/// resulting open spans in time order.
///
/// Conversion uses only `TimeZone.secondsFromGMT(for:)` of the office's own
/// zone and day arithmetic on whole seconds. `Calendar.date(from:)` is not
/// used because it resolves a time inside a spring-forward gap by shifting
/// it by the gap's length (02:30 becomes 03:30), and the boundary rules
/// below need the gap's end instead.
///
/// Boundary rules, chosen so that an office open across a DST change is
/// open for the real elapsed time (a 00:00-24:00 day is 23 h in spring and
/// 25 h in autumn):
/// - a local time that does not exist (spring-forward gap) becomes the
///   first instant after the gap, for starts and ends alike;
/// - a local time that happens twice (fall-back) becomes its first
///   occurrence when it starts an interval and its second when it ends one,
///   so an interval that reaches into the repeated hour includes all of it.
///   (01:00-01:30 on a fall-back night at 02:00 is therefore open from the
///   first 01:00 to the second 01:30: 90 minutes.)
extension OfficeCalendar {
    /// One open stretch as whole seconds since 1970, `[start, end)`.
    struct Span: Equatable {
        var start: Int
        var end: Int
    }

    enum BoundaryRole { case start, end }

    /// The open spans of local day `day`, in order; intervals that fall
    /// entirely inside a spring-forward gap are dropped.
    func spans(onDay day: Int) -> [Span] {
        let midnight = day * 86_400
        return self.hours(onDay: day).compactMap { interval in
            let start = self.instant(ofLocal: midnight + interval.startMinute * 60, role: .start)
            let end = self.instant(ofLocal: midnight + interval.endMinute * 60, role: .end)
            return end > start ? Span(start: start, end: end) : nil
        }
    }

    /// The instant of a local wall-clock time given as seconds since local
    /// 1970-01-01 00:00. Assumes at most one offset change within a day
    /// either side, which every zone in the tz database satisfies.
    func instant(ofLocal local: Int, role: BoundaryRole) -> Int {
        let before = self.offset(at: local - 86_400)
        let after = self.offset(at: local + 86_400)
        var occurrences: [Int] = []
        for offset in before == after ? [before] : [before, after] where self.offset(at: local - offset) == offset {
            occurrences.append(local - offset)
        }
        if let first = occurrences.min(), let last = occurrences.max() {
            return role == .start ? first : last
        }
        // In a gap: the wall clock jumps over `local`. Local time is
        // increasing across a single forward jump, so bisect for the first
        // instant whose local time is at or past `local` — the transition.
        var low = local - 86_400
        var high = local + 86_400
        while low < high {
            let middle = low + (high - low) / 2
            if middle + self.offset(at: middle) >= local { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// The first instant of local day `date` in the office (R-ORG-1: dates
    /// are the office's calendar days): local midnight, or the end of a
    /// spring-forward gap that swallows it.
    public func startOfDay(_ date: LocalDate) -> Date {
        Date(timeIntervalSince1970: Double(self.instant(ofLocal: date.dayNumber * 86_400, role: .start)))
    }

    func offset(at second: Int) -> Int {
        self.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second)))
    }
}

/// The office's open time from an instant onwards, as non-overlapping spans
/// in time order, each clipped to start no earlier than the instant.
///
/// Starts a day before the instant's local date because a fall-back at
/// midnight can make the previous day's 24:00 fall after the instant.
/// Spans of adjacent days that touch (24:00 and the next 00:00) are
/// yielded separately; spans that overlap through a repeated hour are
/// clipped so no second is counted twice. Ends with `nil` once a full
/// 400-year Gregorian cycle past the last opening (and past every one-off
/// rule) has no opening: the calendar repeats after that, so it never
/// opens again.
struct OpenSpanIterator: IteratorProtocol {
    private let calendar: OfficeCalendar
    private var day: Int
    private var lastDay: Int
    private var pending: [OfficeCalendar.Span] = []
    private var index = 0
    /// Everything before this instant has been yielded or skipped.
    private var cursor: TimeInterval

    /// `instant` must pass ``OfficeCalendar/isSupported(_:)``: every caller
    /// checks it first and answers `nil` otherwise, so no input reaches the
    /// `Int` conversion with a value it cannot hold.
    init(calendar: OfficeCalendar, from instant: TimeInterval) {
        self.calendar = calendar
        self.cursor = instant
        let firstDay = calendar.localDate(atSecond: Int(instant.rounded(.down))).dayNumber - 1
        self.day = firstDay - 1
        self.lastDay = calendar.searchLimit(from: firstDay)
    }

    mutating func next() -> (start: TimeInterval, end: TimeInterval)? {
        while true {
            while self.index < self.pending.count {
                let span = self.pending[self.index]
                self.index += 1
                let end = TimeInterval(span.end)
                // A span ending exactly at the cursor is over: closing time
                // is closed (half-open intervals).
                guard end > self.cursor else { continue }
                let start = max(TimeInterval(span.start), self.cursor)
                self.cursor = end
                return (start, end)
            }
            guard self.day < self.lastDay else { return nil }
            self.day += 1
            self.pending = self.calendar.spans(onDay: self.day)
            self.index = 0
            if !self.pending.isEmpty { self.lastDay = self.calendar.searchLimit(from: self.day) }
        }
    }
}
