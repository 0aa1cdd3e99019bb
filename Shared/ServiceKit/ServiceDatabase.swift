import Foundation
import GRDB

/// A service's own SQLite database: WAL, foreign keys on, migrated on open.
public struct ServiceDatabase: Sendable {
    public let path: String
    public let writer: DatabasePool
    /// Group commit for request handlers: concurrent writes share one
    /// transaction (see ``WriteBatcher``).
    public let batcher: WriteBatcher
    /// With ``Synchronous/durableAcknowledgements``, what makes commits
    /// durable after the writer made them (``WALSync``); nil otherwise.
    public let walSync: WALSync?

    /// Opens (creating when absent) and migrates the database at `path`.
    ///
    /// - Parameters:
    ///   - synchronous: When a commit is on disk (``Synchronous``).
    ///   - checkpoints: Who copies the WAL back into the database file
    ///     (``Checkpoints``).
    ///   - migrations: Registers the service's own migrations, after ServiceKit's.
    public init(
        path: String,
        synchronous: Synchronous = .full,
        checkpoints: Checkpoints = .onCommit,
        migrations: (inout DatabaseMigrator) -> Void = { _ in }
    ) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // Savepoints (one per request in a group commit) keep a statement
            // journal; on the default temp store that is a file created,
            // written page by page and deleted for every batch (issue 9).
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            if checkpoints == .background { try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        }
        self.path = path
        self.writer = try DatabasePool(path: path, configuration: configuration)
        // Only the writer commits, so only its mode matters. Not in
        // `prepareDatabase`: GRDB's pool sets its writer to NORMAL after that
        // ran (WAL set-up), so a "FULL" set there would silently be NORMAL
        // and an acknowledged incident could be lost on power loss
        // (decision 15).
        try self.writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous.pragma)") }
        self.walSync = synchronous == .durableAcknowledgements ? WALSync(databasePath: path, reader: self.writer) : nil
        self.batcher = WriteBatcher(writer: self.writer, sync: self.walSync)
        var migrator = DatabaseMigrator()
        ServiceKitMigrations.register(in: &migrator)
        migrations(&migrator)
        try migrator.migrate(self.writer)
        try self.walSync?.syncAtOpen()
    }

    /// Who copies the write-ahead log back into the database file.
    public enum Checkpoints: Sendable {
        /// SQLite's default: the commit that takes the WAL past 1,000 pages
        /// does it, and waits for it.
        case onCommit
        /// Commits never do; a ``WALCheckpointer`` must run beside them.
        case background
    }

    /// When a commit is on disk.
    public enum Synchronous: Sendable {
        /// SQLite's FULL: every commit fsyncs the WAL before it returns, and
        /// the writer waits for the disk.
        case full
        /// SQLite's NORMAL: a commit survives a crash of the process; only
        /// a power loss may take the last ones (derived state, rebuilt from
        /// events that are redelivered).
        case normal
        /// As durable as ``full`` for every write that is acknowledged, with
        /// the fsync beside the writer (``WALSync``, decision 15): commits
        /// use NORMAL, and ``WriteBatcher`` and ``durable()`` answer only
        /// once one fsync of the WAL covered them. intake's mode.
        case durableAcknowledgements

        var pragma: String {
            switch self {
            case .full: "FULL"
            case .normal, .durableAcknowledgements: "NORMAL"
            }
        }
    }

    /// Returns once every commit made before the call is on disk: at once
    /// for ``Synchronous/full``; after the next WAL fsync for
    /// ``Synchronous/durableAcknowledgements``. Call it after a write made
    /// with `writer.write` and before telling anyone outside about it.
    /// (``Synchronous/normal`` promises no more than a process crash, and
    /// returns at once too.)
    public func durable() async throws {
        try await self.walSync?.sync()
    }

    /// The last outbox position that may leave the service: every event up
    /// to it is on disk.
    public var deliverableOutboxPosition: Int64 {
        self.walSync?.durableOutboxPosition ?? .max
    }

    /// The number of applied migrations and the last one's name.
    public func schemaVersion() throws -> (version: Int, latest: String) {
        try self.writer.read { db in
            let names = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
            return (names.count, names.last ?? "")
        }
    }
}

/// Tables every service has, owned by ServiceKit. Named migrations are never
/// edited once shipped; new ones are appended.
enum ServiceKitMigrations {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("servicekit-1-fake-clock") { db in
            // A --fake-clock service's time survives restarts: time never
            // runs back for the data it stamped.
            try db.create(table: "fake_clock") { table in
                table.primaryKey("id", .integer).check { $0 == 1 }
                table.column("now", .double).notNull()
            }
        }
        Self.registerEvents(in: &migrator)
        IdempotencyRecords.registerMigrations(in: &migrator)
        EventInbox.registerMigrations(in: &migrator)
        IntakeProjection.registerMigrations(in: &migrator)
    }
}

extension ServiceDatabase {
    func persistedFakeClock() throws -> Date? {
        try self.writer.read { db in
            try Double.fetchOne(db, sql: "SELECT now FROM fake_clock WHERE id = 1").map { Date(timeIntervalSince1970: $0) }
        }
    }

    static func persistFakeClock(_ now: Date, in db: Database) throws {
        try db.execute(
            sql: "INSERT INTO fake_clock (id, now) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET now = excluded.now",
            arguments: [now.timeIntervalSince1970]
        )
    }
}

extension Database {
    /// `execute(sql:arguments:)` through the connection's statement cache:
    /// the SQL is compiled once per connection instead of on every call
    /// (issue 9: re-parsing a handful of statements per request was the
    /// largest cost of an OpenIncident once group commit had removed the
    /// fsyncs). One statement only, unlike `execute(sql:)`.
    public func executeCached(sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try self.cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
