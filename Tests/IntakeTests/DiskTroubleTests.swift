import Foundation
import GRDB
import Intake
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Issue 10, disk trouble, on intake as its executable builds it. SQLite's
/// `max_page_count` on the writer connection stands in for a full disk
/// (SQLITE_FULL, as ENOSPC gives) and `query_only` for a read-only database
/// file (SQLITE_READONLY): neither needs privileges, both are undone on the
/// same connection.
@Suite("intake on a full disk or read-only database")
struct DiskTroubleTests {
    static func counts(_ intake: InProcessService) throws -> (incidents: Int, events: Int) {
        try intake.process.environment.database.writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM incident")!, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox_event")!)
        }
    }

    static func pragma(_ intake: InProcessService, _ sql: String) async throws {
        try await intake.process.environment.database.writer.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    @Test("A full disk: OpenIncident is RESOURCE_EXHAUSTED 'disk full' with a log line, nothing half-written, reads go on, writes work once space is back")
    func diskFull() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate())
        let first = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open())

        // The disk fills: no page beyond those the database has now.
        try await Self.pragma(intake, "PRAGMA max_page_count = \(try await intake.process.environment.database.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! })")
        var refusal: RPCError?
        var before = try Self.counts(intake)
        for _ in 0..<2000 {
            before = try Self.counts(intake)
            do {
                _ = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open())
            } catch let error as RPCError {
                refusal = error
                break
            }
        }
        let error = try #require(refusal, "the pages never ran out")
        #expect(error.code == .resourceExhausted, "\(error)")
        #expect(error.message.contains("disk full") && error.message.contains("nothing was changed"), "\(error.message)")
        #expect(try Self.counts(intake) == before, "the refused open left no incident and no event behind")
        #expect(intake.logs.all.contains { $0.level == .error && $0.message.contains("OpenIncident failed: disk full") }, "an operator reads why")

        // Reads and Health go on.
        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = first.id
        #expect(try await intake.client.call(IntakeRPC.getIncident, get).id == first.id)
        #expect(try await intake.client.call(HealthRPC.check, .init()).status == .serving)

        // Space returns: the same open succeeds, numbered right after the last stored one.
        try await Self.pragma(intake, "PRAGMA max_page_count = 1073741823")
        let again = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open())
        #expect(again.id == String(format: "INC-%06d", before.incidents + 1))
        #expect(try Self.counts(intake).incidents == before.incidents + 1)
        try await intake.finish()
    }

    @Test("A read-only database: a write is UNAVAILABLE naming the file, reads go on, writes work once it is writable again")
    func readOnly() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate())
        let first = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open())
        let before = try Self.counts(intake)

        try await Self.pragma(intake, "PRAGMA query_only = ON")
        var respond = Support_Intake_V1_RespondRequest()
        respond.incidentID = first.id
        respond.actor = "tam.sato"
        respond.text = "apply hotfix 12"
        let error = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.respond, respond) }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(error?.message.contains(intake.process.environment.database.path) == true, "\(String(describing: error))")
        #expect(try Self.counts(intake) == before)
        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = first.id
        #expect(try await intake.client.call(IntakeRPC.getIncident, get).state == first.state, "the refused respond changed nothing")

        try await Self.pragma(intake, "PRAGMA query_only = OFF")
        #expect(try await intake.client.call(IntakeRPC.respond, respond).state != first.state)
        try await intake.finish()
    }
}
