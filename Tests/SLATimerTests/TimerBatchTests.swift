import Foundation
import GRDB
import GRDBSQLite
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import SLATimer

/// Deliveries apply in one transaction and timers fire in batches
/// (issue 9); what the other services see must not change.
@Suite("sla-timer batches")
struct TimerBatchTests {
    static func opened(_ index: Int, at: Date) -> Support_Events_V1_Event {
        var snapshot = Support_Events_V1_IncidentSnapshot()
        snapshot.certificateID = "C-1"
        snapshot.tier = .enterprise
        snapshot.office = "tokyo"
        snapshot.severity = 1
        snapshot.channel = .phone
        snapshot.state = .new
        snapshot.side = .vendor
        var event = Support_Events_V1_Event()
        event.eventID = "opened-\(index)"
        event.producer = "intake"
        event.incidentID = String(format: "INC-%06d", index)
        event.sequence = 1
        event.occurredAt = .init(date: at)
        event.payload = .incidentOpened(.init())
        event.incidentSnapshot = snapshot
        return event
    }

    @Test("more timers than one batch falling due together all fire once, each breach published once per incident")
    func manyDueTogether() async throws {
        let service = try await InProcessService.start(SLATimerService.definition, fakeClock: "2026-12-04T01:00:00Z")
        let start = service.clock.now()
        let incidents = 2 * TimerScheduler.batchSize + 7
        // In the relay's batches of 100; the deadline is generous because a
        // debug build in a busy suite is slow, and speed is not the point.
        let events = (1...incidents).map { Self.opened($0, at: start) }
        var applied = 0
        for chunk in stride(from: 0, to: incidents, by: 100) {
            var request = Support_Events_V1_DeliverRequest()
            request.events = Array(events[chunk..<min(incidents, chunk + 100)])
            let delivered = try await service.client.call(EventSinkRPC.deliver, request, timeout: .seconds(120))
            #expect(delivered.duplicateCount == 0)
            applied += delivered.appliedEventIds.count
        }
        #expect(applied == incidents)

        var advance = Support_Clock_V1_AdvanceClockRequest()
        advance.by.seconds = 31 * 60
        _ = try await service.client.call(ClockRPC.advance, advance, timeout: .seconds(120))

        let database = service.process.environment.database
        let (armed, fired, breaches) = try await database.writer.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer WHERE state = ?", arguments: [Support_Sla_V1_TimerState.armed.rawValue]) ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer WHERE state = ?", arguments: [Support_Sla_V1_TimerState.fired.rawValue]) ?? -1,
                try Data.fetchAll(db, sql: "SELECT payload FROM outbox_event").map { try Support_Events_V1_Event(serializedBytes: $0) }
                    .filter { if case .slaBreached = $0.payload { true } else { false } }.map(\.incidentID)
            )
        }
        #expect(armed == 0)
        #expect(fired == 3 * incidents)  // two warnings and the breach each
        #expect(breaches.count == incidents)
        #expect(Set(breaches).count == incidents)

        // A redelivery is all duplicates and arms nothing.
        var again = Support_Events_V1_DeliverRequest()
        again.events = Array(events.prefix(100))
        #expect(try await service.client.call(EventSinkRPC.deliver, again, timeout: .seconds(120)).duplicateCount == 100)
        try await service.finish()
    }

    @Test("a timer that cannot fire stays armed and logged; the timers due after it still fire, each once")
    func failingTimerDoesNotBlock() async throws {
        let service = try await InProcessService.start(SLATimerService.definition, fakeClock: "2026-12-04T01:00:00Z")
        let start = service.clock.now()
        var request = Support_Events_V1_DeliverRequest()
        request.events = (1...3).map { Self.opened($0, at: start) }
        _ = try await service.client.call(EventSinkRPC.deliver, request, timeout: .seconds(120))

        // A customer-timeout warning for an incident in an office sla-timer
        // does not know: firing it throws. It falls due before the others'
        // breaches and 75% warnings.
        let database = service.process.environment.database
        try await database.writer.write { db in
            var snapshot = Support_Events_V1_IncidentSnapshot()
            snapshot.office = "atlantis"
            snapshot.side = .customer
            snapshot.state = .waitingCustomer
            try db.execute(
                sql: "INSERT INTO incident_projection (incident_id, sequence, document) VALUES (?, 1, ?)",
                arguments: ["INC-BAD", try snapshot.serializedBytes() as Data]
            )
            try db.execute(
                sql: "INSERT INTO incident_view (incident_id, side_since, cycles) VALUES (?, ?, 0)",
                arguments: ["INC-BAD", start.timeIntervalSince1970]
            )
            var timer = Support_Sla_V1_Timer()
            timer.id = "T-BAD"
            timer.kind = .customerTimeoutWarning
            timer.incidentID = "INC-BAD"
            timer.state = .armed
            timer.dueAt = .init(date: start.addingTimeInterval(20 * 60))
            try db.execute(
                sql: "INSERT INTO timer (id, kind, incident_id, due_at, state, sequence, document) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    timer.id, timer.kind.rawValue, timer.incidentID, timer.dueAt.date.timeIntervalSince1970,
                    timer.state.rawValue, 1_000_000, try timer.serializedBytes() as Data,
                ]
            )
        }

        var advance = Support_Clock_V1_AdvanceClockRequest()
        advance.by.seconds = 31 * 60
        _ = try await service.client.call(ClockRPC.advance, advance, timeout: .seconds(120))

        let (armed, fired, breaches) = try await database.writer.read { db in
            (
                try String.fetchAll(db, sql: "SELECT id FROM timer WHERE state = ?", arguments: [Support_Sla_V1_TimerState.armed.rawValue]),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer WHERE state = ?", arguments: [Support_Sla_V1_TimerState.fired.rawValue]) ?? -1,
                try Data.fetchAll(db, sql: "SELECT payload FROM outbox_event").map { try Support_Events_V1_Event(serializedBytes: $0) }
                    .filter { if case .slaBreached = $0.payload { true } else { false } }.map(\.incidentID)
            )
        }
        #expect(armed == ["T-BAD"], "only the failing timer is left armed")
        #expect(fired == 3 * 3, "two warnings and the breach of each incident")
        #expect(breaches.sorted() == ["INC-000001", "INC-000002", "INC-000003"])
        // An operator sees it without reading the log.
        let metrics = try await service.client.call(AdminRPC.metrics, .init()).text
        let failures = metrics.split(separator: "\n").first { $0.hasPrefix("supportdesk_sla_timer_fire_failures_total") }
        #expect(failures?.split(separator: " ").last == "1", "\(failures ?? "no supportdesk_sla_timer_fire_failures_total")")
        try await service.finish()
    }
}

