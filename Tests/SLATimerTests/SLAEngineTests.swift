import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto
import Testing
import TestSupport

@testable import SLATimer

/// Feeds the engine intake's events for one incident, as intake would
/// write them, and reads back cycles, timers and published events.
final class EngineHarness {
    let directory: TemporaryDirectory
    let database: ServiceDatabase
    let engine: SLAEngine
    var snapshot = Support_Events_V1_IncidentSnapshot()
    var sequence = 0
    let incident = "INC-000001"

    init(severity: Int32 = 3, channel: Support_Common_V1_Channel = .portal, phoneAdvised: Bool = false) throws {
        self.directory = try TemporaryDirectory()
        self.database = try ServiceDatabase(path: self.directory.file("sla.sqlite")) { SLAMigrations.register(in: &$0) }
        self.engine = SLAEngine(policy: .program, offices: offices, outbox: EventOutbox(producer: "sla-timer"))
        self.snapshot.certificateID = "C-1"
        self.snapshot.tier = .enterprise
        self.snapshot.office = "tokyo"
        self.snapshot.severity = severity
        self.snapshot.channel = channel
        self.snapshot.phoneAdvised = phoneAdvised
    }

    deinit { self.directory.remove() }

    /// Applies an intake event that moves the incident to `state`.
    func send(_ payload: Support_Events_V1_Event.OneOf_Payload, state: Support_Common_V1_IncidentState, at: String) throws {
        self.snapshot.previousState = self.snapshot.state
        self.snapshot.previousSide = self.snapshot.side
        self.snapshot.state = state
        self.snapshot.side = [.new, .inProgress].contains(state) ? .vendor : .customer
        self.sequence += 1
        var event = Event()
        event.eventID = "intake-\(self.sequence)"
        event.producer = "intake"
        event.incidentID = self.incident
        event.sequence = UInt64(self.sequence)
        event.occurredAt = .init(date: jst(at))
        event.payload = payload
        event.incidentSnapshot = self.snapshot
        try self.database.writer.write { db in try self.engine.apply(event, in: db) }
    }

    func changeSeverity(to severity: Int32, at: String) throws {
        var change = Support_Events_V1_SeverityChanged()
        change.fromSeverity = self.snapshot.severity
        change.toSeverity = severity
        self.snapshot.severity = severity
        try self.send(.severityChanged(change), state: self.snapshot.state, at: at)
    }

    /// Fires every timer due by `now`, in order; returns their kinds.
    @discardableResult
    func fire(until now: String) throws -> [Support_Sla_V1_TimerKind] {
        var fired: [Support_Sla_V1_TimerKind] = []
        while let timer = try self.database.writer.write({ db in try self.engine.fireNext(dueBy: jst(now), in: db) }) {
            fired.append(timer.kind)
        }
        return fired
    }

    var cycles: [Support_Sla_V1_Cycle] {
        get throws { try self.database.writer.read { db in try SLAStore.cycles(of: self.incident, in: db) } }
    }

    /// sla-timer's own published events, by kind name.
    var published: [String] {
        get throws {
            try self.database.writer.read { db in try EventOutbox(producer: "sla-timer").events(stream: self.incident, in: db) }.map { event in
                switch event.payload {
                case .slaWarning: "warning"
                case .slaBreached: "breached"
                case .slaMet: "met"
                case .customerTimeoutWarning: "timeout-warning"
                case .customerTimeout: "timeout"
                default: "other"
                }
            }
        }
    }
}

@Suite("SLA engine")
struct SLAEngineTests {
    @Test("R-SLA-1: a response before due meets the cycle and cancels its timers")
    func met() throws {
        let harness = try EngineHarness()
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-04T11:00:00")
        try harness.send(.responseGiven(.init()), state: .inProgress, at: "2026-12-04T12:00:00")
        #expect(try harness.cycles.map(\.state) == [.met])
        #expect(try harness.fire(until: "2027-06-01T00:00:00").isEmpty, "no timer is left armed")
        #expect(try harness.published == ["met"])
    }

