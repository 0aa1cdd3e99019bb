import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import Intake

/// Idempotency keys are kept for seven days (`IdempotencyPruner`): a retry
/// within them answers the first call, a later one is a new call.
@Suite("intake's idempotency retention")
struct IdempotencyPrunerTests {
    static func advance(_ intake: InProcessService, days: Int64) async throws {
        var advance = Support_Clock_V1_AdvanceClockRequest()
        advance.by.seconds = days * 24 * 3600
        _ = try await intake.client.call(ClockRPC.advance, advance)
    }

    static func keys(_ intake: InProcessService) throws -> [String] {
        try intake.process.environment.database.writer.read { db in try String.fetchAll(db, sql: "SELECT key FROM idempotency_record ORDER BY rowid") }
    }

    @Test("A key answers its first call for seven days; older records are forgotten, oldest first, in batches, and a retry after that opens anew")
    func retention() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        let environment = intake.process.environment
        // Every service runs one as a worker (in-process the workers are
        // not started, so the test calls it).
        #expect(intake.process.workers.contains { $0 is IdempotencyPruner })
        let pruner = IdempotencyPruner(database: environment.database, clock: environment.clock, logger: intake.logs.logger())
        func open(_ key: String) async throws -> String {
            try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open(), metadata: [Metadata.idempotencyKey: key]).id
        }
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate(), metadata: [Metadata.idempotencyKey: "register"])
        let first = try await open("first")

        // Six days on (Thursday): nothing is old enough; the retry answers.
        try await Self.advance(intake, days: 6)
        #expect(try await pruner.prune() == 0)
        #expect(try await open("first") == first)
        let later = try await open("later")

        // Thirteen days on: the day-0 records are past seven days, the
        // day-6 one is exactly seven days old and stays.
        try await Self.advance(intake, days: 7)
        // Records older than any batch, as a busy week leaves them: written
        // before the others in rowid order, as time order puts them.
        let old = environment.clock.now().addingTimeInterval(-30 * 24 * 3600).timeIntervalSince1970
        try await environment.database.writer.write { db in
            let keys = try Self.keysSnapshot(db)
            try db.execute(sql: "DELETE FROM idempotency_record")
            for index in 0..<(2 * IdempotencyPruner.batchSize + 7) {
                try db.execute(
                    sql: "INSERT INTO idempotency_record (caller, method, key, request, response, created_at) VALUES ('', '/support.intake.v1.Intake/OpenIncident', ?, x'00', x'00', ?)",
                    arguments: ["ancient-\(index)", old]
                )
            }
            for row in keys {
                try db.execute(sql: "INSERT INTO idempotency_record (caller, method, key, request, response, created_at) VALUES (?, ?, ?, ?, ?, ?)", arguments: row)
            }
        }
        #expect(try await pruner.prune() == 2 * IdempotencyPruner.batchSize + 7 + 2)
        #expect(try Self.keys(intake) == ["later"])
        #expect(try await open("later") == later, "a week-old key still answers")
        let anew = try await open("first")
        #expect(anew != first, "past the retention a retry is a new call")
        #expect(try Self.keys(intake) == ["later", "first"])
        try await intake.finish()
    }

    /// Every record's columns, in rowid order.
    static func keysSnapshot(_ db: Database) throws -> [StatementArguments] {
        try Row.fetchAll(db, sql: "SELECT caller, method, key, request, response, created_at FROM idempotency_record ORDER BY rowid").map { row in
            [
                row["caller"] as String, row["method"] as String, row["key"] as String, row["request"] as Data,
                row["response"] as Data, row["created_at"] as Double,
            ]
        }
    }
}
