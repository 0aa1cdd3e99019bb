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
        try await waitUntil({ Self.size(path) >= Self.written }, timeout: .seconds(30))
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

    @Test("Under writes that never pause, the WAL stays bounded: past its limit the rest is copied between two commits")
    func steadyWrites() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("x.sqlite")
        let database = try Self.open(path, .background)
        let checkpointer = WALCheckpointer(
            database: database, interval: .milliseconds(5), walLimit: 500, logger: Logger(label: "test"), metrics: ServiceMetrics()
        )
        let running = Task { try await checkpointer.run() }
        var largest = 0
        for _ in 0..<8 {
            try await Self.write(database)
            largest = max(largest, Self.size(path + "-wal"))
        }
        running.cancel()
        try await running.value
        // Bounded by the limit plus what arrives while one pass copies: in
        // this burst (far faster than any service writes) a few MB, not the
        // 64 MB written (one WAL holding them all, without the limit).
        #expect(largest < 6 * Self.written, "64 MB written; the WAL grew to \(largest) bytes")
        let count = try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blob") }
        #expect(count == 512)
    }
}
