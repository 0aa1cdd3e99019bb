import Foundation
import GRDB
import Logging
import SupportProto
import SupportRPC

/// The receiving side: an event is applied and its id recorded in one
/// transaction, so a redelivered event changes nothing (at-least-once
/// delivery, exactly-once effect).
///
/// An event that cannot be applied is *parked* — set aside with its reason,
/// recorded as received — and the events behind it go on (DESIGN.md,
/// "Trust"): one bad event must not stop a stream, and the producer must not
/// resend it for ever. Parked are
/// - an event whose application failed for a reason retrying will not
///   change (``isRetryable(_:)`` says which do: a service or storage that is
///   unavailable, an incident not yet known);
/// - an event the service stopped twice while applying (a crash): before a
///   delivery is applied, each new event's attempt is counted in a
///   committed row; a delivery whose first new event was attempted before
///   is applied one event at a time, and an event attempted twice already
///   is parked without a third try.
///
/// Operators list, retry and drop parked events (Admin's
/// ListParkedEvents, RetryParkedEvent, DropParkedEvent; `supportctl events`).
public struct EventInbox: Sendable {
    public typealias Apply = @Sendable (Database, Event) throws -> Void

    let database: ServiceDatabase
    let apply: Apply
    /// Where parking an event is logged (a warning an operator acts on).
    let logger: Logger?

    /// Attempts after which an event that never finished applying is parked
    /// without another try.
    static let attemptsBeforeParking = 2

    public init(database: ServiceDatabase, logger: Logger? = nil, apply: @escaping Apply) {
        self.database = database
        self.logger = logger
        self.apply = apply
    }

    /// Applies `events` in order, each in a savepoint of its own inside one
    /// transaction (one commit per delivery, not per event), parking those
    /// that cannot be applied and stopping at the first whose failure is
    /// retryable. The ones before it are committed and the error is thrown,
    /// so the producer resends from the failed one (and the others come back
    /// as duplicates).
    /// - Returns: the ids accepted (newly applied, parked and duplicates)
    ///   and how many were duplicates.
    public func receive(_ events: [Event], receivedAt: Date) async throws -> (accepted: [String], duplicates: Int) {
        let batch = try await self.countAttempts(events)
        let apply = self.apply
        let outcome: ([String], Int, [(Event, String)], (any Error)?)
        do {
            outcome = try await self.applying(batch, receivedAt: receivedAt, apply)
        } catch {
            // The transaction failed as a whole (storage trouble): not a
            // crash either. Best effort: with the disk full this fails too,
            // and the next delivery is applied one event at a time.
            _ = try? await self.database.writer.write { db in
                for (event, _) in batch { try db.executeCached(sql: "DELETE FROM inbox_attempt WHERE event_id = ?", arguments: [event.eventID]) }
            }
            throw error
        }
        let (accepted, duplicates, parked, failure) = outcome
        // The producer forgets what it was told was accepted.
        try await self.database.durable()
        for (event, reason) in parked {
            self.logger?.warning("event parked: it cannot be applied; the stream goes on. See `supportctl events parked`", metadata: [
                "event": "\(event.eventID)", "producer": "\(event.producer)", "incident": "\(event.incidentID)",
                "kind": "\(Self.kind(of: event))", "reason": "\(reason)",
            ])
        }
        if let failure { throw failure }
        return (accepted, duplicates)
    }

