import Foundation
import GRDB
@testable import ServiceKit
import SupportProto
import SupportRPC
import Synchronization
import Testing
import TestSupport

@Suite("Outbox relay and inbox")
struct OutboxRelayTests {
    /// A subscriber that applies events through a real inbox and counts
    /// what it was sent.
    final class Subscriber: Sendable {
        let database: ServiceDatabase
        let log = EventLog()
        let running: RunningServer

        var applied: EventLog { self.log }

        init(directory: TemporaryDirectory, name: String) async throws {
            self.database = try ServiceDatabase(path: directory.file("\(name).sqlite"))
            let log = self.log
            let inbox = EventInbox(database: self.database) { _, event in log.append(event.eventID) }
            var router = RPCRouter()
            router.register(EventSinkRPC.deliver) { request, _ in
                let (accepted, duplicates) = try await inbox.receive(request.events, receivedAt: Date())
                var response = Support_Events_V1_DeliverResponse()
                response.appliedEventIds = accepted
                response.duplicateCount = UInt32(duplicates)
                return response
            }
            self.running = try await RunningServer.start(router: router, socketPath: directory.file("\(name).sock"))
        }
    }

    static func write(_ count: Int, to database: ServiceDatabase, outbox: EventOutbox) async throws {
        try await database.writer.write { db in
            for index in 0..<count {
                var event = Support_Events_V1_Event()
                event.incidentID = "INC-00000\(index % 2)"
                event.occurredAt = .init(date: Date())
                event.payload = .companyAccountAvailabilityChanged(.init())
                try outbox.append(event, in: db)
            }
        }
    }

    @Test("A subscriber that is down delays only itself; it catches up exactly once when it comes back")
    func subscriberDown() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let producer = try ServiceDatabase(path: directory.file("producer.sqlite"))
        let outbox = EventOutbox(producer: "producer")
        let up = try await Subscriber(directory: directory, name: "up")
        let relay = OutboxRelay(
            database: producer,
            subscribers: [
                .init(name: "up", client: RPCClient(socketPath: directory.file("up.sock"))),
                .init(name: "late", client: RPCClient(socketPath: directory.file("late.sock"))),
            ],
            logger: LogRecorder().logger()
        )
        let task = Task { try await relay.run() }
        try await Self.write(6, to: producer, outbox: outbox)
        relay.wake()

        try await eventually("up applied the six events") { up.applied.withLock { $0.count } == 6 }
        // The cursor moves once Deliver has answered.
        try await eventually("up's cursor is at the head, late's at the start") { try relay.depth() == ["up": 0, "late": 6] }

        let late = try await Subscriber(directory: directory, name: "late")
        try await eventually("late caught up with the six events", timeout: .seconds(15)) { late.applied.withLock { $0.count } == 6 }
        try await eventually("both cursors are at the head") { try relay.depth() == ["up": 0, "late": 0] }
        // Drained, so nothing more is on its way: each event arrived once.
        #expect(late.applied.withLock { $0 } == up.applied.withLock { $0 }, "the same events, in the same order, once each")

        // Per-incident sequences are gap-free and ordered.
        let events = try await producer.writer.read { db in try outbox.events(stream: "INC-000000", in: db) }
        #expect(events.map(\.sequence) == [1, 2, 3])

