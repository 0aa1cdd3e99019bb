import Foundation
import GRDB
import ServiceKit
import Synchronization
import Testing
import TestSupport

@Suite("Write batcher (group commit)")
struct WriteBatcherTests {
    /// A database with one table of rows and their insertion order.
    static func database(_ directory: TemporaryDirectory) throws -> ServiceDatabase {
        try ServiceDatabase(path: directory.file("batch.sqlite")) { migrator in
            migrator.registerMigration("rows") { db in
                try db.create(table: "row") { table in
                    table.autoIncrementedPrimaryKey("position")
                    table.column("name", .text).notNull().unique()
                }
            }
        }
    }

    /// Holds the writer with a first request until `waiting` more have
    /// queued behind it, so they are written as one batch.
    static func batch(
        _ database: ServiceDatabase, waiting: Int,
        _ bodies: [@Sendable (Database) throws -> String]
    ) async throws -> [Result<String, any Error>] {
        let gate = Gate()
        return try await withThrowingTaskGroup(of: (Int, Result<String, any Error>).self) { group in
            group.addTask {
                _ = try await database.batcher.write { db in
                    gate.wait()
                    try db.execute(sql: "INSERT INTO row (name) VALUES ('first')")
                }
                return (-1, .success("first"))
            }
            while !gate.isWaiting { await Task.yield() }
            for (index, body) in bodies.enumerated() {
                group.addTask {
                    do { return (index, .success(try await database.batcher.write(body))) } catch { return (index, .failure(error)) }
                }
                // Queue in this order: the next is added once this one waits.
                while database.batcher.queued < index + 1 { await Task.yield() }
            }
            #expect(database.batcher.queued == waiting)
            gate.open()
            var results = [Result<String, any Error>?](repeating: nil, count: bodies.count)
            for try await (index, result) in group where index >= 0 { results[index] = result }
            return results.map { $0! }
        }
    }

    static func insert(_ name: String) -> @Sendable (Database) throws -> String {
        { db in
            try db.execute(sql: "INSERT INTO row (name) VALUES (?)", arguments: [name])
            return name
        }
    }

    static func names(_ database: ServiceDatabase) throws -> [String] {
        try database.writer.read { db in try String.fetchAll(db, sql: "SELECT name FROM row ORDER BY position") }
    }

    @Test("queued writes commit together, in the order they arrived, each caller getting its own result")
    func ordering() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Self.database(directory)
        let results = try await Self.batch(database, waiting: 5, (1...5).map { Self.insert("r\($0)") })
        #expect(results.map { try? $0.get() } == ["r1", "r2", "r3", "r4", "r5"])
        #expect(try Self.names(database) == ["first", "r1", "r2", "r3", "r4", "r5"])
    }

    @Test("a failing request rolls back only its own changes; the rest of its batch commits")
    func failureIsolated() async throws {
        struct Refused: Error {}
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Self.database(directory)
        let results = try await Self.batch(database, waiting: 4, [
            Self.insert("a"),
            { db in
                // Writes, then fails: its row must not survive.
                try db.execute(sql: "INSERT INTO row (name) VALUES ('half-done')")
                throw Refused()
            },
            Self.insert("a"),  // a constraint violation, also isolated
            Self.insert("b"),
        ])
        #expect(try results[0].get() == "a")
        #expect(throws: Refused.self) { try results[1].get() }
        #expect(throws: DatabaseError.self) { try results[2].get() }
        #expect(try results[3].get() == "b")
        #expect(try Self.names(database) == ["first", "a", "b"])
    }

    @Test("a batch runs each body once when none fails; with a failure it is written again, each request isolated, and what commits is the second run's")
    func optimisticThenIsolated() async throws {
        struct Refused: Error {}
        let runs = Mutex<[String: Int]>([:])
        let counted: @Sendable (String) -> @Sendable (Database) throws -> String = { name in
            { db in
                let run = runs.withLock { runs in
                    runs[name, default: 0] += 1
                    return runs[name]!
                }
                try db.execute(sql: "INSERT INTO row (name) VALUES (?)", arguments: [name])
                return "\(name) run \(run)"
            }
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }

        let clean = try ServiceDatabase(path: directory.file("clean.sqlite")) { migrator in
            migrator.registerMigration("rows") { db in try db.execute(sql: "CREATE TABLE row (position INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)") }
        }
        let cleanResults = try await Self.batch(clean, waiting: 2, [counted("a"), counted("b")])
        #expect(cleanResults.map { try? $0.get() } == ["a run 1", "b run 1"])
        #expect(try Self.names(clean) == ["first", "a", "b"])

        let mixed = try Self.database(directory)
        let failing: @Sendable (Database) throws -> String = { db in
            try db.execute(sql: "INSERT INTO row (name) VALUES ('half-done')")
            throw Refused()
        }
        let mixedResults = try await Self.batch(mixed, waiting: 3, [counted("c"), failing, counted("d")])
        // The first run stopped at the failure, before d; the isolated run
        // ran c and d again, and its results are the ones answered.
        #expect(try mixedResults[0].get() == "c run 2")
        #expect(throws: Refused.self) { try mixedResults[1].get() }
        #expect(try mixedResults[2].get() == "d run 1")
        #expect(try Self.names(mixed) == ["first", "c", "d"])

        // Alone in its batch, a failing request runs once: its rollback
        // was the isolation.
        let lone = Mutex(0)
        await #expect(throws: Refused.self) {
            try await mixed.batcher.write { db -> String in
                lone.withLock { $0 += 1 }
                try db.execute(sql: "INSERT INTO row (name) VALUES ('lone')")
                throw Refused()
            }
        }
        #expect(lone.withLock { $0 } == 1)
        #expect(try Self.names(mixed) == ["first", "c", "d"])
    }

    @Test("a later request in the batch sees the earlier ones' changes (idempotency keys keep working)")
    func laterSeesEarlier() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Self.database(directory)
        let remembered: @Sendable (Database) throws -> String = { db in
            if let earlier = try String.fetchOne(db, sql: "SELECT name FROM row WHERE name LIKE 'key-%'") { return "replayed \(earlier)" }
            try db.execute(sql: "INSERT INTO row (name) VALUES ('key-1')")
            return "created key-1"
        }
        let results = try await Self.batch(database, waiting: 2, [remembered, remembered])
        #expect(results.map { try? $0.get() } == ["created key-1", "replayed key-1"])
        #expect(try Self.names(database) == ["first", "key-1"])
    }

    @Test("many concurrent callers: every write lands once, none is lost")
    func concurrentCallers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Self.database(directory)
        try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<200 { group.addTask { try await database.batcher.write(Self.insert("c\(index)")) } }
            var answered = Set<String>()
            for try await name in group { answered.insert(name) }
            #expect(answered.count == 200)
        }
        #expect(Set(try Self.names(database)) == Set((0..<200).map { "c\($0)" }))
    }
}

