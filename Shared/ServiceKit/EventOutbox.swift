import Foundation
import GRDB
import SupportProto
import SupportRPC
import SwiftProtobuf

public typealias Event = Support_Events_V1_Event

/// The producing side of the event path: a state change and the events it
/// causes are written in one SQLite transaction (DESIGN.md, "Events").
///
/// ``append(_:in:)`` gives each event its id and its sequence within its
/// stream (the incident, or the producer's own stream for events without
/// one); ``OutboxRelay`` delivers the rows afterwards.
public struct EventOutbox: Sendable {
    public let producer: String

    public init(producer: String) {
        self.producer = producer
    }

    /// Writes `event` in the caller's transaction and returns it as stored.
    ///
    /// The caller sets the payload, `incident_id` and `occurred_at` (from the
    /// injected clock); the outbox fills `event_id`, `sequence` and
    /// `producer`.
    ///
    /// An event that its subscribers' EventSink would refuse (a time
    /// outside the years 1970-9999, an over-long field) is refused here
    /// instead, failing the caller's transaction with `FAILED_PRECONDITION`:
    /// the outbox never holds an event no consumer can take (issue 21).
    ///
    /// - Parameter startingStream: The caller knows `event` is its stream's
    ///   first (the incident it reports was created in this transaction): it
    ///   gets sequence 1 without looking up the stream's last event. The
    ///   stream's unique sequence still holds: if the stream had an event
    ///   after all, the insert fails with a constraint error.
    @discardableResult
    public func append(_ event: Event, in db: Database, startingStream: Bool = false) throws -> Event {
        do {
            try RequestLimits.check(event)
        } catch let error as RPCError {
            throw ServiceError(
                .failedPrecondition, reason: "EVENT_OUT_OF_RANGE", field: error.details.first?.field ?? "",
                "\(self.producer) would publish an event its subscribers refuse: \(error.message)"
            )
        }
        var event = event
        if event.eventID.isEmpty { event.eventID = timeOrderedUUIDString() }
        event.producer = self.producer
        if startingStream {
            event.sequence = 1
        } else {
            let last = try UInt64.fetchOne(
                db.cachedStatement(sql: "SELECT MAX(stream_sequence) FROM outbox_event WHERE stream = ?"),
                arguments: [event.incidentID]
            ) ?? 0
            event.sequence = last + 1
        }
        try db.executeCached(
            sql: """
                INSERT INTO outbox_event (event_id, stream, stream_sequence, payload, created_at)
                VALUES (?, ?, ?, ?, ?)
                """,
            arguments: [
                event.eventID, event.incidentID, event.sequence,
                try event.serializedBytes() as Data, event.occurredAt.date.timeIntervalSince1970,
            ]
        )
        return event
    }

    /// The events of one stream (an incident's), in order: what the producer
    /// published about it.
    public func events(stream: String, in db: Database) throws -> [Event] {
        try Data.fetchAll(
            db.cachedStatement(sql: "SELECT payload FROM outbox_event WHERE stream = ? ORDER BY stream_sequence"),
            arguments: [stream]
        ).map { try Event(serializedBytes: $0) }
    }
}

extension ServiceKitMigrations {
    static func registerEvents(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("servicekit-2-outbox-inbox") { db in
            // The global rowid order is the delivery order: it keeps every
            // incident's events in sequence for every subscriber.
            try db.create(table: "outbox_event") { table in
                table.autoIncrementedPrimaryKey("position")
                table.column("event_id", .text).notNull().unique()
                table.column("stream", .text).notNull()
                table.column("stream_sequence", .integer).notNull()
                table.column("payload", .blob).notNull()
                table.column("created_at", .double).notNull()
                table.uniqueKey(["stream", "stream_sequence"])
            }
            try db.create(table: "outbox_cursor") { table in
                table.primaryKey("subscriber", .text)
                table.column("delivered_through", .integer).notNull().defaults(to: 0)
                table.column("attempts", .integer).notNull().defaults(to: 0)
                table.column("last_error", .text)
            }
            try db.create(table: "inbox_event") { table in
                table.primaryKey("event_id", .text)
                table.column("producer", .text).notNull()
                table.column("stream", .text).notNull()
                table.column("stream_sequence", .integer).notNull()
                table.column("received_at", .double).notNull()
            }
        }
    }
}