        task.cancel()
        _ = await task.result
        try await up.running.stop()
        try await late.running.stop()
    }

    /// A subscriber whose Deliver does not answer: it hangs until the
    /// relay's deadline, or fails at once; it records when it was called.
    final class Misbehaving: Sendable {
        final class Calls: Sendable {
            let instants = Mutex<[ContinuousClock.Instant]>([])
        }
        private let log = Calls()
        let running: RunningServer
        var calls: [ContinuousClock.Instant] { self.log.instants.withLock { $0 } }

        init(directory: TemporaryDirectory, name: String, hang: Bool) async throws {
            var router = RPCRouter()
            let log = self.log
            router.register(EventSinkRPC.deliver) { _, _ in
                log.instants.withLock { $0.append(.now) }
                if hang { try await Task.sleep(for: .seconds(60)) }
                throw RPCError(.unavailable, "\(name) is overloaded")
            }
            self.running = try await RunningServer.start(router: router, socketPath: directory.file("\(name).sock"))
        }
    }

    @Test("Issue 10: a subscriber that hangs or fails delays only itself: the producer keeps writing quickly, the healthy subscriber keeps receiving, the failing one is retried with growing, jittered backoff")
    func misbehavingSubscribers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let producer = try ServiceDatabase(path: directory.file("producer.sqlite"))
        let outbox = EventOutbox(producer: "producer")
        let up = try await Subscriber(directory: directory, name: "up")
        let hanging = try await Misbehaving(directory: directory, name: "hanging", hang: true)
        let failing = try await Misbehaving(directory: directory, name: "failing", hang: false)
        let relay = OutboxRelay(
            database: producer,
            subscribers: [
                .init(name: "hanging", client: RPCClient(socketPath: directory.file("hanging.sock"))),
                .init(name: "failing", client: RPCClient(socketPath: directory.file("failing.sock"))),
                .init(name: "up", client: RPCClient(socketPath: directory.file("up.sock"))),
            ],
            logger: LogRecorder().logger()
        )
        let task = Task { try await relay.run() }
        let started = ContinuousClock.now

        // The producer writes in small transactions for 3 s while the hanging
        // Deliver is in flight (it answers only at the relay's 5 s deadline).
        var written = 0
        var slowest = Duration.zero
        while ContinuousClock.now - started < .seconds(3) {
            let before = ContinuousClock.now
            try await Self.write(2, to: producer, outbox: outbox)
            relay.wake()
            slowest = max(slowest, ContinuousClock.now - before)
            written += 2
            try await Task.sleep(for: .milliseconds(100))
        }
        // Not a speed bound: a write held up by the hanging subscriber would
        // last until the relay's 5 s deadline, and that is what must not happen.
        #expect(slowest < .seconds(5), "a producer write took \(slowest) while a subscriber hung")
        try await eventually("the healthy subscriber got every event while another hung", timeout: .seconds(120)) {
            up.applied.withLock { $0.count } == written
        }
        #expect(hanging.calls.count >= 1 && hanging.calls.count < written / 2, "the hanging subscriber is called, not once per commit: \(hanging.calls.count) calls")

        // The failing subscriber is retried with backoff, not once per commit
        // (the growth and jitter of the backoff itself are unit-tested on
        // OutboxRelay.backoff; timing them here fails on a loaded machine).
        let attempts = failing.calls
        #expect(attempts.count >= 1 && attempts.count < written / 2, "\(attempts.count) attempts, not one per commit (\(written / 2) commits)")
        // The cursor moves once the answer is back, a moment after the apply.
        try await eventually("up's cursor is at the head", timeout: .seconds(120)) { try relay.depth()["up"] == 0 }
        #expect(try relay.depth()["failing"] == written)

        task.cancel()
        _ = await task.result
        try await up.running.stop()
        try await hanging.running.stop()
        try await failing.running.stop()
    }

    @Test("The inbox applies a redelivered event once and says it was a duplicate")
    func inboxDeduplicates() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try ServiceDatabase(path: directory.file("s.sqlite"))
        let applied = EventLog()
        let inbox = EventInbox(database: database) { _, event in applied.append(event.eventID) }
        var event = Support_Events_V1_Event()
        event.eventID = "e-1"
        event.producer = "intake"
        let first = try await inbox.receive([event], receivedAt: Date())
        let again = try await inbox.receive([event], receivedAt: Date())
        #expect(first.accepted == ["e-1"] && first.duplicates == 0)
        #expect(again.accepted == ["e-1"] && again.duplicates == 1)
        #expect(applied.withLock { $0 }.count == 1)
    }
}

/// Event ids in the order a test subscriber applied them.
final class EventLog: Sendable {
    private let ids = Mutex<[String]>([])
    func append(_ id: String) { self.ids.withLock { $0.append(id) } }
    func withLock<T>(_ body: ([String]) -> T) -> T { self.ids.withLock { body($0) } }
}

@Suite("Wakeup")
struct WakeupTests {
    @Test("After a signal is consumed, the next wait sleeps its timeout instead of returning at once")
    func noBusyLoop() async throws {
        let wakeup = Wakeup()
        let waiting = Task { await wakeup.wait(timeout: .seconds(30)) }
        // The signal must find the wait parked: that is the path that once
        // left a stale signal behind.
        try await eventually("the wait parked") { wakeup.hasWaiter }
        wakeup.signal()
        await waiting.value
        let started = ContinuousClock.now
        await wakeup.wait(timeout: .milliseconds(300))
        #expect(ContinuousClock.now - started >= .milliseconds(250), "the second wait must not return on a stale signal")
    }

    @Test("A signal given while nobody waits wakes the next wait at once", .timeLimit(.minutes(1)))
    func keptSignal() async {
        let wakeup = Wakeup()
        wakeup.signal()
        // Without the kept signal this waits an hour and the time limit fails it.
        await wakeup.wait(timeout: .seconds(3600))
    }
}

@Suite("Relay backoff")
struct RelayBackoffTests {
    @Test("The backoff doubles per failure up to 5 s, each wait jittered to 50–100 % of its ceiling")
    func growsAndJitters() {
        for failures in 1...12 {
            let ceiling = min(5.0, 0.05 * pow(2.0, Double(failures - 1)))
            let waits = (0..<50).map { _ in OutboxRelay.backoff(afterFailures: failures) }
            #expect(waits.allSatisfy { $0 >= .milliseconds(Int64(ceiling * 500)) - .milliseconds(1) && $0 <= .milliseconds(Int64(ceiling * 1000)) }, "failure \(failures): \(waits)")
            #expect(Set(waits).count > 1, "failure \(failures): the waits are jittered")
        }
    }
}