@Suite("Storage details behind issue 9's numbers")
struct StorageDetailTests {
    @Test("Statement journals (one per request savepoint) stay in memory, not in a temp file per batch")
    func tempStoreInMemory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try WriteBatcherTests.database(directory)
        // 2 is MEMORY; the default (0) lets SQLite create a file.
        #expect(try database.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA temp_store") } == 2)
        #expect(try database.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA temp_store") } == 2)
    }

    @Test("Event ids are version-7 UUIDs in lower case: the time first, in order, and they do not repeat")
    func eventIDs() {
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let ids = (0..<1000).map { _ in timeOrderedUUIDString() }
        let after = UInt64(Date().timeIntervalSince1970 * 1000) + 1
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(50) {
            let uuid = UUID(uuidString: id)
            #expect(uuid != nil && id == id.lowercased())
            // Foundation reads it back to the same text: 8-4-4-4-12 hex digits.
            #expect(uuid?.uuidString.lowercased() == id)
            let characters = Array(id)
            #expect(characters[14] == "7", "version nibble")
            #expect("89ab".contains(characters[19]), "RFC 9562 variant")
        }
        // The first 48 bits are the milliseconds since 1970, taken when the id was made.
        let milliseconds = ids.map { UInt64(String($0.prefix(13)).replacingOccurrences(of: "-", with: ""), radix: 16) ?? 0 }
        #expect(milliseconds.allSatisfy { (before...after).contains($0) }, "\(milliseconds.first ?? 0) not in \(before)...\(after)")
        // Then the fraction of the millisecond: ids made one after the other
        // sort one after the other, to their last 62 random bits.
        let timeParts = ids.map { String($0.prefix(18)) }
        #expect(timeParts == timeParts.sorted())
    }

    @Test("Numbered ids pad to their width and grow past it")
    func numbered() {
        #expect(numberedID("INC-", 42, digits: 6) == "INC-000042")
        #expect(numberedID("PRB-", 1, digits: 5) == "PRB-00001")
        #expect(numberedID("INC-", 1_234_567, digits: 6) == "INC-1234567")
    }

    @Test("Numbered unique ids keep the number and differ when the number repeats, as after a restore (issue 21)")
    func numberedUnique() {
        let ids = (0..<1000).map { _ in numberedUniqueID("MSG-", 42, digits: 6) }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(20) {
            #expect(id.hasPrefix("MSG-000042-"))
            #expect(id.count == "MSG-000042-".count + 8)
            #expect(id.dropFirst("MSG-000042-".count).allSatisfy { "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains($0) })
        }
    }
}

/// A one-shot gate a blocking database closure waits on.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiting: Bool)>((false, false))
    private let semaphore = DispatchSemaphore(value: 0)

    var isWaiting: Bool { self.state.withLock { $0.waiting } }

    func wait() {
        let open = self.state.withLock { state -> Bool in
            state.waiting = true
            return state.open
        }
        if !open { self.semaphore.wait() }
    }

    func open() {
        let wasWaiting = self.state.withLock { state -> Bool in
            state.open = true
            return state.waiting
        }
        if wasWaiting { self.semaphore.signal() }
    }
}
