import Foundation
import ServiceLifecycle

/// Runs a service's due work when it falls due: sla-timer's durable timers,
/// notifier's deliveries (issue 20: each had its own copy of this loop).
///
/// The owner keeps its work and its deadline queue; the loop decides when to
/// look. It does the work at once when it starts, so whatever came due while
/// the service was down is done first (durable timers fire once after a
/// restart). Then it sleeps until the owner's next due time, or until
/// ``wake()`` says the queue changed, and does the work again.
///
/// - The sleep ends exactly at the next due time, with no polling window:
///   the owner's next due time is one probe of an index (sla-timer's partial
///   index of armed timers, decision 13), cheap enough to ask before every
///   sleep.
/// - A pass that reports a failure is not repeated for
///   ``retryAfterFailure``: an item that keeps failing stays due in the
///   past, and without the pause the loop would retry it every millisecond.
///   The items behind it are the owner's to carry on with in the same pass.
/// - On a ``ManualClock`` the loop does not sleep until the next due time:
///   that clock moves only when told to (`Clock/Set`, `Clock/Advance`), never
///   while the loop sleeps. The work runs from the clock's listener instead
///   (``workWhenClockMoves(_:)``), so a move returns with everything that came
///   due already done.
/// - Graceful shutdown ends the sleep at once (before, sla-timer honoured
///   SIGTERM only after its sleep of up to a minute, and `deploy/local/down`
///   timed out) and no pass starts after it; a pass under way finishes.
///
/// On a fake clock the listener and the loop (at start, after ``wake()``) may
/// run the work at the same time: it must be safe to run concurrently, as a
/// pass in a write transaction of its own is.
public struct DueWorkLoop: Sendable {
    /// The longest sleep: with nothing due, or a next due time that could not
    /// be read, the loop still looks again this often.
    public static let longestSleep: Duration = .seconds(60)

    let clock: any ServiceClock
    let retryAfterFailure: Duration
    private let wakeup = Wakeup()

    /// - Parameters:
    ///   - clock: The service's clock, which due times are on.
    ///   - retryAfterFailure: How long the loop waits after a pass that
    ///     reported a failure before it tries again, unless woken.
    public init(clock: any ServiceClock, retryAfterFailure: Duration) {
        self.clock = clock
        self.retryAfterFailure = retryAfterFailure
    }

    /// The due work may have changed (something was armed or queued): look
    /// again now. A wake-up while a pass is under way is kept, so a change
    /// committed during it is not missed.
    public func wake() { self.wakeup.signal() }

    /// On a ``ManualClock``, runs `work` from the clock's listener, so that
    /// `Clock/Set` and `Clock/Advance` return only after what came due is
    /// done; on any other clock it does nothing.
    ///
    /// Call it when the owner is built, not from ``run(nextDue:work:)``:
    /// in-process tests move the clock of a service whose workers are not
    /// running. `work` should hold its owner weakly: the clock belongs to the
    /// whole service and would otherwise keep a finished owner, and its
    /// database, alive. A failure it meets is tried again at the next move.
    public func workWhenClockMoves(_ work: @escaping @Sendable () async -> Void) {
        guard let manual = self.clock as? ManualClock else { return }
        manual.onChange { _ in await work() }
    }

    /// Does the due work now and whenever it falls due, until the task is
    /// cancelled or the service shuts down gracefully.
    ///
    /// - Parameters:
    ///   - nextDue: When the earliest item falls due, on the service's clock;
    ///     nil when nothing is queued. Not asked on a ``ManualClock``.
    ///   - work: Does everything due by now; returns true if something failed
    ///     and is still due (the loop then waits ``retryAfterFailure``).
    public func run(nextDue: () throws -> Date?, work: () async -> Bool) async {
        await withGracefulShutdownHandler {
            var failing = await work()
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                await self.wakeup.wait(timeout: self.sleepTime(failing: failing, nextDue: nextDue))
                guard !Task.isShuttingDownGracefully else { break }
                failing = await work()
            }
        } onGracefulShutdown: {
            self.wakeup.signal()
        }
    }

    /// How long to sleep before the next pass, on the wall clock.
    func sleepTime(failing: Bool, nextDue: () throws -> Date?) -> Duration {
        let untilDue = self.untilNextDue(nextDue)
        // The back-off only ever lengthens the sleep: it is there so a failed
        // item is not tried again at once, not to make the loop look sooner.
        return failing ? max(self.retryAfterFailure, untilDue) : untilDue
    }

    private func untilNextDue(_ nextDue: () throws -> Date?) -> Duration {
        guard !(self.clock is ManualClock), let next = try? nextDue() else { return Self.longestSleep }
        let longest = TimeInterval(Self.longestSleep.components.seconds)
        let seconds = max(0, min(longest, next.timeIntervalSince(self.clock.now())))
        // The extra millisecond wakes the loop just after the due time: the
        // truncation to milliseconds would otherwise wake it just before,
        // to find nothing due and sleep again for nothing.
        return .milliseconds(Int64(seconds * 1000) + 1)
    }
}
