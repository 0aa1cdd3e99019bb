import Foundation
import GRDB
import Logging
import ServiceLifecycle
import SupportRPC

/// The idempotency records of one service: for each (caller identity,
/// method, key), the request that first used the key and the response it
/// was answered. ``ServiceWriter`` writes and reads them; every service has
/// the table (ServiceKit's migrations).
///
/// A key is scoped by who called and what was called: two organisations'
/// contacts, or one caller's two methods, may use the same key without
/// ever meeting each other's answers.
public enum IdempotencyRecords {
    /// The longest `idempotency.key` accepted, in UTF-8 bytes: a key is
    /// kept for ``IdempotencyPruner/retention`` and a client's UUID or
    /// hash fits many times over.
    public static let maximumKeyBytes = 128

    /// Where a record belongs: the caller's identity (`contact:…`,
    /// `staff:…`, empty for an unspecified caller), the method and the key.
    public struct Scope: Sendable, Hashable {
        public var caller: String
        public var method: String
        public var key: String

        public init(caller: String, method: String, key: String) {
            self.caller = caller
            self.method = method
            self.key = key
        }
    }

    /// What the first call with a key asked and was answered.
    public struct Record: Sendable {
        public var request: Data
        public var response: Data
    }

    static func record(_ scope: Scope, in db: Database) throws -> Record? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT request, response FROM idempotency_record WHERE caller = ? AND method = ? AND key = ?"),
            arguments: [scope.caller, scope.method, scope.key]
        ).map { Record(request: $0[0], response: $0[1]) }
    }

    static func exists(_ scope: Scope, in db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM idempotency_record WHERE caller = ? AND method = ? AND key = ?"),
            arguments: [scope.caller, scope.method, scope.key]
        ) ?? false
    }

    /// Records the first call with `scope`'s key.
    ///
    /// - Returns: false, recording nothing, when the key has a record already.
    static func insert(_ scope: Scope, request: Data, response: Data, at now: Date, in db: Database) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT INTO idempotency_record (caller, method, key, request, response, created_at)
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """,
            arguments: [scope.caller, scope.method, scope.key, request, response, now.timeIntervalSince1970]
        )
        return db.changesCount == 1
    }

    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("servicekit-3-idempotency") { db in
            // Rows are inserted in time order, so the pruner finds the old
            // ones by rowid: no index on created_at.
            try db.create(table: "idempotency_record") { table in
                table.column("caller", .text).notNull()
                table.column("method", .text).notNull()
                table.column("key", .text).notNull()
                table.column("request", .blob).notNull()
                table.column("response", .blob).notNull()
                table.column("created_at", .double).notNull()
                table.primaryKey(["caller", "method", "key"])
            }
        }
    }
}

extension Caller {
    /// The identity an idempotency key is scoped by.
    var scope: String {
        switch self {
        case .unspecified: ""
        case .contact(let email): "contact:\(email)"
        case .staff(let id): "staff:\(id)"
        }
    }
}

/// Forgets idempotency records once they are older than ``retention``.
///
/// A key protects a call against its own retries, which come within
/// seconds or minutes of the first attempt. Kept forever, the records grow
/// the database by a request and a response per created thing, and every
/// write pays a random page of their key index in the WAL, from a tree that
/// only grows. A retry later than the retention is a new call: it creates
/// again (decision 20; docs/operations.md).
public final class IdempotencyPruner: Service, Sendable {
    /// How long a key answers its first call's response.
    public static let retention: TimeInterval = 7 * 24 * 3600
    /// Records deleted per transaction, so the one writer is held briefly.
    public static let batchSize = 1000

    let database: ServiceDatabase
    let clock: any ServiceClock
    let logger: Logger
    let interval: Duration

    public init(database: ServiceDatabase, clock: any ServiceClock, logger: Logger, interval: Duration = .seconds(600)) {
        self.database = database
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
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
    public func prune() async throws -> Int {
        let cutoff = (self.clock.now() - Self.retention).timeIntervalSince1970
        var total = 0
        while true {
            let deleted = try await self.database.writer.write { db -> Int in
                let oldest = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT rowid, created_at FROM idempotency_record ORDER BY rowid LIMIT ?"),
                    arguments: [Self.batchSize]
                )
                let old = oldest.prefix { ($0[1] as Double) < cutoff }
                guard let last = old.last else { return 0 }
                try db.execute(sql: "DELETE FROM idempotency_record WHERE rowid <= ?", arguments: [last[0] as Int64])
                return old.count
            }
            total += deleted
            if deleted < Self.batchSize { return total }
        }
    }
}
