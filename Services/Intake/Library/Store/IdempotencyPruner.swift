import Foundation
import GRDB
import Logging
import ServiceKit
import ServiceLifecycle

/// Forgets idempotency records once they are older than ``retention``.
///
/// A key protects a call against its own retries, which come within
/// seconds or minutes of the first attempt. Kept forever, the records grew
/// intake's database by about 600 bytes per created thing (the first
/// response), and every OpenIncident paid a random page of their key index
/// in the WAL, from a tree that only grew. A retry later than the
/// retention is a new call: it creates again (decision 20; docs/operations.md
/// says so beside `--idempotency-key`).
final class IdempotencyPruner: Service, Sendable {
    /// How long a key answers its first call's response.
    static let retention: TimeInterval = 7 * 24 * 3600
    /// Records deleted per transaction, so the one writer is held briefly.
    static let batchSize = 1000

    let database: ServiceDatabase
    let clock: any ServiceClock
    let logger: Logger
    let interval: Duration

    init(database: ServiceDatabase, clock: any ServiceClock, logger: Logger, interval: Duration = .seconds(600)) {
        self.database = database
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let pruned = try await self.prune()
                if pruned > 0 { self.logger.debug("forgot old idempotency keys", metadata: ["records": "\(pruned)"]) }
            } catch {
                self.logger.warning("old idempotency keys could not be forgotten; trying again later", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }

    /// Deletes the records older than ``retention`` on the service's clock.
    /// Records are inserted in time order, so the old ones are the table's
    /// first rowids: read in rowid order, they end at the first newer one,
    /// and no index on their time is needed.
    ///
    /// - Returns: How many were deleted.
    @discardableResult
    func prune() async throws -> Int {
        let cutoff = (self.clock.now() - Self.retention).timeIntervalSince1970
        var total = 0
        while true {
            let deleted = try await self.database.writer.write { db -> Int in
                let oldest = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT rowid, created_at FROM idempotency ORDER BY rowid LIMIT ?"), arguments: [Self.batchSize]
                )
                let old = oldest.prefix { ($0[1] as Double) < cutoff }
                guard let last = old.last else { return 0 }
                try db.execute(sql: "DELETE FROM idempotency WHERE rowid <= ?", arguments: [last[0] as Int64])
                return old.count
            }
            total += deleted
            if deleted < Self.batchSize { return total }
        }
    }
}
