import CoreMetrics
import Foundation
import GRDB
import Logging
import ServiceKit
import ServiceLifecycle

/// Fires sla-timer's durable timers when they fall due.
///
/// The deadline queue is the `timer` table's partial index of armed timers,
/// `timer_armed_due` on (due, sequence) (decision 13): the next due time is
/// one probe away, so the scheduler sleeps exactly until it (no
/// polling window) and, once awake, fires every timer that is due, earliest
/// first, however many came due together. At start it fires what came due
/// while the service was down. On a fake clock it fires from the clock's
/// listener, before Clock/Set or Advance returns. When to look is
/// ``DueWorkLoop``'s (issue 20); what to fire is this type's.
final class TimerScheduler: Service, Sendable {
    let database: ServiceDatabase
    let engine: SLAEngine
    let clock: any ServiceClock
    let logger: Logger
    let relay: OutboxRelay?
    private let loop: DueWorkLoop
    /// How late timers fire (actual − due), on the service's clock.
    private let fireLag: CoreMetrics.Timer
    /// Attempts to fire a timer that failed (it stays armed and is tried
    /// again): an operator alerts on this rising, since a timer that keeps
    /// failing is a warning or breach nobody hears of.
    private let fireFailures: CoreMetrics.Counter

    init(environment: ServiceEnvironment, engine: SLAEngine) {
        self.database = environment.database
        self.engine = engine
        self.clock = environment.clock
        self.logger = environment.logger
        self.relay = environment.relay
        self.fireLag = CoreMetrics.Timer(label: "supportdesk_sla_timer_fire_lag_seconds", dimensions: [], factory: environment.metrics.factory)
        self.fireFailures = CoreMetrics.Counter(label: "supportdesk_sla_timer_fire_failures_total", dimensions: [], factory: environment.metrics.factory)
        self.loop = DueWorkLoop(clock: environment.clock, retryAfterFailure: Self.retryAfterFailure)
        self.loop.workWhenClockMoves { [weak self] in _ = await self?.fireDue() }
    }

    /// Timers may have changed: look again.
    func wake() { self.loop.wake() }

    /// How long a timer that failed to fire waits before it is tried again
    /// (the timers behind it do not wait).
    static let retryAfterFailure: Duration = .seconds(5)

    func run() async throws {
        await self.loop.run(
            nextDue: { try self.database.writer.read { db in try SLAStore.nextDue(in: db) } },
            work: { await self.fireDue().failing }
        )
    }

    /// Most timers fired in one transaction: enough that 10k due together
    /// are a few dozen commits, few enough that a batch holds the writer
    /// only briefly.
    static let batchSize = 256

    /// Fires every timer due by now, in due order, up to ``batchSize`` in a
    /// transaction, so a crash either fires a timer again after the restart
    /// or never (issue 9: one commit per timer made 2,000 timers due
    /// together take 2 s).
    ///
    /// A batch is first fired the fast way: the due timers read with one
    /// query and fired one after the other, no savepoints (issue 9: the
    /// per-timer probe and savepoint were three of a breach's ten
    /// statements). If any timer fails, that transaction rolls back and the
    /// batch is fired again timer by timer, each in a savepoint of its own:
    /// a timer that fails stays armed, its error is logged, and the timers
    /// behind it fire anyway (it is tried again after
    /// ``retryAfterFailure``). Once one failing timer blocked every timer
    /// due after it.
    @discardableResult
    func fireDue() async -> (fired: Int, failing: Bool) {
        var fired = 0
        var careful = false
        var failing = false
        while true {
            let now = self.clock.now()
            do {
                let oneByOne = careful
                let (batch, full, failures) = try await self.database.writer.write { db -> ([Timer], Bool, [(Timer, any Error)]) in
                    if oneByOne { return try self.fireOneByOne(dueBy: now, in: db) }
                    let (batch, full) = try self.fireTogether(dueBy: now, in: db)
                    return (batch, full, [])
                }
                careful = false
                for (timer, error) in failures {
                    failing = true
                    self.fireFailures.increment()
                    self.logger.error("a timer could not fire; it stays armed and is tried again later", metadata: [
                        "timer": "\(timer.id)", "kind": "\(timer.kind)", "incident": "\(timer.incidentID)", "error": "\(error)",
                    ])
                }
                fired += batch.count
                for timer in batch {
                    let lag = now.timeIntervalSince(timer.dueAt.date)
                    self.fireLag.recordNanoseconds(Int64(max(0, lag) * 1e9))
                    self.logger.debug("timer fired", metadata: [
                        "timer": "\(timer.id)", "kind": "\(timer.kind)", "incident": "\(timer.incidentID)", "lag_seconds": "\(lag)",
                    ])
                }
                // A full batch of nothing but failures: the rest waits for the retry.
                if !full || batch.isEmpty { break }
            } catch where !careful {
                careful = true
            } catch {
                self.logger.error("timers could not fire; retrying later", metadata: ["error": "\(error)"])
                self.fireFailures.increment()
                failing = true
                break
            }
        }
        if fired > 0 { self.relay?.wake() }
        return (fired, failing)
    }

    /// Fires up to ``batchSize`` due timers; throws if any fails (the caller
    /// rolls back). Returns them and whether more may be due.
    private func fireTogether(dueBy now: Date, in db: Database) throws -> ([Timer], Bool) {
        let due = try SLAStore.dueTimers(by: now, limit: Self.batchSize, in: db)
        var fired: [Timer] = []
        var incidents = Set<String>()
        for timer in due {
            // Firing may cancel the incident's other timers (a breach, its
            // cycle's warnings): a second timer of an incident is looked at again.
            if !incidents.insert(timer.incidentID).inserted, try !SLAStore.isArmed(timer.id, in: db) { continue }
            fired.append(try self.engine.fire(timer, at: now, in: db))
        }
        return (fired, due.count == Self.batchSize)
    }

    /// Fires up to ``batchSize`` due timers one by one, each in a savepoint:
    /// one that fails is rolled back, left armed and returned with its
    /// error; the others fire.
    private func fireOneByOne(dueBy now: Date, in db: Database) throws -> ([Timer], Bool, [(Timer, any Error)]) {
        let due = try SLAStore.dueTimers(by: now, limit: Self.batchSize, in: db)
        var fired: [Timer] = []
        var failures: [(Timer, any Error)] = []
        for timer in due where try SLAStore.isArmed(timer.id, in: db) {
            do {
                try db.inSavepoint {
                    fired.append(try self.engine.fire(timer, at: now, in: db))
                    return .commit
                }
            } catch {
                // Disk full and the like end the transaction: that is the
                // whole pass's error, not this timer's.
                guard db.isInsideTransaction else { throw error }
                failures.append((timer, error))
            }
        }
        return (fired, due.count == Self.batchSize, failures)
    }
}
