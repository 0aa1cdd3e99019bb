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

    @Test("an event that fails stops the delivery there: the ones before it stay applied, it and the rest do not")
    func failureStopsThere() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try ServiceDatabase(path: directory.file("inbox.sqlite")) { migrator in
            migrator.registerMigration("applied") { db in try db.create(table: "applied") { $0.column("id", .text) } }
        }
        let inbox = EventInbox(database: database) { db, event in
            try db.execute(sql: "INSERT INTO applied (id) VALUES (?)", arguments: [event.eventID])
            if event.eventID == "e3" { throw Refused() }
        }
        let events = ["e1", "e2", "e3", "e4"].map(Self.event)
        await #expect(throws: Refused.self) { try await inbox.receive(events, receivedAt: Date()) }
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
}
