import Foundation
import GRDB
import Notifier
import ServiceKit
import SupportProto
import SupportRPC
import SwiftProtobuf
import Testing
import TestSupport

/// Issue 21, finding 2: a clock set to the year 33658 made sla-timer date
/// events no consumer survived, and a clock of Int64.max seconds was stored
/// and crashed intake on every start. Clocks stay in 1970-9999, events are
/// checked where they enter, and an old database's clock is refused at
/// start with a sentence saying what to do.
@Suite("Out-of-range clocks and events (issue 21)")
struct OutOfRangeClockTests {
    static let probe = ServiceDefinition(name: "probe")

    static func timestamp(_ seconds: Int64) -> Google_Protobuf_Timestamp {
        var time = Google_Protobuf_Timestamp()
        time.seconds = seconds
        return time
    }

    @Test("Clock/Set to 1e12 seconds or Int64.max is INVALID_ARGUMENT naming time; the clock is unchanged",
          arguments: [Int64(1_000_000_000_000), .max, .min, -1])
    func setOutOfRange(seconds: Int64) async throws {
        let service = try await InProcessService.start(Self.probe)
        let before = service.clock.now()
        var request = Support_Clock_V1_SetClockRequest()
        request.time = Self.timestamp(seconds)
        let error = await #expect(throws: RPCError.self) { try await service.client.call(ClockRPC.set, request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == "time")
        #expect(service.clock.now() == before)
        #expect(try await service.client.call(ClockRPC.get, .init()).now.date == before, "still serving")
        try await service.finish()
    }

    @Test("Clock/Advance by Int64.max seconds, by over 100 years, or past 9999 is INVALID_ARGUMENT naming by; the clock is unchanged")
    func advanceOutOfRange() async throws {
        let service = try await InProcessService.start(Self.probe)
        var request = Support_Clock_V1_AdvanceClockRequest()
        for seconds in [Int64.max, 3_155_760_001] {
            request.by.seconds = seconds
            let error = await #expect(throws: RPCError.self) { try await service.client.call(ClockRPC.advance, request) }
            #expect(error?.code == .invalidArgument, "\(seconds)")
            #expect(error?.details.first?.field == "by", "\(seconds)")
        }
        // 9999-12-01, then 31 days: past the last supported second.
        var set = Support_Clock_V1_SetClockRequest()
        set.time = Self.timestamp(253_400_000_000)
        _ = try await service.client.call(ClockRPC.set, set)
        request.by.seconds = 31 * 86_400
        let error = await #expect(throws: RPCError.self) { try await service.client.call(ClockRPC.advance, request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == "by")
        #expect(service.clock.now() == Date(timeIntervalSince1970: 253_400_000_000))
        request.by.seconds = 86_400
        #expect(try await service.client.call(ClockRPC.advance, request).now.seconds == 253_400_086_400)
        try await service.finish()
    }

    @Test("A ManualClock refuses to move outside the supported times")
    func manualClock() async throws {
        let clock = ManualClock(start: Date(timeIntervalSince1970: 0))
        await #expect(throws: ClockError.outOfRange(requested: Date(timeIntervalSince1970: 1e12))) {
            try await clock.set(to: Date(timeIntervalSince1970: 1e12))
        }
        await #expect(throws: ClockError.self) { try await clock.advance(by: 1e12) }
        await #expect(throws: ClockError.self) { try await clock.advance(by: .infinity) }
        #expect(clock.now() == Date(timeIntervalSince1970: 0))
    }

    @Test("A database holding an out-of-range fake clock (an older build's) stops the start with a RuntimeError that says what to do")
    func persistedOutOfRange() async throws {
        let directory = try TemporaryDirectory()
        let service = try await InProcessService.start(Self.probe, directory: directory)
        try await service.process.environment.database.writer.write { db in
            try db.execute(sql: "UPDATE fake_clock SET now = 1e12 WHERE id = 1")
            if db.changesCount == 0 { try db.execute(sql: "INSERT INTO fake_clock (id, now) VALUES (1, 1e12)") }
        }
        try await service.stop()
        let error = await #expect(throws: RuntimeError.self) {
            _ = try await InProcessService.start(Self.probe, directory: directory)
        }
        #expect(error?.message.contains("DELETE FROM fake_clock") == true)
        directory.remove()
    }

    @Test("an event dated out of range is parked naming the field, never applied; the stream goes on and notifier keeps serving")
    func outOfRangeEvent() async throws {
        let notifier = try await InProcessService.start(NotifierService.definition)
        var good = Support_Events_V1_Event()
        good.eventID = "e-1"
        good.producer = "sla-timer"
        good.incidentID = "I-1"
        good.occurredAt = Self.timestamp(1_796_346_000)
        good.slaBreached.cycle.dueAt = Self.timestamp(1_796_346_000)
        var late = good
        late.eventID = "e-2"
        late.occurredAt = Self.timestamp(1_000_000_000_001)
        var nested = good
        nested.eventID = "e-3"
        nested.slaBreached.cycle.dueAt = Self.timestamp(.max)

        var request = Support_Events_V1_DeliverRequest()
        request.events = [late, nested]
        let delivered = try await notifier.client.call(EventSinkRPC.deliver, request)
        #expect(delivered.appliedEventIds == ["e-2", "e-3"], "both taken off the producer's hands")
        let parked = try await notifier.client.call(AdminRPC.listParkedEvents, .init()).events
        #expect(parked.map(\.eventID) == ["e-2", "e-3"])
        #expect(parked.first?.reason.contains("occurred_at") == true)
        #expect(parked.last?.reason.contains("sla_breached.cycle.due_at") == true)
        // A retry goes through the same check: still out of range, still parked.
        var retry = Support_Admin_V1_RetryParkedEventRequest()
        retry.eventID = "e-2"
        retry.actor = "ops"
        let again = await #expect(throws: RPCError.self) { try await notifier.client.call(AdminRPC.retryParkedEvent, retry) }
        #expect(again?.details.first?.reason == "EVENT_STILL_FAILS")
        #expect(again?.message.contains("occurred_at") == true)
        #expect(try await notifier.client.call(AdminRPC.listParkedEvents, .init()).events.count == 2)
        #expect(try await notifier.client.call(HealthRPC.check, .init()).status == .serving)
        try await notifier.finish()
    }

    @Test("The outbox refuses an event its subscribers would refuse, so no producer publishes one")
    func outboxRefuses() async throws {
        let service = try await InProcessService.start(Self.probe)
        var event = Support_Events_V1_Event()
        event.incidentID = "I-1"
        event.occurredAt = Self.timestamp(1_000_000_000_001)
        event.slaBreached.cycle.dueAt = Self.timestamp(1_796_346_000)
        let outbox = service.process.environment.outbox
        let error = #expect(throws: ServiceError.self) {
            try service.process.environment.database.writer.write { db in try outbox.append(event, in: db) }
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.field == "occurred_at")
        try await service.finish()
    }
}
