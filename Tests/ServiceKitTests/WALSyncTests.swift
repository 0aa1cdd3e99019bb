import Foundation
import GRDB
@testable import ServiceKit
import SupportProto
import SupportRPC
import Synchronization
import Testing
import TestSupport

/// Decision 15: intake's commits are made durable by an fsync of the WAL
/// beside the writer; callers are answered, and events leave, only after it.
@Suite("WAL sync (durable acknowledgements)")
struct WALSyncTests {
    /// A database with the rows table and the outbox, committing as intake's
    /// does, and a batcher whose WAL sync uses `fsync`.
    static func open(
        _ directory: TemporaryDirectory, fsync: @escaping @Sendable (Int32) -> Int32
    ) throws -> (ServiceDatabase, WALSync, WriteBatcher) {
        let database = try ServiceDatabase(path: directory.file("sync.sqlite"), synchronous: .durableAcknowledgements) { migrator in
            migrator.registerMigration("rows") { db in
                try db.create(table: "row") { table in
                    table.autoIncrementedPrimaryKey("position")
                    table.column("name", .text).notNull().unique()
                }
            }
        }
        let sync = WALSync(databasePath: database.path, reader: database.writer, fsync: fsync)
        return (database, sync, WriteBatcher(writer: database.writer, sync: sync))
    }

    /// Inserts a row and appends one event for it.
    static func insert(_ name: String) -> @Sendable (Database) throws -> String {
        { db in
            try db.execute(sql: "INSERT INTO row (name) VALUES (?)", arguments: [name])
            var event = Event()
            event.incidentID = name
            event.occurredAt = .init(date: Date())
            event.payload = .companyAccountAvailabilityChanged(.init())
            try EventOutbox(producer: "test").append(event, in: db)
            return name
        }
    }

    static func visible(_ name: String, in database: ServiceDatabase) throws -> Bool {
        try database.writer.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM row WHERE name = ?", arguments: [name]) ?? false }
    }

    @Test("The writer commits without waiting for the disk: while one fsync hangs, the next batch commits; its caller and the first are answered only after their fsyncs, and events become deliverable only then")
    func answeredAfterSync() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let disk = Gate()
        let (database, sync, batcher) = try Self.open(directory) { descriptor in
            disk.wait()
            return fdatasync(descriptor)
        }
        #expect(try await database.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 1, "NORMAL: the commit itself does not fsync")

        let answered = Locked<[String]>([])
        let first = Task {
            let name = try await batcher.write(Self.insert("a"))
            answered.withLock { $0.append(name) }
        }
        try await eventually("a's fsync is hanging") { disk.isWaiting }
        // The fsync hangs: "a" is committed (others read it) but not answered,
        // and its event may not leave yet.
        #expect(try Self.visible("a", in: database))
        #expect(answered.withLock { $0 }.isEmpty)
        #expect(sync.durableOutboxPosition == 0)

        let second = Task {
            let name = try await batcher.write(Self.insert("b"))
            answered.withLock { $0.append(name) }
        }
        // The writer is not held by the hanging fsync: "b" commits now.
        try await eventually("b committed") { try Self.visible("b", in: database) }
        #expect(answered.withLock { $0 }.isEmpty, "no caller answered before an fsync covered its commit")

