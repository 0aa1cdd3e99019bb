import Foundation
import GRDB
import Logging
import ServiceLifecycle
import SupportProto
import SupportRPC

/// Delivers a producer's outbox to each subscriber, in outbox order, by
/// `EventSink/Deliver`.
///
/// Each subscriber has its own cursor (the last outbox position it
/// accepted), so one that is down only delays itself: the others, and the
/// producer's own RPCs, go on. A failed delivery is retried with jittered
/// exponential backoff, which new events do not cut short; a subscriber that
/// comes back catches up from its cursor.
public final class OutboxRelay: Service, Sendable {
    public struct Subscriber: Sendable {
        public let name: String
        public let client: RPCClient

        public init(name: String, client: RPCClient) {
            self.name = name
            self.client = client
        }
    }

    let database: ServiceDatabase
    let subscribers: [Subscriber]
    let logger: Logger
    let batchSize: Int
    private let wakeups: [String: Wakeup]

    public init(database: ServiceDatabase, subscribers: [Subscriber], logger: Logger, batchSize: Int = 100) {
        self.database = database
        self.subscribers = subscribers
        self.logger = logger
        self.batchSize = batchSize
        self.wakeups = Dictionary(uniqueKeysWithValues: subscribers.map { ($0.name, Wakeup()) })
    }

    /// Tells the delivery loops that new rows were committed.
    public func wake() {
        for wakeup in self.wakeups.values { wakeup.signal() }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for subscriber in self.subscribers {
                    group.addTask { await self.deliver(to: subscriber) }
                }
            }
        } onGracefulShutdown: {
            // Wake every loop so it sees the shutdown now, not after its wait.
            self.wake()
        }
    }

    /// What one subscriber has yet to accept.
    public struct Backlog: Sendable, Equatable {
        /// Events written but not yet accepted.
        public var depth: Int
        /// When the oldest of them was written (service clock); nil when none.
        public var oldestCreatedAt: Date?
    }

    /// Events written but not yet accepted, per subscriber.
    public func depth() throws -> [String: Int] {
        try self.backlog().mapValues(\.depth)
    }

    /// The backlog of every subscriber, read in one transaction.
    public func backlog() throws -> [String: Backlog] {
        try self.database.writer.read { db in
            let head = try Int.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(position), 0) FROM outbox_event")) ?? 0
            var backlog: [String: Backlog] = [:]
            for subscriber in self.subscribers {
                let cursor = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT delivered_through FROM outbox_cursor WHERE subscriber = ?"), arguments: [subscriber.name]
                ) ?? 0
                let oldest = try Double.fetchOne(
                    db.cachedStatement(sql: "SELECT created_at FROM outbox_event WHERE position > ? ORDER BY position LIMIT 1"), arguments: [cursor]
                )
                backlog[subscriber.name] = Backlog(depth: head - cursor, oldestCreatedAt: oldest.map(Date.init(timeIntervalSince1970:)))
            }
            return backlog
        }
    }

    private func deliver(to subscriber: Subscriber) async {
        let wakeup = self.wakeups[subscriber.name]!
        var failures = 0
        var logger = self.logger
        logger[metadataKey: "subscriber"] = "\(subscriber.name)"
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let batch = try await self.pending(for: subscriber.name)
                guard !batch.isEmpty else {
                    // Nothing to send: sleep until woken, with a periodic look
                    // in case a wake-up was missed.
                    await wakeup.wait(timeout: .seconds(1))
                    continue
                }
                var request = Support_Events_V1_DeliverRequest()
                request.events = batch.map(\.event)
                let response = try await subscriber.client.call(EventSinkRPC.deliver, request, timeout: .seconds(5))
                let accepted = min(response.appliedEventIds.count, batch.count)
                guard accepted > 0 else { throw RPCError(.internal, "\(subscriber.name) accepted none of \(batch.count) events") }
                try await self.advance(subscriber.name, to: batch[accepted - 1].position)
                if failures > 0 {
                    logger.info("delivering again after \(failures) failed attempts")
                }
                failures = 0
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                failures += 1
                let delay = Self.backoff(afterFailures: failures)
                let level: Logger.Level = failures == 1 || failures % 20 == 0 ? .warning : .debug
                logger.log(level: level, "event delivery failed; retrying", metadata: [
                    "error": "\(error)", "attempt": "\(failures)", "retry_in": "\(delay)",
                ])
                try? await self.recordFailure(subscriber.name, error: error)
                // Only shutdown ends the backoff early: new events do not, or
                // a failing subscriber would be called on every commit of a
                // busy producer, a retry storm without backoff (issue 10).
                let retryAt = ContinuousClock.now + delay
                while ContinuousClock.now < retryAt && !Task.isCancelled && !Task.isShuttingDownGracefully {
                    await wakeup.wait(timeout: retryAt - ContinuousClock.now)
                }
            }
        }
    }

    struct Pending {
        let position: Int64
        let event: Event
    }

    private func pending(for subscriber: String) async throws -> [Pending] {
        // Read first: the rows up to it are on disk whatever the read sees
        // (an event not yet synced must not reach a subscriber, decision 15).
        let deliverable = self.database.deliverableOutboxPosition
        return try await self.database.writer.read { db in
            let cursor = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT delivered_through FROM outbox_cursor WHERE subscriber = ?"), arguments: [subscriber]
            ) ?? 0
            return try Row.fetchAll(
                db.cachedStatement(sql: "SELECT position, payload FROM outbox_event WHERE position > ? AND position <= ? ORDER BY position LIMIT ?"),
                arguments: [cursor, deliverable, self.batchSize]
            ).map { row in
                Pending(position: row["position"], event: try Event(serializedBytes: row["payload"] as Data))
            }
        }
    }

    private func advance(_ subscriber: String, to position: Int64) async throws {
        try await self.database.writer.write { db in
            try db.executeCached(
                sql: """
                    INSERT INTO outbox_cursor (subscriber, delivered_through, attempts, last_error) VALUES (?, ?, 0, NULL)
                    ON CONFLICT(subscriber) DO UPDATE SET delivered_through = excluded.delivered_through, attempts = 0, last_error = NULL
                    """,
                arguments: [subscriber, position]
            )
        }
    }

    private func recordFailure(_ subscriber: String, error: any Error) async throws {
        try await self.database.writer.write { db in
            try db.executeCached(
                sql: """
                    INSERT INTO outbox_cursor (subscriber, delivered_through, attempts, last_error) VALUES (?, 0, 1, ?)
                    ON CONFLICT(subscriber) DO UPDATE SET attempts = attempts + 1, last_error = excluded.last_error
                    """,
                arguments: [subscriber, "\(error)"]
            )
        }
    }

    /// Full jitter over 50 ms doubling to 5 s.
    static func backoff(afterFailures failures: Int) -> Duration {
        let ceiling = min(5.0, 0.05 * pow(2.0, Double(min(failures - 1, 10))))
        return .milliseconds(Int64(ceiling * 1000 * Double.random(in: 0.5...1.0)))
    }
}
