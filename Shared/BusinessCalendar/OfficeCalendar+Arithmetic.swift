import Foundation

/// Business-hours arithmetic on instants.
///
/// Business time is real elapsed seconds while the office is open, so an
/// open day with a DST change inside it is shorter or longer accordingly
/// (see `OfficeCalendar+WallClock.swift` for how wall-clock boundaries
/// become instants). Opening hours are half-open: the office is open at
/// 10:00:00 and closed at 18:00:00.
///
/// Every method terminates on every calendar. When the office never opens
/// again (no weekly hours and no extra working day ahead, or holidays that
/// close every working day for a whole 400-year cycle) the methods that
/// return an instant return `nil`. So do instants that are not finite or
/// absurdly far from today (see ``OfficeCalendar/localDate(at:)``).
///
/// Cost is linear in the number of local days walked, so keep durations to
/// SLA scales (hours to weeks), not centuries.
extension OfficeCalendar {
    /// True when the office is open at `instant`: the TAM is present
    /// (R-ORG-4) and business-hours clocks run (R-SLA-2).
    public func isOpen(at instant: Date) -> Bool {
        self.nextOpening(atOrAfter: instant) == instant
    }

    /// `instant` itself when the office is open then, else the instant it
    /// next opens; `nil` when it never opens again.
    ///
    /// R-SLA-3: a severity-1 request arriving outside business hours by a
    /// channel other than phone starts its clock here.
    public func nextOpening(atOrAfter instant: Date) -> Date? {
        let time = instant.timeIntervalSince1970
        guard Self.isSupported(time) else { return nil }
        var spans = OpenSpanIterator(calendar: self, from: time)
        return spans.next().map { Date(timeIntervalSince1970: $0.start) }
    }

    /// The first open span that ends after `instant`: its start is
    /// ``nextOpening(atOrAfter:)``, and the office stays open until its end
    /// (excluded); `nil` when it never opens again.
    public func openSpan(atOrAfter instant: Date) -> (start: Date, end: Date)? {
        let time = instant.timeIntervalSince1970
        guard Self.isSupported(time) else { return nil }
        var spans = OpenSpanIterator(calendar: self, from: time)
        return spans.next().map { (Date(timeIntervalSince1970: $0.start), Date(timeIntervalSince1970: $0.end)) }
    }

    /// The earliest instant by which `seconds` of open time have passed
    /// since `start`: an R-SLA-2 deadline on business hours.
    ///
    /// Only open time counts; from outside opening hours counting begins at
    /// the next opening. The result may be exactly a closing time (10:00 +
    /// 8 h is 18:00 the same day, not 10:00 the next business day). Adding
    /// zero returns `start` unchanged, open or not.
    ///
    /// - Parameters:
    ///   - seconds: Business time to add: zero or more.
    ///   - start: When the clock starts.
    /// - Returns: The deadline, or `nil` when the office never opens enough
    ///   again, or `seconds` is negative or not finite (configuration and
    ///   requests can carry such a number; it must not trap, issue 21).
    public func add(businessDuration seconds: TimeInterval, to start: Date) -> Date? {
        let time = start.timeIntervalSince1970
        guard Self.isSupported(time), seconds.isFinite, seconds >= 0 else { return nil }
        if seconds == 0 { return start }
        var remaining = seconds
        var spans = OpenSpanIterator(calendar: self, from: time)
        while let span = spans.next() {
            let available = span.end - span.start
            if remaining <= available { return Date(timeIntervalSince1970: span.start + remaining) }
            remaining -= available
        }
        return nil
    }

    /// Open seconds in `[from, to)`; zero when `to` is not after `from`.
    ///
    /// For whole-second instants, `businessDuration(from: s, to: add(d, to: s)!)`
    /// is exactly `d`.
    public func businessDuration(from: Date, to: Date) -> TimeInterval {
        let start = from.timeIntervalSince1970
        let end = to.timeIntervalSince1970
        guard Self.isSupported(start), Self.isSupported(end), end > start else { return 0 }
        var total: TimeInterval = 0
        var spans = OpenSpanIterator(calendar: self, from: start)
        while let span = spans.next(), span.start < end {
            total += min(span.end, end) - span.start
        }
        return total
    }

    /// The instants the office is open on a local date, in order; empty
    /// on a day off. Useful to show "10:00-18:00 JST" as instants, e.g. for
    /// the business day a health check takes (R-HC-2).
    ///
    /// Each interval is converted on its own, so on a fall-back night the
    /// last interval of one day and the first of the next may overlap by
    /// the repeated hour; the arithmetic above counts that hour once.
    public func openIntervals(on date: LocalDate) -> [DateInterval] {
        self.spans(onDay: date.dayNumber).map { span in
            DateInterval(
                start: Date(timeIntervalSince1970: TimeInterval(span.start)),
                end: Date(timeIntervalSince1970: TimeInterval(span.end)))
        }
    }
}
