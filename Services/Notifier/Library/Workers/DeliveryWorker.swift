import Foundation
import GRDB
import Logging
import ServiceKit
import ServiceLifecycle
import SupportProto

/// Sends pending messages through the transport, oldest due first, and
/// retries failures with exponential backoff until `maxAttempts`, after
/// which a message is `failed` until an operator retries it.
///
/// Sending happens outside any transaction and the outcome is recorded
/// afterwards; the Maildir transport recognises a file it already
/// delivered by the message id in its name, so a send that is repeated
/// after a crash adds no second copy. Like sla-timer's
/// scheduler it sleeps until the next due message on the wall clock and,
/// on a fake clock, also delivers from the clock's listener: both run the
/// one ``DueWorkLoop`` (issue 20).
final class DeliveryWorker: Service, Sendable {
    let database: ServiceDatabase
    let clock: any ServiceClock
    let logger: Logger
    let config: NotifierConfig
    let transport: any MailTransport
    /// Work that creates messages from the passing of time (the periodic
    /// reports), run before each delivery round.
    let beforeDelivery: @Sendable (Database, Date) throws -> Void
    private let loop: DueWorkLoop

    init(
        environment: ServiceEnvironment, config: NotifierConfig, transport: any MailTransport,
        beforeDelivery: @escaping @Sendable (Database, Date) throws -> Void = { _, _ in }
    ) {
        self.beforeDelivery = beforeDelivery
        self.database = environment.database
        self.clock = environment.clock
        self.logger = environment.logger
        self.config = config
        self.transport = transport
        self.loop = DueWorkLoop(clock: environment.clock, retryAfterFailure: Self.retryAfterFailure)
        self.loop.workWhenClockMoves { [weak self] in await self?.deliverDue() }
    }

    /// Messages may have been created: look again.
    func wake() { self.loop.wake() }

    /// No pause after a round that could not read or record a delivery: it
    /// is tried again at the next wake-up, as before issue 20 shared the
    /// loop. That message is still due, so on a wall clock the next look is
    /// a millisecond away; a pause like sla-timer's would change what
    /// notifier does, and is left to a change of its own.
    static let retryAfterFailure: Duration = .zero

    func run() async throws {
        await self.loop.run(
            nextDue: { try self.database.writer.read { db in try NotifierStore.nextDueTime(in: db) } },
            work: { await self.deliverRound().failing }
        )
    }

    /// Attempts every message due by now, one at a time; returns how many.
    @discardableResult
    func deliverDue() async -> Int {
        await self.deliverRound().attempted
    }

    /// Attempts every message due by now, one at a time. `failing` is true
    /// when a delivery could not be read or recorded: the message it stopped
    /// at is still due.
    private func deliverRound() async -> (attempted: Int, failing: Bool) {
        var attempted = 0
        var failing = false
        do {
            let now = self.clock.now()
            try await self.database.writer.write { db in try self.beforeDelivery(db, now) }
        } catch {
            self.logger.error("periodic reports could not be generated; retrying on the next wake-up", metadata: ["error": "\(error)"])
        }
        while !Task.isShuttingDownGracefully {
            let now = self.clock.now()
            do {
                guard let message = try await self.database.writer.read({ db in try NotifierStore.nextDue(by: now, in: db) }) else { break }
                attempted += 1
                try await self.attempt(message, now: now)
            } catch {
                self.logger.error("a delivery could not be recorded; retrying on the next wake-up", metadata: ["error": "\(error)"])
                failing = true
                break
            }
        }
        return (attempted, failing)
    }

    private func attempt(_ message: Message, now: Date) async throws {
        var outcome: String?
        // A mail whose headers cannot be written safely (a malformed
        // address, issue 21) fails at once: trying again cannot fix it.
        var permanent = false
        if message.transport != .phone {
            do {
                let bytes = try MailFormat.render(message, from: self.config.from)
                do { try await self.transport.deliver(bytes, message: message) } catch { outcome = "\(error)" }
            } catch {
                outcome = "the mail cannot be written: \(error)"
                permanent = true
            }
        }
        let config = self.config
        let failure = outcome
        let givesUp = permanent
        let recorded = try await self.database.writer.write { db -> Message? in
            guard var message = try NotifierStore.message(message.id, in: db), message.state == .pending else { return nil }
            var attempt = Support_Notifier_V1_DeliveryAttempt()
            attempt.number = UInt32(message.attempts.count + 1)
            attempt.at = .init(date: now)
            attempt.transport = message.transport
            attempt.ok = failure == nil
            attempt.error = failure ?? ""
            message.attempts.append(attempt)
            if failure == nil {
                if message.transport == .phone { try NotifierStore.insertCall(Self.callTask(for: message, at: now), in: db) }
                message.state = .sent
                message.sentAt = .init(date: now)
                message.clearNextAttemptAt()
            } else if givesUp || message.attempts.count >= config.maxAttempts {
                message.state = .failed
                message.clearNextAttemptAt()
            } else {
                let tries = Double(message.attempts.count - 1)
                let backoff = min(config.maxBackoff, config.initialBackoff * pow(2, tries))
                message.nextAttemptAt = .init(date: now.addingTimeInterval(backoff))
            }
            try NotifierStore.update(message, in: db)
            return message
        }
        if let recorded {
            self.logger.debug("delivery attempt", metadata: [
                "message": "\(recorded.id)", "incident": "\(recorded.incidentID)", "state": "\(recorded.state)", "error": "\(failure ?? "")",
            ])
        }
    }

    /// The phone transport: a call someone must make (R-REP-2 allows phone).
    static func callTask(for message: Message, at: Date) -> Support_Notifier_V1_CallTask {
        var call = Support_Notifier_V1_CallTask()
        call.messageID = message.id
        call.incidentID = message.incidentID
        call.callee = message.recipients.first ?? Recipient()
        call.subject = message.subject
        call.script = message.body
        call.createdAt = .init(date: at)
        return call
    }
}
