import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport

@testable import ServiceKit

/// The loop sla-timer's timers and notifier's deliveries share (issue 20),
/// run against a stand-in queue of one item.
@Suite("Due-work loop")
struct DueWorkLoopTests {
    @Test("Work due later runs when it falls due, after one sleep rather than polling")
    func runsAtDueTime() async throws {
        let probe = DueWorkProbe(clock: WallClock())
        let due = Date().addingTimeInterval(0.5)
        probe.queue(due: due)
        let loop = DueWorkLoop(clock: probe.clock, retryAfterFailure: .seconds(5))
        try await Self.running(loop, probe) {
            try await eventually("the due item done") { !probe.state.withLock { $0.done }.isEmpty }
        }
        let state = probe.state.withLock { $0 }
        #expect(state.done.count == 1)
        #expect(state.done.allSatisfy { $0 >= due }, "not before it was due: \(state.done) < \(due)")
        // One pass at start and one at the due time (just the one when a
        // busy machine starts the loop late); polling would make dozens.
        #expect((1...2).contains(state.passes.count), "\(state.passes.count) passes")
    }

    @Test("A wake-up makes the loop look again at once instead of sleeping out its minute")
    func wakeUpLooksAgain() async throws {
        // On a fake clock the loop sleeps its longest between passes; only
        // the wake-up can bring it back within the test's time.
        let probe = DueWorkProbe(clock: ManualClock(start: Date(timeIntervalSince1970: 1_796_371_200)))
        let loop = DueWorkLoop(clock: probe.clock, retryAfterFailure: .seconds(5))
        try await Self.running(loop, probe) {
            try await eventually("the pass at start") { probe.state.withLock { $0.passes }.count == 1 }
            probe.queue(due: probe.clock.now())
            loop.wake()
            try await eventually("the woken pass doing the new item") { probe.state.withLock { $0.done }.count == 1 }
        }
    }

    @Test("A pass that failed is tried again after the back-off, not at once")
    func failureBacksOff() async throws {
        let probe = DueWorkProbe(clock: WallClock())
        probe.queue(due: Date(), failures: 1)
        let backOff = Duration.milliseconds(500)
        let loop = DueWorkLoop(clock: probe.clock, retryAfterFailure: backOff)
        try await Self.running(loop, probe) {
            try await eventually("the retry doing the item") { probe.state.withLock { $0.done }.count == 1 }
        }
        // The item was due in the past throughout: without the back-off the
        // loop would have tried it every millisecond.
        let passes = probe.state.withLock { $0.passes }
        #expect(passes.count == 2, "the failed pass and one retry: \(passes.count)")
        if passes.count == 2 { #expect(passes[1] - passes[0] >= backOff, "retried after \(passes[1] - passes[0])") }
    }

    @Test("Graceful shutdown ends the loop's sleep at once, and no pass starts after it")
    func gracefulShutdown() async throws {
        let probe = DueWorkProbe(clock: WallClock())
        let loop = DueWorkLoop(clock: probe.clock, retryAfterFailure: .seconds(5))
        // Nothing queued: the loop sleeps a minute after its first pass;
        // `running` shuts it down and waits for it to end.
        try await Self.running(loop, probe) {
            try await eventually("the pass at start") { probe.state.withLock { $0.passes }.count == 1 }
        }
        #expect(probe.state.withLock { $0.passes }.count == 1, "no pass after the shutdown")
    }

    @Test("On a fake clock, a move runs the due work before Set or Advance returns, the loop not running")
    func fakeClockRunsWorkBeforeReturning() async throws {
        // As in-process tests: the service's workers are not running, and a
        // caller of Clock/Advance must still see what came due done.
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_371_200))
        let probe = DueWorkProbe(clock: clock)
        let due = clock.now().addingTimeInterval(3600)
        probe.queue(due: due)
        let loop = DueWorkLoop(clock: clock, retryAfterFailure: .seconds(5))
        loop.workWhenClockMoves { _ = probe.work() }

