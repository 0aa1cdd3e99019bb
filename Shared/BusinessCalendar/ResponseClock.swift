import Foundation

/// A clock an SLA response time runs on (R-SLA-2): either business hours
/// of an office or the 24×7 wall clock.
///
/// Code that computes deadlines takes `any ResponseClock` so one path
/// serves every severity; the method names are the business-hours ones
/// because on a 24×7 clock every second is "business" time.
public protocol ResponseClock: Sendable {
    /// What the clock counted with, recorded with each SLA cycle: an
    /// ``OfficeCalendar/version`` or ``WallClock24x7/version``.
    var version: String { get }
    /// True when time counts at `instant`.
    func isOpen(at instant: Date) -> Bool
    /// `instant` when open, else when time next counts; `nil` if never.
    func nextOpening(atOrAfter instant: Date) -> Date?
    /// The earliest instant by which `seconds` of counted time have passed;
    /// `nil` if never, or when `seconds` is negative or not finite.
    func add(businessDuration seconds: TimeInterval, to start: Date) -> Date?
    /// Counted seconds in `[from, to)`; zero when `to` is not after `from`.
    func businessDuration(from: Date, to: Date) -> TimeInterval
}

extension OfficeCalendar: ResponseClock {}

/// Around the clock: every second counts (severities 1 and 2, R-SLA-2).
public struct WallClock24x7: ResponseClock, Hashable {
    public init() {}

    public var version: String { "24x7" }

    public func isOpen(at instant: Date) -> Bool { true }

    public func nextOpening(atOrAfter instant: Date) -> Date? { instant }

    public func add(businessDuration seconds: TimeInterval, to start: Date) -> Date? {
        guard seconds.isFinite, seconds >= 0, start.timeIntervalSince1970.isFinite else { return nil }
        return start.addingTimeInterval(seconds)
    }

    public func businessDuration(from: Date, to: Date) -> TimeInterval {
        max(0, to.timeIntervalSince(from))
    }
}

/// The guaranteed response time of a severity and the clock it runs on,
/// from the R-SLA-2 table.
///
/// Kept beside the calendar so every service that shows or checks a
/// deadline reads the same table.
public struct ResponseTimeTarget: Sendable, Hashable {
    /// Which clock a response time runs on.
    public enum ClockKind: Sendable, Hashable {
        case wallClock24x7
        case businessHours
    }

    public let severity: Int
    /// Seconds of counted time.
    public let duration: TimeInterval
    public let clockKind: ClockKind

    /// R-SLA-2: 1 → 30 min and 2 → 4 h on the 24×7 wall clock; 3 → 6 and
    /// 4 → 8 business hours. `nil` for any other severity.
    public init?(severity: Int) {
        switch severity {
        case 1: (self.duration, self.clockKind) = (30 * 60, .wallClock24x7)
        case 2: (self.duration, self.clockKind) = (4 * 3600, .wallClock24x7)
        case 3: (self.duration, self.clockKind) = (6 * 3600, .businessHours)
        case 4: (self.duration, self.clockKind) = (8 * 3600, .businessHours)
        default: return nil
        }
        self.severity = severity
    }

    /// The clock to count on for an incident owned by `office`.
    public func clock(for office: OfficeCalendar) -> any ResponseClock {
        switch self.clockKind {
        case .wallClock24x7: WallClock24x7()
        case .businessHours: office
        }
    }

    /// When the response is due for a clock started at `start`; `nil` for a
    /// business-hours office that never opens again, or a `start` the
    /// arithmetic does not handle.
    public func due(from start: Date, office: OfficeCalendar) -> Date? {
        self.clock(for: office).add(businessDuration: self.duration, to: start)
    }
}
