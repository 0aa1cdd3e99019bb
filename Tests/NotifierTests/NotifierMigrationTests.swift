import Foundation
import GRDB
import SupportProto
import Testing
import TestSupport

@testable import Notifier
@testable import ServiceKit

@Suite("notifier's migrations")
struct NotifierMigrationTests {
    @Test("Issue 20: upgrading moves snapshots and certificates into the shared projection, keeping notifier's columns")
    func intakeProjection() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("notifier.sqlite")
        var snapshot = Support_Events_V1_IncidentSnapshot()
        snapshot.certificateID = "C-1"
        snapshot.title = "mail gateway down"
        snapshot.openedAt = .init(date: Date(timeIntervalSince1970: 500))
        var certificate = Support_Events_V1_CertificateChanged()
        certificate.certificateID = "C-1"
        certificate.revision = 4
        certificate.contacts = [.with { $0.email = "ann@acme.example" }]
        // A database as the version before the projection left it.
        do {
            let queue = try DatabaseQueue(path: path)
            var migrator = DatabaseMigrator()
            ServiceKitMigrations.register(in: &migrator)
            NotifierMigrations.register(in: &migrator)
            try migrator.migrate(queue, upTo: "notifier-2-report-schedule")
            try queue.write { db in
                try db.execute(
                    sql: "INSERT INTO incident_view (incident_id, certificate_id, opened_at, level, due_at, document) VALUES ('INC-1', 'C-1', 500, 2, 900, ?)",
                    arguments: [try snapshot.serializedBytes() as Data]
                )
                try db.execute(
                    sql: "INSERT INTO certificate_view (certificate_id, revision, document) VALUES ('C-1', 4, ?)",
                    arguments: [try certificate.serializedBytes() as Data]
                )
            }
        }
        let database = try ServiceDatabase(path: path) { NotifierMigrations.register(in: &$0) }
        try database.writer.read { db in
            let view = try #require(try NotifierStore.incident("INC-1", in: db))
            #expect(view.snapshot == snapshot)
            #expect(view.level == 2)
            #expect(view.dueAt == Date(timeIntervalSince1970: 900))
            #expect(try NotifierStore.incidents(certificate: "C-1", openedBefore: Date(timeIntervalSince1970: 600), in: db).map(\.0) == ["INC-1"])
            #expect(try NotifierStore.certificates(in: db) == [certificate])
            #expect(try Int.fetchOne(db, sql: "SELECT revision FROM certificate_projection") == 4)
            #expect(try Int.fetchOne(db, sql: "SELECT sequence FROM incident_projection") == 0, "no inbox record to say which")
            #expect(try !db.tableExists("certificate_view"))
            #expect(try db.columns(in: "incident_view").map(\.name) == ["incident_id", "certificate_id", "opened_at", "level", "due_at"])
        }
    }
}