    @Test("R-SLA-5, R-SLA-7: time on the customer's side does not count; information back starts a new cycle")
    func customerSideDoesNotCount() throws {
        let harness = try EngineHarness()
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-04T11:00:00")
        try harness.send(.infoRequested(.init()), state: .waitingCustomer, at: "2026-12-04T12:00:00")
        // Days pass on the customer's side: nothing breaches.
        #expect(try harness.fire(until: "2026-12-10T12:00:00").isEmpty)
        try harness.send(.infoProvided(.init()), state: .inProgress, at: "2026-12-10T12:00:00")
        let cycles = try harness.cycles
        #expect(cycles.map(\.state) == [.met, .running])
        #expect(cycles[1].startedAt.date == jst("2026-12-10T12:00:00"))
        #expect(cycles[1].dueAt.date == jst("2026-12-10T18:00:00"), "6 business hours from Thursday 12:00 end at its close")
    }

    @Test("Advancing past due fires exactly one SLABreached, after its warnings")
    func breachOnce() throws {
        let harness = try EngineHarness()
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-04T17:00:00")
        #expect(try harness.fire(until: "2026-12-07T15:00:00") == [.warning, .warning, .breach])
        #expect(try harness.fire(until: "2026-12-08T15:00:00").isEmpty)
        #expect(try harness.published == ["warning", "warning", "breached"])
        #expect(try harness.cycles.map(\.state) == [.breached])
        // Warnings and the breach append to the stored cycle's log without
        // re-encoding it (protobuf's merge of concatenated messages); the
        // state column the list queries filter on follows.
        let log = try #require(try harness.cycles.first).events
        #expect(log.map(\.kind) == [.started, .warned, .warned, .breached])
        #expect(log.last?.at.date == jst("2026-12-07T15:00:00"))
        #expect(try harness.database.writer.read { db in try Int.fetchAll(db, sql: "SELECT state FROM cycle") } == [Support_Sla_V1_CycleState.breached.rawValue])
        // A late answer records when the breached cycle ended; the verdict stays.
        try harness.send(.responseGiven(.init()), state: .inProgress, at: "2026-12-07T16:00:00")
        let cycle = try #require(try harness.cycles.first)
        #expect(cycle.state == .breached && cycle.hasEndedAt)
        #expect(cycle.events.map(\.kind) == [.started, .warned, .warned, .breached], "the full save keeps the appended log")
        #expect(try harness.published == ["warning", "warning", "breached"])
    }

    @Test("R-SLA-1: an answer recorded by due that arrives after the breach fired withdraws the breach")
    func lateAnswerInTimeWithdrawsBreach() throws {
        let harness = try EngineHarness()
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-04T17:00:00")
        // sla-timer fires the breach, then gets intake's answer, which was
        // recorded before due (sla-timer was down at due time, say).
        #expect(try harness.fire(until: "2026-12-07T15:30:00") == [.warning, .warning, .breach])
        let due = try #require(try harness.cycles.first).dueAt.date
        #expect(due == jst("2026-12-07T15:00:00"))
        try harness.send(.responseGiven(.init()), state: .inProgress, at: "2026-12-07T14:59:00")
        let cycle = try #require(try harness.cycles.first)
        #expect(cycle.state == .met)
        #expect(cycle.endedAt.date == jst("2026-12-07T14:59:00"))
        #expect(cycle.events.map(\.kind) == [.started, .warned, .warned, .breached, .breachWithdrawn])
        #expect(try harness.database.writer.read { db in try Int.fetchAll(db, sql: "SELECT state FROM cycle") } == [Support_Sla_V1_CycleState.met.rawValue])
        #expect(try harness.published == ["warning", "warning", "breached", "met"])
        let met = try harness.database.writer.read { db in try EventOutbox(producer: "sla-timer").events(stream: harness.incident, in: db) }
            .compactMap { event -> Support_Events_V1_SLAMet? in if case .slaMet(let met) = event.payload { met } else { nil } }
        #expect(met.map(\.withdrawsBreach) == [true])
        #expect(met.first?.metAt.date == jst("2026-12-07T14:59:00"))
        // Delivered again (the inbox would not, but the verdict is settled):
        // nothing more is published.
        try harness.send(.responseGiven(.init()), state: .inProgress, at: "2026-12-07T14:59:00")
        #expect(try harness.published == ["warning", "warning", "breached", "met"])
    }

    @Test("R-SLA-1: an answer in time that overtook nothing is met without a withdrawal")
    func metInTimeWithdrawsNothing() throws {
        let harness = try EngineHarness()
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-04T17:00:00")
        try harness.send(.responseGiven(.init()), state: .inProgress, at: "2026-12-07T14:59:00")
        let met = try harness.database.writer.read { db in try EventOutbox(producer: "sla-timer").events(stream: harness.incident, in: db) }
            .compactMap { event -> Support_Events_V1_SLAMet? in if case .slaMet(let met) = event.payload { met } else { nil } }
        #expect(met.map(\.withdrawsBreach) == [false])
        #expect(try harness.cycles.first?.events.map(\.kind) == [.started, .met])
    }

