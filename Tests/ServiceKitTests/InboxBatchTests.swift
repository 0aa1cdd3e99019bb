import Foundation
import GRDB
import ServiceKit
import SupportProto
import Testing
import TestSupport

@Suite("Inbox deliveries")
struct InboxBatchTests {
    struct Refused: Error {}

    static func event(_ id: String) -> Support_Events_V1_Event {
        var event = Support_Events_V1_Event()
        event.eventID = id
        event.producer = "intake"
        event.incidentID = "INC-000001"
        event.payload = .incidentOpened(.init())
        return event
    }

    @Test("an event that fails for a reason a retry may change (UNAVAILABLE) stops the delivery there: the ones before it stay applied, it and the rest do not")
    func failureStopsThere() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try ServiceDatabase(path: directory.file("inbox.sqlite")) { migrator in
            migrator.registerMigration("applied") { db in try db.create(table: "applied") { $0.column("id", .text) } }
        }
        let inbox = EventInbox(database: database) { db, event in
            try db.execute(sql: "INSERT INTO applied (id) VALUES (?)", arguments: [event.eventID])
            if event.eventID == "e3" { throw ServiceError(.unavailable, reason: "INCIDENT_NOT_YET_KNOWN", "not yet") }
        }
        let events = ["e1", "e2", "e3", "e4"].map(Self.event)
        await #expect(throws: ServiceError.self) { try await inbox.receive(events, receivedAt: Date()) }
        let applied = try await database.writer.read { db in try String.fetchAll(db, sql: "SELECT id FROM applied ORDER BY rowid") }
        #expect(applied == ["e1", "e2"])
        #expect(try inbox.contains(eventID: "e2"))
        #expect(try !inbox.contains(eventID: "e3"))

        // The producer resends; the first two are duplicates.
        let second = EventInbox(database: database) { db, event in
            try db.execute(sql: "INSERT INTO applied (id) VALUES (?)", arguments: [event.eventID])
        }
        let (accepted, duplicates) = try await second.receive(events, receivedAt: Date())
        #expect(accepted == ["e1", "e2", "e3", "e4"])
        #expect(duplicates == 2)
    }

    static func database(_ directory: TemporaryDirectory) throws -> ServiceDatabase {
        try ServiceDatabase(path: directory.file("inbox.sqlite")) { migrator in
            migrator.registerMigration("applied") { db in try db.create(table: "applied") { $0.column("id", .text) } }
        }
    }

    static func applied(_ database: ServiceDatabase) async throws -> [String] {
        try await database.writer.read { db in try String.fetchAll(db, sql: "SELECT id FROM applied ORDER BY rowid") }
    }

    @Test("an event that fails for good (a refusal) is parked with its reason, recorded as received, and the events behind it apply")
    func refusalParks() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Self.database(directory)
        let inbox = EventInbox(database: database) { db, event in
            if event.eventID == "e2" { throw ServiceError(.failedPrecondition, reason: "ROSTER_GAP", "office new-york has no roster") }
            try db.execute(sql: "INSERT INTO applied (id) VALUES (?)", arguments: [event.eventID])
        }
        let (accepted, duplicates) = try await inbox.receive(["e1", "e2", "e3"].map(Self.event), receivedAt: Date())
        #expect(accepted == ["e1", "e2", "e3"])
        #expect(duplicates == 0)
        #expect(try await Self.applied(database) == ["e1", "e3"])
        let parked = try database.writer.read { db in try Row.fetchAll(db, sql: "SELECT event_id, kind, reason, attempts FROM inbox_parked") }
        #expect(parked.count == 1)
        #expect(parked.first?["event_id"] == "e2")
        #expect(parked.first?["kind"] == "incident_opened")
        #expect((parked.first?["reason"] as String?)?.contains("office new-york has no roster") == true)
        // A redelivery is a duplicate: the parked event is not tried again on its own.
        let again = try await inbox.receive(["e2"].map(Self.event), receivedAt: Date())
        #expect(again.duplicates == 1)
        #expect(try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM inbox_attempt") } == 0)
    }

    @Test("after a crash the delivery is applied one event at a time, and the event the service stopped on twice is parked without a third try")
    func crashTwiceParks() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Self.database(directory)
        let inbox = EventInbox(database: database) { db, event in
            try db.execute(sql: "INSERT INTO applied (id) VALUES (?)", arguments: [event.eventID])
        }
        // What two crashes leave: a delivery of e1…e3 began (one attempt
        // each) and died; e1 and e2 were then delivered alone (e1's second
        // attempt finished; e2's died again).
        try await database.writer.write { db in
            try db.execute(sql: "INSERT INTO inbox_attempt (event_id, attempts) VALUES ('e2', 2), ('e3', 1)")
        }
        let events = ["e2", "e3", "e4"].map(Self.event)
        // e2 alone: attempted twice already, so parked, not applied.
        let first = try await inbox.receive(events, receivedAt: Date())
        #expect(first.accepted == ["e2"])
        #expect(try await Self.applied(database).isEmpty)
        // e3 alone (attempted before), then e4 with the rest.
        let second = try await inbox.receive(Array(events.dropFirst()), receivedAt: Date())
        #expect(second.accepted == ["e3"])
        let third = try await inbox.receive(Array(events.dropFirst(2)), receivedAt: Date())
        #expect(third.accepted == ["e4"])
        #expect(try await Self.applied(database) == ["e3", "e4"])
        let parked = try database.writer.read { db in try Row.fetchOne(db, sql: "SELECT event_id, reason, attempts FROM inbox_parked") }
        #expect(parked?["event_id"] == "e2")
        #expect((parked?["reason"] as String?)?.contains("stopped twice") == true)
        #expect(parked?["attempts"] == 3)
        #expect(try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM inbox_attempt") } == 0)
    }
}
