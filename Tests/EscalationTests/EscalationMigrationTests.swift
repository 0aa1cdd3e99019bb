import Foundation
import GRDB
import SupportProto
import Testing
import TestSupport

@testable import Escalation
@testable import ServiceKit

@Suite("escalation's migrations")
struct EscalationMigrationTests {
    @Test("Issue 20: upgrading moves snapshots and certificates into the shared projection, keeping escalation's columns and list")
    func intakeProjection() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("e.sqlite")
        var snapshot = Support_Events_V1_IncidentSnapshot()
        snapshot.certificateID = "C-1"
        snapshot.office = "tokyo"
        snapshot.state = .inProgress
        var certificate = Support_Events_V1_CertificateChanged()
        certificate.certificateID = "C-1"
        certificate.revision = 3
        certificate.contacts = [.with { $0.email = "ann@acme.example" }]
        // A database as the version before the projection left it.
        do {
            let queue = try DatabaseQueue(path: path)
            var migrator = DatabaseMigrator()
            ServiceKitMigrations.register(in: &migrator)
            EscalationStore.register(in: &migrator)
            try migrator.migrate(queue, upTo: "escalation-2-breach-withdrawals")
            try queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO incident_view (incident_id, document, level, level_since, escalations, open, office)
                        VALUES ('INC-1', ?, 2, 1000, 1, 1, 'tokyo')
                        """,
                    arguments: [try snapshot.serializedBytes() as Data]
                )
                try db.execute(sql: "INSERT INTO certificate_view (id, document) VALUES ('C-1', ?)", arguments: [try certificate.serializedBytes() as Data])
                try db.execute(sql: "INSERT INTO inbox_event (event_id, producer, stream, stream_sequence, received_at) VALUES ('i2', 'intake', 'INC-1', 2, 0)")
            }
        }
        let database = try ServiceDatabase(path: path) { EscalationStore.register(in: &$0) }
        try database.writer.read { db in
            let view = try #require(try EscalationStore.incident("INC-1", in: db))
            #expect(view.snapshot == snapshot)
            #expect(view.level == .supportLead)
            #expect(view.levelSince == Date(timeIntervalSince1970: 1000))
            #expect(view.escalations == 1)
            #expect(try EscalationStore.openEscalated(level: 0, office: "tokyo", offset: 0, limit: 10, in: db).map(\.0) == ["INC-1"])
            #expect(try IntakeProjection.certificate("C-1", in: db) == certificate)
            #expect(try Int.fetchOne(db, sql: "SELECT revision FROM certificate_projection") == 3)
            #expect(try Int.fetchOne(db, sql: "SELECT sequence FROM incident_projection") == 2)
            #expect(try EscalationStore.isContact("ann@acme.example", ofIncident: "INC-1", in: db))
            #expect(try !db.tableExists("certificate_view"))
            #expect(try db.columns(in: "incident_view").map(\.name) == ["incident_id", "level", "level_since", "escalations", "open", "office"])
        }
    }
}
