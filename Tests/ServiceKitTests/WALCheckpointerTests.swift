import Foundation
import GRDB
import Logging
import ServiceKit
import Testing
import TestSupport

/// Issue 9, decision 11: commits do not copy the WAL back; a checkpointer
/// beside them does, and the WAL then starts over instead of growing.
@Suite("WAL checkpoints")
struct WALCheckpointerTests {
    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    static func open(_ path: String, _ checkpoints: ServiceDatabase.Checkpoints) throws -> ServiceDatabase {
        try ServiceDatabase(path: path, synchronous: .normal, checkpoints: checkpoints) { migrator in
            migrator.registerMigration("t-1-blobs") { db in
                try db.create(table: "blob") { table in
                    table.autoIncrementedPrimaryKey("id")
                    table.column("bytes", .blob)
                }
            }
        }
    }

    /// 8 MB in 64 commits: about 2,000 pages, twice SQLite's automatic threshold.
    static let written = 64 * 128 * 1024

    static func write(_ database: ServiceDatabase) async throws {
        for _ in 0..<64 {
            try await database.writer.write { db in
                try db.execute(sql: "INSERT INTO blob (bytes) VALUES (?)", arguments: [Data(repeating: 7, count: 128 * 1024)])
            }
        }
    }

    @Test("By default (SQLite's own checkpoints) the commits copy the WAL back into the database file")
    func onCommit() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("x.sqlite")
        let database = try Self.open(path, .onCommit)
        try await Self.write(database)
        #expect(Self.size(path) > Self.written / 2, "a commit past 1,000 pages checkpointed")
    }

    @Test("In the background: commits leave the WAL alone, the checkpointer copies it back, and the WAL starts over")
    func background() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("x.sqlite")
        let database = try Self.open(path, .background)
        let automatic = try await database.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
        #expect(automatic == 0)

        try await Self.write(database)
        #expect(Self.size(path) < 1024 * 1024, "no commit checkpointed")
        #expect(Self.size(path + "-wal") > Self.written)

        let checkpointer = WALCheckpointer(
            database: database, interval: .milliseconds(20), logger: Logger(label: "test"), metrics: ServiceMetrics()
        )
        let running = Task { try await checkpointer.run() }
        try await eventually("the running checkpointer copied the pages back", timeout: .seconds(30)) { Self.size(path) >= Self.written }
        // Stopped, it makes one last pass: everything is copied back.
        running.cancel()
        try await running.value
        #expect(Self.size(path) >= Self.written, "the checkpointer copied every page back")
        let walAfterFirst = Self.size(path + "-wal")

        // Copied back, so the next writes start the WAL from its beginning.
        try await Self.write(database)
        #expect(Self.size(path + "-wal") <= walAfterFirst, "the WAL was started over, not grown")
        let count = try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blob") }
        #expect(count == 128)
    }

    /// How many times the WAL has started over: the checkpoint sequence
    /// number in its header (bytes 12–15, big-endian), which SQLite
    /// increments at each restart.
    static func restarts(_ walPath: String) -> UInt32 {
        guard let handle = FileHandle(forReadingAtPath: walPath) else { return 0 }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 16), header.count == 16 else { return 0 }
        return header[12..<16].reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func turnsOnWriter(_ metrics: ServiceMetrics) async -> Int {
        let text = await metrics.exposition()
        let line = text.split(separator: "\n").first { $0.hasPrefix("supportdesk_wal_checkpoints_on_writer_total ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    }

    @Test("Under writes that never pause, the WAL stays bounded: past its limit the rest is copied between two commits")
    func steadyWrites() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("x.sqlite")
        let database = try Self.open(path, .background)
        let metrics = ServiceMetrics()
        let checkpointer = WALCheckpointer(
            database: database, interval: .milliseconds(5), walLimit: 500, logger: Logger(label: "test"), metrics: metrics
        )
        let running = Task { try await checkpointer.run() }
        // Write 8 MB batches without a pause until the checkpointer has
        // taken its turn on the writer's queue twice. How many batches that
        // takes depends on this machine's load (the catch-up passes run
        // beside a writer far faster than any service, and may take a few
        // batches); that it happens, and what it does to the WAL, does not.
        // Without the turn the WAL never starts over here: this loop would
        // run to its deadline and every expectation below would fail.
        var batches = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while await Self.turnsOnWriter(metrics) < 2, ContinuousClock.now < deadline {
            try await Self.write(database)
            batches += 1
        }
        let restartsBeforeStop = Self.restarts(path + "-wal")
        running.cancel()
        try await running.value
        let turns = await Self.turnsOnWriter(metrics)
        #expect(turns >= 2, "the WAL passed its limit and the checkpointer took its turn between two commits")
        // Each turn copied the rest back, so the next commit started the WAL
        // over instead of appending to it: the WAL holds what came since the
        // last turn, not everything written.
        #expect(restartsBeforeStop >= 1, "the WAL started over while writes went on")
        try await Self.write(database)
        #expect(Self.restarts(path + "-wal") > restartsBeforeStop, "after the last pass, the next commit started the WAL over")
        batches += 1
        let count = try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blob") }
        #expect(count == batches * 64)
    }
}