    @Test("R-SLA-7: a severity change re-targets the running cycle from its original start; completed cycles stay")
    func retarget() throws {
        let harness = try EngineHarness(severity: 4)
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-04T10:00:00")
        try harness.send(.responseGiven(.init()), state: .inProgress, at: "2026-12-04T11:00:00")
        try harness.send(.reopened(.init()), state: .inProgress, at: "2026-12-04T12:00:00")
        try harness.changeSeverity(to: 2, at: "2026-12-04T13:00:00")
        let cycles = try harness.cycles
        #expect(cycles[0].severity == 4 && cycles[0].state == .met, "the completed cycle is not rewritten")
        #expect(cycles[1].severity == 2)
        #expect(cycles[1].dueAt.date == jst("2026-12-04T16:00:00"), "4 hours on the 24×7 clock from 12:00")
        #expect(cycles[1].events.map(\.kind) == [.started, .retargeted])
        // Re-targeting into the past breaches at once.
        try harness.changeSeverity(to: 1, at: "2026-12-04T13:00:00")
        #expect(try harness.fire(until: "2026-12-04T13:00:00").contains(.breach))
    }

    @Test("R-SLA-3: a phone-advised severity 1 starts its clock at the next opening")
    func phoneAdvised() throws {
        let harness = try EngineHarness(severity: 1, phoneAdvised: true)
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-05T03:00:00")
        let cycle = try #require(try harness.cycles.first)
        #expect(cycle.receivedAt.date == jst("2026-12-05T03:00:00"))
        #expect(cycle.startedAt.date == jst("2026-12-07T10:00:00"))
        #expect(cycle.dueAt.date == jst("2026-12-07T10:30:00"))
        #expect(try harness.fire(until: "2026-12-07T10:29:59") == [.warning, .warning])
        #expect(try harness.fire(until: "2026-12-07T10:30:00") == [.breach])
    }

    @Test("R-SLA-6: a month on the customer's side warns a week before and then times out once")
    func customerTimeout() throws {
        let harness = try EngineHarness()
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-04T11:00:00")
        try harness.send(.infoRequested(.init()), state: .waitingCustomer, at: "2026-12-04T12:00:00")
        #expect(try harness.fire(until: "2026-12-28T12:00:00") == [.customerTimeoutWarning])
        #expect(try harness.fire(until: "2027-01-04T12:00:00") == [.customerTimeout])
        #expect(try harness.fire(until: "2027-03-01T00:00:00").isEmpty)
        #expect(try harness.published == ["met", "timeout-warning", "timeout"])
    }

    @Test("R-SLA-6: an answer in time cancels the customer timeout")
    func answerCancelsTimeout() throws {
        let harness = try EngineHarness()
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-04T11:00:00")
        try harness.send(.infoRequested(.init()), state: .waitingCustomer, at: "2026-12-04T12:00:00")
        try harness.send(.infoProvided(.init()), state: .inProgress, at: "2026-12-20T12:00:00")
        try harness.send(.responseGiven(.init()), state: .inProgress, at: "2026-12-21T12:00:00")
        #expect(try harness.fire(until: "2027-03-01T00:00:00").isEmpty)
    }

    @Test("Timers that came due while the service was down fire once each, in due order")
    func catchUpInOrder() throws {
        let harness = try EngineHarness(severity: 2)
        try harness.send(.incidentOpened(.init()), state: .new, at: "2026-12-04T11:00:00")
        try harness.send(.infoRequested(.init()), state: .waitingCustomer, at: "2026-12-04T11:10:00")
        try harness.send(.infoProvided(.init()), state: .inProgress, at: "2026-12-04T11:20:00")
        let fired = try harness.database.writer.write { db -> [Date] in
            var dues: [Date] = []
            while let timer = try harness.engine.fireNext(dueBy: jst("2026-12-04T23:00:00"), in: db) { dues.append(timer.dueAt.date) }
            return dues
        }
        #expect(fired == fired.sorted())
        #expect(fired.count == 3, "two warnings and the breach of the running cycle")
        #expect(try harness.fire(until: "2026-12-04T23:00:00").isEmpty)
    }
}
