import Foundation
import GRDB
@testable import ServiceKit
import SupportProto
import Testing
import TestSupport

@Suite("Event outbox")
struct EventOutboxTests {
    static func event(_ stream: String) -> Event { WALSyncTests.event(stream) }

    @Test("Each stream numbers its events from 1, whether the first was appended as starting the stream or looked up")
    func sequences() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try ServiceDatabase(path: directory.file("outbox.sqlite"))
        let outbox = EventOutbox(producer: "test")
        let stored = try await database.writer.write { db in
            [
                try outbox.append(Self.event("INC-000001"), in: db, startingStream: true),
                try outbox.append(Self.event("INC-000001"), in: db),
                try outbox.append(Self.event("INC-000002"), in: db),
                try outbox.append(Self.event("INC-000001"), in: db),
            ]
        }
        #expect(stored.map(\.sequence) == [1, 2, 1, 3])
        #expect(stored.allSatisfy { $0.producer == "test" })
        let replayed = try await database.writer.read { db in try outbox.events(stream: "INC-000001", in: db) }
        #expect(replayed.map(\.sequence) == [1, 2, 3])
    }

    @Test("An event said to start a stream that already has one is refused by the stream's unique sequence, and nothing is written")
    func startingStreamChecked() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try ServiceDatabase(path: directory.file("outbox.sqlite"))
        let outbox = EventOutbox(producer: "test")
        try await database.writer.write { db in _ = try outbox.append(Self.event("INC-000001"), in: db) }
        await #expect {
            try await database.writer.write { db in _ = try outbox.append(Self.event("INC-000001"), in: db, startingStream: true) }
        } throws: { error in
            (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT
        }
        let events = try await database.writer.read { db in try outbox.events(stream: "INC-000001", in: db) }
        #expect(events.map(\.sequence) == [1])
    }
}