    /// One transaction: each event applied, parked or found a duplicate.
    private func applying(
        _ batch: [(Event, Int)], receivedAt: Date, _ apply: @escaping Apply
    ) async throws -> ([String], Int, [(Event, String)], (any Error)?) {
        try await self.database.writer.write { db -> ([String], Int, [(Event, String)], (any Error)?) in
            var accepted: [String] = []
            var duplicates = 0
            var parked: [(Event, String)] = []
            for (index, (event, attempts)) in batch.enumerated() {
                var outcome = Outcome.duplicate
                do {
                    try db.inReusedSavepoint {
                        guard !(try Self.isReceived(event.eventID, in: db)) else { return }
                        if attempts > Self.attemptsBeforeParking {
                            let reason = "the service stopped twice while applying it; parked without a third try"
                            try Self.park(event, reason: reason, attempts: attempts, at: receivedAt, in: db)
                            parked.append((event, reason))
                            outcome = .parked
                        } else {
                            try Self.checkedApply(apply, event, in: db)
                            outcome = .applied
                        }
                        try Self.markReceived(event, at: receivedAt, in: db)
                    }
                } catch {
                    // A failure SQLite answered by abandoning the whole
                    // transaction fails the delivery as a whole.
                    guard db.isInsideTransaction else { throw error }
                    guard !Self.isRetryable(error) else {
                        // A clean failure, not a crash: the attempts of what
                        // was not applied are no evidence against it.
                        for (unapplied, _) in batch[index...] {
                            try db.executeCached(sql: "DELETE FROM inbox_attempt WHERE event_id = ?", arguments: [unapplied.eventID])
                        }
                        return (accepted, duplicates, parked, error)
                    }
                    let reason = Self.describe(error)
                    try Self.park(event, reason: reason, attempts: attempts, at: receivedAt, in: db)
                    parked.append((event, reason))
                    try Self.markReceived(event, at: receivedAt, in: db)
                    outcome = .parked
                }
                try db.executeCached(sql: "DELETE FROM inbox_attempt WHERE event_id = ?", arguments: [event.eventID])
                accepted.append(event.eventID)
                if outcome == .duplicate { duplicates += 1 }
            }
            return (accepted, duplicates, parked, nil)
        }
    }

    private enum Outcome { case applied, parked, duplicate }

    /// Applies `event` after checking every value in it against its
    /// documented range: nothing inside an event is trusted, and a value out
    /// of range is `INVALID_ARGUMENT` (parks it; a retry of a parked event
    /// goes through here too, so it cannot slip past the check).
    static func checkedApply(_ apply: Apply, _ event: Event, in db: Database) throws {
        try RequestLimits.check(event)
        try apply(db, event)
    }

    /// Counts an attempt for each event not yet received, committed before
    /// any is applied, so that a crash while applying leaves the count
    /// behind. Returns the events to apply now with their attempt counts:
    /// all of them, or only the first when it was attempted before (a
    /// delivery that never finished: it is isolated, so the event that
    /// crashed the service is found and parked, not the ones beside it).
    private func countAttempts(_ events: [Event]) async throws -> [(Event, Int)] {
        try await self.database.writer.write { db -> [(Event, Int)] in
            var counted: [(Event, Int)] = []
            for event in events {
                guard !(try Self.isReceived(event.eventID, in: db)) else {
                    counted.append((event, 0))
                    continue
                }
                let attempts = try Int.fetchOne(
                    db.cachedStatement(sql: """
                        INSERT INTO inbox_attempt (event_id, attempts) VALUES (?, 1)
                        ON CONFLICT(event_id) DO UPDATE SET attempts = attempts + 1 RETURNING attempts
                        """),
                    arguments: [event.eventID]
                ) ?? 1
                if attempts > 1 {
                    // Tried before and never finished: this one alone.
                    return counted.isEmpty ? [(event, attempts)] : counted
                }
                counted.append((event, attempts))
            }
            return counted
        }
    }

    /// Whether retrying the delivery later may succeed: the subscriber or its
    /// storage is unavailable, busy or out of room, or the event is early
    /// (`UNAVAILABLE`: escalation has not yet heard of the incident). Any
    /// other failure would fail the same way every time.
    static func isRetryable(_ error: any Error) -> Bool {
        if let error = error as? DatabaseError {
            // The event's own data cannot fit the schema: not storage trouble.
            return ![.SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_TOOBIG, .SQLITE_RANGE].contains(error.resultCode)
        }
        let code = (error as? RPCError)?.code ?? (error as? any RPCErrorConvertible)?.rpcError.code
        return [.unavailable, .aborted, .resourceExhausted, .deadlineExceeded].contains(code)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? any RPCErrorConvertible { return error.rpcError.description }
        return "\(error)"
    }

