import Foundation
import Logging
import ServiceKit
import SupportProto
import Synchronization
import Testing
import TestSupport

@testable import Notifier

/// A transport that fails its first `failures` deliveries.
final class FlakyTransport: MailTransport {
    let failures: Int
    let calls = Mutex(0)

    init(failures: Int) { self.failures = failures }

    func deliver(_ bytes: Data, message: Message) async throws {
        let call = self.calls.withLock { value -> Int in
            value += 1
            return value
        }
        if call <= self.failures { throw TransportError(description: "connection refused by the MTA (attempt \(call))") }
    }
}

@Suite("Delivery retries")
struct DeliveryRetryTests {
    static func worker(_ harness: NotifierHarness, transport: FlakyTransport, maxAttempts: Int) throws -> DeliveryWorker {
        var config = try NotifierConfig.load(configDirectory: URL(fileURLWithPath: InProcessService.configDirectory))
        config.maxAttempts = maxAttempts
        config.initialBackoff = 30
        let environment = ServiceEnvironment(
            name: "notifier", database: harness.database, clock: harness.clock, logger: LogRecorder().logger(),
            layout: RuntimeLayout(directory: harness.directory.path), configDirectory: URL(fileURLWithPath: InProcessService.configDirectory),
            outbox: EventOutbox(producer: "notifier"), relay: nil
        )
        return DeliveryWorker(environment: environment, config: config, transport: transport)
    }

    @Test("A failing transport is retried with doubling backoff, then the message is failed with every attempt's error")
    func backoffThenFailed() async throws {
        // Severity 3: the acknowledgement is the one message (1 and 2 also alert staff).
        let harness = try NotifierHarness(severity: 3)
        try harness.open()
        let transport = FlakyTransport(failures: 10)
        let worker = try Self.worker(harness, transport: transport, maxAttempts: 3)
        #expect(await worker.deliverDue() == 1)
        var message = try #require(try harness.messages("incident-opened").first)
        #expect(message.state == .pending)
        #expect(message.nextAttemptAt.date == harness.clock.now().addingTimeInterval(30))
        #expect(await worker.deliverDue() == 0, "not before the backoff")
        // Moving the fake clock delivers what came due before it returns.
        try await harness.clock.advance(by: 30)
        message = try #require(try harness.messages("incident-opened").first)
        #expect(message.attempts.count == 2)
        #expect(message.nextAttemptAt.date == harness.clock.now().addingTimeInterval(60), "the backoff doubles")
        try await harness.clock.advance(by: 60)
        message = try #require(try harness.messages("incident-opened").first)
        #expect(message.state == .failed)
        #expect(message.attempts.map(\.ok) == [false, false, false])
        #expect(message.attempts.last?.error.contains("connection refused") == true)
    }

    @Test("A message that failed once is delivered on a later attempt")
    func recovers() async throws {
        let harness = try NotifierHarness()
        try harness.open()
        let worker = try Self.worker(harness, transport: FlakyTransport(failures: 1), maxAttempts: 5)
        _ = await worker.deliverDue()
        try await harness.clock.advance(by: 30)
        let message = try #require(try harness.messages("incident-opened").first)
        #expect(message.state == .sent)
        #expect(message.attempts.map(\.ok) == [false, true])
    }
}
