import CoreMetrics
import Foundation
import GRDB
import Logging
import ServiceKit
import ServiceLifecycle

/// Fires sla-timer's durable timers when they fall due.
///
/// The deadline queue is the `timer` table's (state, due) index: the next
/// due time is one probe away, so the scheduler sleeps exactly until it (no
/// polling window) and, once awake, fires every timer that is due, earliest
/// first, however many came due together. At start it fires what came due
/// while the service was down. On a fake clock it fires from the clock's
/// listener, before Clock/Set or Advance returns.
final class TimerScheduler: Service, Sendable {
    let database: ServiceDatabase
    let engine: SLAEngine
    let clock: any ServiceClock
    let logger: Logger
    let relay: OutboxRelay?
    private let wakeup = Wakeup()
    /// How late timers fire (actual − due), on the service's clock.
    private let fireLag: CoreMetrics.Timer

    init(environment: ServiceEnvironment, engine: SLAEngine) {
        self.database = environment.database
        self.engine = engine
        self.clock = environment.clock
        self.logger = environment.logger
        self.relay = environment.relay
        self.fireLag = CoreMetrics.Timer(label: "supportdesk_sla_timer_fire_lag_seconds", dimensions: [], factory: environment.metrics.factory)
        if let manual = environment.clock as? ManualClock {
            manual.onChange { [weak self] _ in await self?.fireDue() }
        }
    }

    /// Timers may have changed: look again.
    func wake() { self.wakeup.signal() }

    func run() async throws {
        await withGracefulShutdownHandler {
            await self.fireDue()
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                await self.wakeup.wait(timeout: self.sleepTime())
                guard !Task.isShuttingDownGracefully else { break }
                await self.fireDue()
            }
        } onGracefulShutdown: {
            self.wakeup.signal()
        }
    }

    /// How long until the next timer, on the wall clock; a fake clock only
    /// moves by RPC, which fires through the listener.
    private func sleepTime() -> Duration {
        guard !(self.clock is ManualClock),
            let next = try? self.database.writer.read({ db in try SLAStore.nextDue(in: db) })
        else { return .seconds(60) }
        let seconds = max(0, min(60, next.timeIntervalSince(self.clock.now())))
        return .milliseconds(Int64(seconds * 1000) + 1)
    }

    /// Most timers fired in one transaction: enough that 10k due together
    /// are a few dozen commits, few enough that a batch holds the writer
    /// only briefly.
    static let batchSize = 256

    /// Fires every timer due by now, in due order. Each timer fires in a
    /// savepoint of its own, its state and the events it causes together;
    /// up to ``batchSize`` of them share a transaction, so a crash either
    /// fires a timer again after the restart or never (issue 9: one commit
    /// per timer made 2,000 timers due together take 2 s).
    @discardableResult
    func fireDue() async -> Int {
        var fired = 0
        while true {
            let now = self.clock.now()
            do {
                let batch = try await self.database.writer.write { db -> [Timer] in
                    var batch: [Timer] = []
                    while batch.count < Self.batchSize {
                        var next: Timer?
                        do {
                            try db.inSavepoint {
                                next = try self.engine.fireNext(dueBy: now, in: db)
                                return .commit
                            }
                        } catch where !batch.isEmpty {
                            // Commit the ones that fired; this one is retried
                            // by the next pass, alone, and reports its error.
                            break
                        }
                        guard let timer = next else { break }
                        batch.append(timer)
                    }
                    return batch
                }
                fired += batch.count
                for timer in batch {
                    let lag = now.timeIntervalSince(timer.dueAt.date)
                    self.fireLag.recordNanoseconds(Int64(max(0, lag) * 1e9))
                    self.logger.debug("timer fired", metadata: [
                        "timer": "\(timer.id)", "kind": "\(timer.kind)", "incident": "\(timer.incidentID)", "lag_seconds": "\(lag)",
                    ])
                }
                if batch.count < Self.batchSize { break }
            } catch {
                self.logger.error("a timer could not fire; retrying on the next wake-up", metadata: ["error": "\(error)"])
                break
            }
        }
        if fired > 0 { self.relay?.wake() }
        return fired
    }
}
