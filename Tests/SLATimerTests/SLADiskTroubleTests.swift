import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import SLATimer

/// Disk trouble on sla-timer, as on intake (`DiskTroubleTests`): SQLite's
/// `max_page_count` on the writer stands in for a full disk. What must hold
/// is that nothing is lost: a delivery it cannot store is refused, so the
/// producer sends it again, and a timer it cannot fire stays armed and fires
/// once, when there is space again.
@Suite("sla-timer on a full disk")
struct SLADiskTroubleTests {
    static func pragma(_ service: InProcessService, _ sql: String) async throws {
        try await service.process.environment.database.writer.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    /// Timers by state, and the incidents of the breaches published.
    static func state(_ service: InProcessService) async throws -> (armed: Int, fired: Int, breaches: [String]) {
        try await service.process.environment.database.writer.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer WHERE state = ?", arguments: [Support_Sla_V1_TimerState.armed.rawValue])!,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer WHERE state = ?", arguments: [Support_Sla_V1_TimerState.fired.rawValue])!,
                try Data.fetchAll(db, sql: "SELECT payload FROM outbox_event").map { try Support_Events_V1_Event(serializedBytes: $0) }
                    .filter { if case .slaBreached = $0.payload { true } else { false } }.map(\.incidentID)
            )
        }
    }

    @Test("A full disk: a delivery is refused RESOURCE_EXHAUSTED and kept by nobody, due timers stay armed; with space back each fires once and the delivery is applied")
    func diskFull() async throws {
        let service = try await InProcessService.start(SLATimerService.definition, fakeClock: "2026-12-04T01:00:00Z")
        let start = service.clock.now()
        let database = service.process.environment.database
        func deliver(_ index: Int) async throws {
            var request = Support_Events_V1_DeliverRequest()
            request.events = [TimerBatchTests.opened(index, at: start)]
            _ = try await service.client.call(EventSinkRPC.deliver, request, timeout: .seconds(30))
        }
        try await deliver(1)

        // The disk fills: no page beyond those the database has now.
        let pages = try await database.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! }
        try await Self.pragma(service, "PRAGMA max_page_count = \(pages)")
        var accepted = [1]
        var refusal: (index: Int, error: RPCError)?
        for index in 2...2000 {
            do {
                try await deliver(index)
                accepted.append(index)
            } catch let error as RPCError {
                refusal = (index, error)
                break
            }
        }
        let (refused, error) = try #require(refusal, "the pages never ran out")
        #expect(error.code == .resourceExhausted, "\(error)")
        #expect(error.message.contains("disk full"), "\(error.message)")
        let refusedID = TimerBatchTests.opened(refused, at: start).eventID
        #expect(try await database.writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM inbox_event WHERE event_id = ?", arguments: [refusedID])
        } == nil, "the refused event is not marked applied, so the producer sends it again")
        let armedBefore = try await Self.state(service).armed
        #expect(armedBefore == 3 * accepted.count, "two warnings and a breach for each incident accepted")

        // Past every due time while the disk is full: what cannot fire
        // stays armed, and whatever fired published its breach once.
        var advance = Support_Clock_V1_AdvanceClockRequest()
        advance.by.seconds = 31 * 60
        _ = try await service.client.call(ClockRPC.advance, advance, timeout: .seconds(60))
        let full = try await Self.state(service)
        #expect(full.armed > 0, "a full disk let every timer fire; the test no longer tests that")
        #expect(full.armed + full.fired == armedBefore)
        #expect(Set(full.breaches).count == full.breaches.count)

        #expect(service.logs.all.contains { $0.level == .error && $0.message.contains("could not fire") }, "an operator reads why")

        // Space returns and the producer's redelivery is applied; the next
        // firing (on a fake clock, the next move of the clock: the service's
        // own loop, which retries every few seconds on a real one, is not
        // running in-process) fires the rest, each once.
        try await Self.pragma(service, "PRAGMA max_page_count = 1073741823")
        try await deliver(refused)
        accepted.append(refused)
        advance.by.seconds = 1
        _ = try await service.client.call(ClockRPC.advance, advance, timeout: .seconds(60))
        let after = try await Self.state(service)
        #expect(after.armed == 0)
        #expect(after.fired == 3 * accepted.count)
        #expect(after.breaches.sorted() == accepted.map { String(format: "INC-%06d", $0) }.sorted(), "one breach per incident, none lost, none twice")
        try await service.finish()
    }
}
