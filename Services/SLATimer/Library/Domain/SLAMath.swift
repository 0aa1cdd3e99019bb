import BusinessCalendar
import Foundation
import SupportProto
import SupportRPC

/// The pure arithmetic of response cycles: when a cycle starts, when it is
/// due, when to warn, and when a customer-side wait times out.
public enum SLAMath {
    public struct Plan: Sendable, Equatable {
        /// When the vendor received the request.
        public var receivedAt: Date
        /// When the clock starts: `receivedAt`, or the next opening for a
        /// phone-advised severity 1 (R-SLA-3).
        public var startedAt: Date
        public var dueAt: Date
        public var target: TimeInterval
        public var businessHours: Bool
        public var phoneAdvised: Bool
        public var calendarVersion: String
    }

    /// Why no plan can be made. Its description reaches callers in status
    /// messages (ComputeDue, event delivery), so it is a sentence, not the
    /// Swift case (`noTarget(tier: "gold", severity: 3)`).
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case noTarget(tier: String, severity: Int)
        case neverOpen(office: String)
        /// The due time falls after the last instant a Timestamp may carry
        /// (RequestLimits.supportedTimes): a cycle due then would put an
        /// event no service accepts into the outbox (issue 21).
        case beyondSupportedTimes(due: Date)

        public var description: String {
            switch self {
            case .noTarget(let tier, let severity):
                "\(SLAPolicy.fileName) has no response target for tier \(tier), severity \(severity); add one and restart sla-timer"
            case .neverOpen(let office):
                "office \(office)'s calendar has no opening hours ahead, so no business-hours deadline can be reached; check its offices.json entry"
            case .beyondSupportedTimes:
                "the response would be due after 9999-12-31T23:59:59Z, the last time SupportDesk handles; the request is dated too late"
            }
        }
    }

    /// Plans a cycle for `severity` received at `receivedAt`.
    ///
    /// - Parameter startsAtNextOpening: R-SLA-3: severity 1 outside business
    ///   hours by a channel other than phone starts at the next opening.
    public static func plan(
        policy: SLAPolicy, office: OfficeCalendar, tier: String, severity: Int,
        receivedAt: Date, startsAtNextOpening: Bool
    ) throws -> Plan {
        guard let target = policy.target(tier: tier, severity: severity) else {
            throw Failure.noTarget(tier: tier, severity: severity)
        }
        var start = receivedAt
        if startsAtNextOpening {
            guard let opening = office.nextOpening(atOrAfter: receivedAt) else { throw Failure.neverOpen(office: office.id) }
            start = opening
        }
        let clock: any ResponseClock = target.businessHours ? office : WallClock24x7()
        guard let due = clock.add(businessDuration: target.seconds, to: start) else { throw Failure.neverOpen(office: office.id) }
        guard RequestLimits.supportedTimes.contains(due) else { throw Failure.beyondSupportedTimes(due: due) }
        return Plan(
            receivedAt: receivedAt, startedAt: start, dueAt: due, target: target.seconds,
            businessHours: target.businessHours, phoneAdvised: startsAtNextOpening,
            calendarVersion: clock.version
        )
    }

    /// R-SLA-3 decided on the cycle's own facts: severity 1, received
    /// outside the office's business hours, by a channel other than phone.
    public static func startsAtNextOpening(severity: Int, channel: Support_Common_V1_Channel, receivedAt: Date, office: OfficeCalendar) -> Bool {
        severity == 1 && channel != .phone && !office.isOpen(at: receivedAt)
    }

    /// Warning instants inside (start, due): each percentage of the target
    /// and each lead time before due, counted on the cycle's clock.
    public static func warnings(
        policy: SLAPolicy, office: OfficeCalendar, plan: Plan
    ) -> [(at: Date, percent: UInt32, before: TimeInterval)] {
        let clock: any ResponseClock = plan.businessHours ? office : WallClock24x7()
        var result: [(Date, UInt32, TimeInterval)] = []
        for percent in policy.warnAtPercent {
            if let at = clock.add(businessDuration: plan.target * Double(percent) / 100, to: plan.startedAt) {
                result.append((at, UInt32(percent), 0))
            }
        }
        for lead in policy.warnBefore where lead < plan.target {
            if let at = clock.add(businessDuration: plan.target - lead, to: plan.startedAt) {
                result.append((at, 0, lead))
            }
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// R-SLA-6: one calendar month on the customer's side, in the office's
    /// time zone (Jan 31 + 1 month = Feb 28/29), and the warning a week
    /// before.
    public static func customerTimeout(sideSince: Date, timeZone: TimeZone) -> (warning: Date, closes: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let closes = calendar.date(byAdding: .month, value: 1, to: sideSince) ?? sideSince.addingTimeInterval(30 * 86400)
        return (closes.addingTimeInterval(-7 * 86400), closes)
    }
}