    static func isReceived(_ eventID: String, in db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM inbox_event WHERE event_id = ?"), arguments: [eventID]) ?? false
    }

    static func markReceived(_ event: Event, at receivedAt: Date, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO inbox_event (event_id, producer, stream, stream_sequence, received_at)
                VALUES (?, ?, ?, ?, ?)
                """,
            arguments: [event.eventID, event.producer, event.incidentID, event.sequence, receivedAt.timeIntervalSince1970]
        )
    }

    static func park(_ event: Event, reason: String, attempts: Int, at now: Date, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO inbox_parked (event_id, producer, stream, kind, payload, reason, attempts, parked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(event_id) DO UPDATE SET reason = excluded.reason, attempts = excluded.attempts
                """,
            arguments: [
                event.eventID, event.producer, event.incidentID, Self.kind(of: event), try event.serializedBytes() as Data,
                String(reason.prefix(2000)), attempts, now.timeIntervalSince1970,
            ]
        )
    }

    /// The payload's field name in `support.events.v1.Event`.
    static func kind(of event: Event) -> String {
        guard let payload = event.payload else { return "unknown" }
        let name = "\(payload)"
        let head = name.prefix { $0 != "(" }
        // camelCase case name → snake_case field name.
        return head.reduce(into: "") { result, character in
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
    }

    /// Parked events, oldest first.
    static func parked(offset: Int, limit: Int, in db: Database) throws -> [Support_Admin_V1_ParkedEvent] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM inbox_parked ORDER BY rowid LIMIT ? OFFSET ?"), arguments: [limit, offset]
        ).map(Self.parked(_:))
    }

    static func parked(_ id: String, in db: Database) throws -> Support_Admin_V1_ParkedEvent? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM inbox_parked WHERE event_id = ?"), arguments: [id]).map(Self.parked(_:))
    }

    static func payload(ofParked id: String, in db: Database) throws -> Data {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT payload FROM inbox_parked WHERE event_id = ?"), arguments: [id]) ?? Data()
    }

    static func unpark(_ id: String, in db: Database) throws {
        try db.executeCached(sql: "DELETE FROM inbox_parked WHERE event_id = ?", arguments: [id])
    }

    /// How many events are parked (the gauge `supportdesk_events_parked`).
    static func parkedCount(in db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM inbox_parked")) ?? 0
    }

    private static func parked(_ row: Row) -> Support_Admin_V1_ParkedEvent {
        var parked = Support_Admin_V1_ParkedEvent()
        parked.eventID = row["event_id"]
        parked.producer = row["producer"]
        parked.incidentID = row["stream"]
        parked.kind = row["kind"]
        parked.reason = row["reason"]
        parked.attempts = UInt32(clamping: row["attempts"] as Int)
        parked.parkedAt = .init(date: Date(timeIntervalSince1970: row["parked_at"]))
        return parked
    }

    /// Whether the event with this id has been received (applied or parked).
    public func contains(eventID: String) throws -> Bool {
        try self.database.writer.read { db in try Self.isReceived(eventID, in: db) }
    }

    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("servicekit-4-inbox-parking") { db in
            // Events received and set aside, oldest first by rowid.
            try db.create(table: "inbox_parked") { table in
                table.primaryKey("event_id", .text)
                table.column("producer", .text).notNull()
                table.column("stream", .text).notNull()
                table.column("kind", .text).notNull()
                table.column("payload", .blob).notNull()
                table.column("reason", .text).notNull()
                table.column("attempts", .integer).notNull()
                table.column("parked_at", .double).notNull()
            }
            // Deliveries that began applying an event and did not finish.
            try db.create(table: "inbox_attempt") { table in
                table.primaryKey("event_id", .text)
                table.column("attempts", .integer).notNull()
            }
        }
    }
}