        try await clock.advance(by: 1800)
        #expect(probe.state.withLock { $0.passes }.count == 1, "the move ran a pass")
        #expect(probe.state.withLock { $0.done }.isEmpty, "nothing was due yet")
        try await clock.set(to: due)
        #expect(probe.state.withLock { $0.done } == [due], "done by the time set(to:) returned")
    }

    /// A clock that stands still without being a ``ManualClock``, so the
    /// loop computes its sleeps as on the wall clock.
    struct FixedClock: ServiceClock {
        let time: Date
        func now() -> Date { self.time }
    }

    struct SleepCase: Sendable, CustomTestStringConvertible {
        let name: String
        let nextDue: TimeInterval?
        let failing: Bool
        let sleep: Duration
        var testDescription: String { self.name }
    }

    static let sleepCases = [
        SleepCase(name: "due in 2 s: until just after it", nextDue: 2, failing: false, sleep: .milliseconds(2001)),
        SleepCase(name: "due now or past: 1 ms", nextDue: -30, failing: false, sleep: .milliseconds(1)),
        SleepCase(name: "due in an hour: a minute (and the millisecond)", nextDue: 3600, failing: false, sleep: .milliseconds(60_001)),
        SleepCase(name: "nothing queued: a minute", nextDue: nil, failing: false, sleep: .seconds(60)),
        SleepCase(name: "failing, still due: the back-off", nextDue: -30, failing: true, sleep: .seconds(5)),
        SleepCase(name: "failing, next due after the back-off: the next due time", nextDue: 8, failing: true, sleep: .milliseconds(8001)),
    ]

    @Test("How long the loop sleeps on a real clock", arguments: Self.sleepCases)
    func sleepTime(_ example: SleepCase) {
        let now = Date(timeIntervalSince1970: 1_796_371_200)
        let loop = DueWorkLoop(clock: FixedClock(time: now), retryAfterFailure: .seconds(5))
        let sleep = loop.sleepTime(failing: example.failing) { example.nextDue.map { now.addingTimeInterval($0) } }
        #expect(sleep == example.sleep)
    }

    @Test("A next due time that cannot be read, and a fake clock, sleep the longest; a fake clock never asks")
    func sleepTimeWithoutANextDueTime() {
        struct Unreadable: Error {}
        let fixed = DueWorkLoop(clock: FixedClock(time: Date()), retryAfterFailure: .seconds(5))
        #expect(fixed.sleepTime(failing: false) { throw Unreadable() } == DueWorkLoop.longestSleep)
        let manual = DueWorkLoop(clock: ManualClock(start: Date()), retryAfterFailure: .seconds(5))
        let asked = Mutex(false)
        let sleep = manual.sleepTime(failing: true) {
            asked.withLock { $0 = true }
            return Date()
        }
        #expect(sleep == DueWorkLoop.longestSleep)
        #expect(!asked.withLock { $0 }, "a fake clock only moves by RPC, which does the work through the listener")
    }

    /// Runs `loop` as the one service of a group while `body` runs, then
    /// shuts the group down gracefully, as a service process does on SIGTERM.
    static func running(_ loop: DueWorkLoop, _ probe: DueWorkProbe, _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: [DueWorkService(loop: loop, probe: probe)], logger: LogRecorder().logger())
        let running = Task { try await group.run() }
        do { try await body() } catch {
            running.cancel()
            throw error
        }
        await group.triggerGracefulShutdown()
        do {
            try await eventually("the loop ending on graceful shutdown") { probe.state.withLock { $0.finished } }
        } catch {
            running.cancel()
            throw error
        }
        try await running.value
    }
}

/// A queue of at most one item for the loop to work on; records each pass.
final class DueWorkProbe: Sendable {
    struct State {
        var due: Date?
        /// Passes still to fail while the item is due.
        var failures = 0
        /// When each pass ran.
        var passes: [ContinuousClock.Instant] = []
        /// The service clock's time at each pass that did the item.
        var done: [Date] = []
        /// Whether the loop has returned.
        var finished = false
    }

    let clock: any ServiceClock
    let state = Mutex(State())

    init(clock: any ServiceClock) { self.clock = clock }

    func queue(due: Date, failures: Int = 0) {
        self.state.withLock { state in
            state.due = due
            state.failures = failures
        }
    }

    func nextDue() -> Date? { self.state.withLock { $0.due } }

    /// One pass: does the item if it is due; returns true if that failed.
    func work() -> Bool {
        let now = self.clock.now()
        return self.state.withLock { state in
            state.passes.append(.now)
            guard let due = state.due, due <= now else { return false }
            if state.failures > 0 {
                state.failures -= 1
                return true
            }
            state.done.append(now)
            state.due = nil
            return false
        }
    }
}

/// The loop as a worker runs it.
struct DueWorkService: Service {
    let loop: DueWorkLoop
    let probe: DueWorkProbe

    func run() async throws {
        await self.loop.run(nextDue: { self.probe.nextDue() }, work: { self.probe.work() })
        self.probe.state.withLock { $0.finished = true }
    }
}