/// Issue 9: the deadline queue is a partial index of the armed timers; the
/// scheduler's queries must be the ones SQLite answers from it, or every
/// wake-up would scan every timer ever armed.
@Suite("sla-timer deadline queue")
struct DeadlineQueueTests {
    static let queries = [
        "SELECT \(SLAStore.timerColumns) FROM timer WHERE state = \(SLAStore.armed) AND due_at <= 0 ORDER BY due_at, sequence LIMIT 10",
        "SELECT due_at FROM timer WHERE state = \(SLAStore.armed) ORDER BY due_at LIMIT 1",
    ]
    static let inQueue = "SELECT COUNT(*) FROM timer INDEXED BY timer_armed_due WHERE state = \(SLAStore.armed)"

    @Test("the scheduler's queries use the armed-timer index; firing takes a timer out of it")
    func partialIndex() async throws {
        let service = try await InProcessService.start(SLATimerService.definition, fakeClock: "2026-12-04T01:00:00Z")
        let database = service.process.environment.database
        var request = Support_Events_V1_DeliverRequest()
        request.events = [TimerBatchTests.opened(1, at: service.clock.now())]
        _ = try await service.client.call(EventSinkRPC.deliver, request, timeout: .seconds(30))
        let (plans, queued) = try await database.writer.read { db in
            (
                try Self.queries.map { sql in try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "; ") },
                try Int.fetchOne(db, sql: Self.inQueue)
            )
        }
        for (sql, plan) in zip(Self.queries, plans) {
            #expect(plan.contains("timer_armed_due") && !plan.contains("TEMP B-TREE"), "\(sql): \(plan)")
        }
        #expect(queued == 3, "severity 1: two warnings and the breach armed")

        // Past the due time: all three fire and leave the queue.
        var advance = Support_Clock_V1_AdvanceClockRequest()
        advance.by.seconds = 31 * 60
        _ = try await service.client.call(ClockRPC.advance, advance, timeout: .seconds(30))
        let (left, fired) = try await database.writer.read { db in
            (
                try Int.fetchOne(db, sql: Self.inQueue),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer WHERE state = ?", arguments: [Support_Sla_V1_TimerState.fired.rawValue])
            )
        }
        #expect(left == 0)
        #expect(fired == 3)

        // The breach ran the cancel statement, and here it runs again with
        // other values: SQLite never prepared it again (a bound state
        // compared with the partial index's made it re-prepare at every
        // binding).
        let reprepared = try await database.writer.write { db in
            try SLAStore.cancelTimers(of: "INC-000001", kinds: [.warning], in: db)
            try SLAStore.cancelTimers(of: "INC-000002", kinds: [.customerTimeout, .customerTimeoutWarning], cycle: "INC-000002/1", in: db)
            let statement = try db.cachedStatement(sql: SLAStore.cancelSQL)
            return sqlite3_stmt_status(statement.sqliteStatement, Int32(SQLITE_STMTSTATUS_REPREPARE), 0)
        }
        #expect(reprepared == 0)
        try await service.finish()
    }
}
