import Foundation
import GRDB
import SupportProto
import SupportRPC

/// `support.clock.v1.Clock` on every service: read the time, and move it on
/// a `--fake-clock` service.
public struct ClockService: RPCService {
    let serviceName: String
    let clock: any ServiceClock
    /// Records each move with its idempotency key; the stored time makes a
    /// move survive a restart (a service's time never runs back).
    let writes: ServiceWriter

    public init(serviceName: String, clock: any ServiceClock, writes: ServiceWriter) {
        self.serviceName = serviceName
        self.clock = clock
        self.writes = writes
    }

    /// Stores the time the clock moved to, with the call's idempotency record.
    private static func persist(_ db: Database, _ state: Support_Clock_V1_ClockState) throws {
        try ServiceDatabase.persistFakeClock(state.now.date, in: db)
    }

    public func register(into router: inout RPCRouter) {
        router.register(ClockRPC.get, defaultTimeout: .seconds(5)) { _, _ in
            self.state(self.clock.now())
        }
        router.register(ClockRPC.set) { request, context in
            guard request.hasTime else { throw RPCError.invalidArgument(field: "time", "Set needs a time, e.g. 2026-12-04T08:00:00Z") }
            let clock = try self.controllable()
            do {
                return try await self.writes.recorded(context, persist: Self.persist) {
                    self.state(try await clock.set(to: request.time.date))
                }
            } catch ClockError.outOfRange {
                // RequestLimits refuses such a `time` already; this is the
                // clock's own guard, named the same way.
                throw RequestLimits.outOfRange(field: "time", "time is outside 1970-01-01T00:00:00Z...9999-12-31T23:59:59Z; the clock is unchanged")
            } catch let ClockError.backwards(now, requested) {
                throw RPCError(
                    .failedPrecondition,
                    "\(self.serviceName)'s clock is at \(now.rfc3339) and only moves forward; \(requested.rfc3339) is earlier. Restart the service with a new --fake-clock to go back."
                )
            }
        }
        router.register(ClockRPC.advance) { request, context in
            let seconds = Double(request.by.seconds) + Double(request.by.nanos) / 1e9
            guard seconds >= 0 else { throw RPCError.invalidArgument(field: "by", "the clock only moves forward; give a positive duration") }
            guard seconds <= Self.longestAdvance else {
                throw RequestLimits.outOfRange(field: "by", "by is \(request.by.seconds) seconds; Advance moves the clock at most 100 years (\(Int64(Self.longestAdvance)) seconds) at a time")
            }
            let clock = try self.controllable()
            // With a key, a retried advance answers the first one's time and
            // moves the clock no further.
            do {
                return try await self.writes.recorded(context, persist: Self.persist) {
                    self.state(try await clock.advance(by: seconds))
                }
            } catch ClockError.outOfRange(let requested) {
                throw RequestLimits.outOfRange(
                    field: "by",
                    "advancing \(self.serviceName)'s clock by \(request.by.seconds) seconds would take it to \(requested.timeIntervalSince1970) seconds since 1970, past 9999-12-31T23:59:59Z, the last time SupportDesk handles; the clock is unchanged"
                )
            }
        }
    }

    /// Advance's bound on `by` (clock.proto): 100 Julian years.
    static let longestAdvance: TimeInterval = 100 * 365.25 * 86_400

    private func controllable() throws -> ManualClock {
        guard let clock = self.clock as? ManualClock else {
            throw RPCError(
                .permissionDenied,
                "\(self.serviceName) runs on the wall clock, which cannot be moved; start it with --fake-clock START to control time"
            )
        }
        return clock
    }

    private func state(_ now: Date) -> Support_Clock_V1_ClockState {
        var state = Support_Clock_V1_ClockState()
        state.service = self.serviceName
        state.now = .init(date: now)
        state.controllable = self.clock is ManualClock
        return state
    }
}

extension Date {
    /// RFC 3339 in UTC with whole seconds, e.g. `2026-12-04T08:00:00Z`.
    public var rfc3339: String {
        self.formatted(.iso8601)
    }
}