        disk.open()
        try await first.value
        try await second.value
        #expect(Set(answered.withLock { $0 }) == ["a", "b"])
        #expect(sync.durableOutboxPosition == 2, "both events are on disk, so both may leave")
        #expect(sync.syncs == 2, "a's fsync began before b committed; b needed one of its own")
    }

    @Test("Concurrent writers share fsyncs: 200 callers, every row written once, far fewer fsyncs than writes")
    func sharedSyncs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (database, sync, batcher) = try Self.open(directory) { fdatasync($0) }
        try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<200 { group.addTask { try await batcher.write(Self.insert("c\(index)")) } }
            var answered = Set<String>()
            for try await name in group { answered.insert(name) }
            #expect(answered.count == 200)
        }
        #expect(try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM row") } == 200)
        #expect(sync.durableOutboxPosition == 200)
        #expect(sync.syncs >= 1 && sync.syncs < 200, "\(sync.syncs) fsyncs for 200 writes")
    }

    @Test("A failed fsync fails the writes it was to cover with UNAVAILABLE, asking for a restart, and every later one too; no event past the last good fsync becomes deliverable")
    func failedSyncIsSticky() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let failing = Locked(false)
        let (_, sync, batcher) = try Self.open(directory) { descriptor in
            guard failing.withLock({ $0 }) else { return fdatasync(descriptor) }
            errno = EIO
            return -1
        }
        #expect(try await batcher.write(Self.insert("good")) == "good")
        #expect(sync.durableOutboxPosition == 1)

        failing.withLock { $0 = true }
        let error = await #expect(throws: RPCError.self) { try await batcher.write(Self.insert("lost")) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("could not be made durable") == true && error?.message.contains("restart") == true, "\(String(describing: error))")

        // The disk answers again, but what Linux failed to write may be gone:
        // nothing is acknowledged until the service restarts.
        failing.withLock { $0 = false }
        await #expect(throws: RPCError.self) { try await batcher.write(Self.insert("after")) }
        #expect(sync.durableOutboxPosition == 1)
    }

    @Test("A durable-acknowledgements database answers an inbox delivery after an fsync, gates its relay on the synced outbox, and syncs what an earlier run left when it opens")
    func inboxAndRelay() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try ServiceDatabase(path: directory.file("intake-like.sqlite"), synchronous: .durableAcknowledgements)
        let sync = try #require(database.walSync)
        #expect(database.deliverableOutboxPosition == 0)

        try await database.writer.write { db in _ = try EventOutbox(producer: "test").append(Self.event("INC-000001"), in: db) }
        // Written with the plain writer and never synced: not deliverable.
        #expect(database.deliverableOutboxPosition == 0)

        let before = sync.syncs
        let inbox = EventInbox(database: database) { _, _ in }
        let (accepted, _) = try await inbox.receive([Self.event("INC-000002")], receivedAt: Date())
        #expect(accepted.count == 1)
        #expect(sync.syncs > before, "the delivery was answered after an fsync")
        #expect(database.deliverableOutboxPosition == 1, "the fsync covered the earlier outbox row too")

        // What a crashed run committed and never synced is synced when the
        // database opens again, and may then leave.
        try await database.writer.write { db in _ = try EventOutbox(producer: "test").append(Self.event("INC-000003"), in: db) }
        #expect(database.deliverableOutboxPosition == 1)
        let reopened = try ServiceDatabase(path: database.path, synchronous: .durableAcknowledgements)
        #expect(reopened.deliverableOutboxPosition == 2)

        // Other modes deliver whatever is committed.
        let normal = try ServiceDatabase(path: directory.file("derived.sqlite"), synchronous: .normal)
        #expect(normal.walSync == nil && normal.deliverableOutboxPosition == .max)
    }

    @Test("The relay sends a subscriber no event before an fsync covered it, and sends it once one has")
    func relayWaitsForSync() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let producer = try ServiceDatabase(path: directory.file("producer.sqlite"), synchronous: .durableAcknowledgements)
        let subscriber = try await OutboxRelayTests.Subscriber(directory: directory, name: "up")
        let relay = OutboxRelay(
            database: producer, subscribers: [.init(name: "up", client: RPCClient(socketPath: directory.file("up.sock")))],
            logger: LogRecorder().logger()
        )
        let looks = try OutboxLooks(producer)
        let task = Task { try await relay.run() }

        // Committed with the plain writer, never synced.
        try await producer.writer.write { db in _ = try EventOutbox(producer: "producer").append(Self.event("INC-000001"), in: db) }
        // The relay looks for events to send three times after the commit.
        // The second look began after the commit (the first may have read
        // an older snapshot), and the third began only once whatever the
        // second found had been delivered and answered: had the event left,
        // the subscriber would have it by now.
        let committed = looks.count
        try await eventually("the relay looked at the outbox three times since the commit") {
            relay.wake()
            return looks.count >= committed + 3
        }
        #expect(subscriber.applied.withLock { $0.count } == 0, "not on disk yet: it must not leave")
        #expect(try relay.depth() == ["up": 1])

        try await producer.durable()
        relay.wake()
        try await eventually("the event left once an fsync covered it") { subscriber.applied.withLock { $0.count } == 1 }

        task.cancel()
        _ = await task.result
        try await subscriber.running.stop()
    }

    @Test("Each mode's writer commits with the synchronous it promises (GRDB's pool resets it to NORMAL when it sets up WAL), and the checkpointer's connection with FULL")
    func synchronousAsPromised() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let expected: [(ServiceDatabase.Synchronous, Int)] = [(.full, 2), (.normal, 1), (.durableAcknowledgements, 1)]
        for (index, (mode, pragma)) in expected.enumerated() {
            let database = try ServiceDatabase(path: directory.file("mode\(index).sqlite"), synchronous: mode)
            #expect(try database.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == pragma, "\(mode)")
            let checkpointer = WALCheckpointer(database: database, logger: LogRecorder().logger(), metrics: ServiceMetrics())
            #expect(try checkpointer.open().read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2, "the checkpointer of \(mode)")
        }
    }

    static func event(_ incident: String) -> Event {
        var event = Event()
        event.eventID = timeOrderedUUIDString()
        event.incidentID = incident
        event.occurredAt = .init(date: Date())
        event.payload = .companyAccountAvailabilityChanged(.init())
        return event
    }
}

/// A value shared with escaping closures.
final class Locked<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) {
        self.value = Mutex(value)
    }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        self.value.withLock { body(&$0) }
    }
}

/// Counts the relay's looks for events to send: its query of the outbox
/// (`OutboxRelay.pending`), traced on every reader connection of the
/// database. A test can so wait until the relay has looked, rather than for
/// a time after which it probably has.
final class OutboxLooks: Sendable {
    private let looks = Mutex(0)

    var count: Int { self.looks.withLock { $0 } }

    struct TracingFailed: Error {
        let reason: String
    }

    /// Installs the trace on every reader of `database`'s pool: one read per
    /// reader, all held at once so that each is a different connection.
    /// Call it before anything else reads the database concurrently.
    init(_ database: ServiceDatabase) throws {
        let readers = database.writer.configuration.maximumReaderCount
        let arrived = NSCondition()
        let inside = Mutex(0)
        let failures = Mutex<[String]>([])
        let done = DispatchGroup()
        let arrive: @Sendable () -> Void = {
            arrived.lock()
            inside.withLock { $0 += 1 }
            arrived.broadcast()
            while inside.withLock({ $0 }) < readers { arrived.wait() }
            arrived.unlock()
        }
        for _ in 0..<readers {
            done.enter()
            Thread {
                defer { done.leave() }
                do {
                    try database.writer.read { db in
                        db.trace(options: .statement) { event in
                            guard case .statement(let statement) = event,
                                statement.sql.hasPrefix("SELECT position, payload FROM outbox_event")
                            else { return }
                            self.looks.withLock { $0 += 1 }
                        }
                        arrive()
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                    arrive()
                }
            }.start()
        }
        done.wait()
        if let failure = failures.withLock({ $0.first }) { throw TracingFailed(reason: failure) }
    }
}
