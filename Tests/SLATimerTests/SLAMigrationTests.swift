import Foundation
import GRDB
import SupportProto
import Testing
import TestSupport

@testable import SLATimer
@testable import ServiceKit

@Suite("sla-timer's migrations")
struct SLAMigrationTests {
    @Test("Issue 20: upgrading moves each incident's snapshot into the shared projection at the last intake sequence applied, keeping sla-timer's columns")
    func intakeProjection() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("sla.sqlite")
        var snapshot = Support_Events_V1_IncidentSnapshot()
        snapshot.office = "tokyo"
        snapshot.severity = 2
        // A database as the version before the projection left it.
        do {
            let queue = try DatabaseQueue(path: path)
            var migrator = DatabaseMigrator()
            ServiceKitMigrations.register(in: &migrator)
            SLAMigrations.register(in: &migrator)
            try migrator.migrate(queue, upTo: "sla-3-armed-timer-index")
            try queue.write { db in
                try db.execute(
                    sql: "INSERT INTO incident_view (incident_id, document, side_since, cycles) VALUES ('INC-1', ?, 1000, 2)",
                    arguments: [try snapshot.serializedBytes() as Data]
                )
                try db.execute(sql: """
                    INSERT INTO inbox_event (event_id, producer, stream, stream_sequence, received_at) VALUES
                    ('i1', 'intake', 'INC-1', 1, 0), ('i4', 'intake', 'INC-1', 4, 0), ('s9', 'sla-timer', 'INC-1', 9, 0), ('i7', 'intake', 'INC-2', 7, 0)
                    """)
            }
        }
        let database = try ServiceDatabase(path: path) { SLAMigrations.register(in: &$0) }
        try database.writer.write { db in
            let view = try #require(try SLAStore.view("INC-1", in: db))
            #expect(view.snapshot == snapshot)
            #expect(view.sideSince == Date(timeIntervalSince1970: 1000))
            #expect(view.cycles == 2)
            #expect(try Int.fetchOne(db, sql: "SELECT sequence FROM incident_projection WHERE incident_id = 'INC-1'") == 4)
            #expect(try db.columns(in: "incident_view").map(\.name) == ["incident_id", "side_since", "cycles"])
            // intake's event 3, redelivered late, is older than what was kept.
            var late = Event()
            late.incidentID = "INC-1"
            late.sequence = 3
            late.payload = .severityChanged(.init())
            late.incidentSnapshot = Support_Events_V1_IncidentSnapshot()
            #expect(try !IntakeProjection.apply(late, in: db))
        }
    }
}
