import Foundation
import SupportRPC
import Synchronization

/// The one way domain code learns the time.
///
/// Production services run on ``WallClock``; tests and `--fake-clock` runs
/// use ``ManualClock``, which only moves when told to, so an SLA scenario
/// that spans a weekend runs in milliseconds.
public protocol ServiceClock: Sendable {
    func now() -> Date
}

/// The system's real-time clock.
public struct WallClock: ServiceClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that stands still until ``set(to:)`` or ``advance(by:)`` moves
/// it, forward only, and never out of ``RequestLimits/supportedTimes``
/// (years 1970-9999): a service dates its events by this clock, and an
/// event dated in the year 33658 crashed every consumer (issue 21).
///
/// Services that keep timers register a listener with ``onChange(_:)``; a
/// move returns only after every listener has handled the new time, so a
/// caller of `Clock/Advance` sees everything that came due already done.
public final class ManualClock: ServiceClock {
    public typealias Listener = @Sendable (Date) async -> Void

    private struct State {
        var now: Date
        var listeners: [Listener] = []
    }

    private let state: Mutex<State>
    /// Serialises moves so that listeners see times in order.
    private let moves = MoveQueue()

    public init(start: Date) {
        self.state = Mutex(State(now: start))
    }

    public func now() -> Date { self.state.withLock { $0.now } }

    /// Adds a listener called after every move with the new time.
    public func onChange(_ listener: @escaping Listener) {
        self.state.withLock { $0.listeners.append(listener) }
    }

    /// Moves the clock to `time`.
    /// - Throws: ``ClockError/backwards`` when `time` is before now,
    ///   ``ClockError/outOfRange`` when it is outside the supported times.
    @discardableResult
    public func set(to time: Date) async throws -> Date {
        guard RequestLimits.supportedTimes.contains(time) else { throw ClockError.outOfRange(requested: time) }
        return try await self.moves.run {
            let listeners = try self.state.withLock { state -> [Listener] in
                guard time >= state.now else { throw ClockError.backwards(now: state.now, requested: time) }
                state.now = time
                return state.listeners
            }
            for listener in listeners { await listener(time) }
            return time
        }
    }

    /// Moves the clock forward by `interval` seconds.
    /// - Throws: ``ClockError/negative`` for a negative or non-finite
    ///   interval, ``ClockError/outOfRange`` when the result would leave the
    ///   supported times (the clock is then unchanged).
    @discardableResult
    public func advance(by interval: TimeInterval) async throws -> Date {
        guard interval >= 0, interval.isFinite else { throw ClockError.negative(interval) }
        return try await self.moves.run {
            let (time, listeners) = try self.state.withLock { state -> (Date, [Listener]) in
                let moved = state.now + interval
                guard RequestLimits.supportedTimes.contains(moved) else { throw ClockError.outOfRange(requested: moved) }
                state.now = moved
                return (state.now, state.listeners)
            }
            for listener in listeners { await listener(time) }
            return time
        }
    }
}

public enum ClockError: Error, Equatable, Sendable {
    case backwards(now: Date, requested: Date)
    case negative(TimeInterval)
    /// Outside ``RequestLimits/supportedTimes``.
    case outOfRange(requested: Date)
}

/// Runs async operations one at a time, in arrival order.
final class MoveQueue: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func run<T: Sendable>(_ operation: @Sendable () async throws -> T) async throws -> T {
        await withCheckedContinuation { continuation in
            let proceed = self.state.withLock { state in
                if state.busy {
                    state.waiters.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if proceed { continuation.resume() }
        }
        defer {
            let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                if state.waiters.isEmpty {
                    state.busy = false
                    return nil
                }
                return state.waiters.removeFirst()
            }
            next?.resume()
        }
        return try await operation()
    }
}
