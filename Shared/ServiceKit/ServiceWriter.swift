import Foundation
import GRDB
import SupportProto
import SupportRPC
import SwiftProtobuf

/// What a mutating handler's transaction produced: its response, the events
/// it causes and, when it stored the response's bytes already (an
/// incident's document is its OpenIncident response), those bytes, so the
/// idempotency record does not encode the same message again.
public struct Written<Response: SwiftProtobuf.Message> {
    public var response: Response
    public var events: [Event]
    public var encoded: Data?

    public init(_ response: Response, events: [Event] = [], encoded: Data? = nil) {
        self.response = response
        self.events = events
        self.encoded = encoded
    }
}

/// The one write path of every service's mutating RPCs.
///
/// A handler validates its request (``Field``, ``ServiceError``), then
/// gives ``write(_:_:)`` a body that runs the domain on the database and
/// returns the response and the events it causes. The writer
///
/// 1. runs the body inside a transaction shared with concurrent requests
///    (group commit, ``WriteBatcher``: one fsync for many callers; a
///    request that throws rolls back alone);
/// 2. appends the events to the outbox in the same transaction;
/// 3. with an `idempotency.key` in the metadata, records the request and
///    its response under (caller identity, method, key) in the same
///    transaction — a retry with the same key and the same request is
///    answered the first response and changes nothing; the same key with
///    another request is `FAILED_PRECONDITION` (`IDEMPOTENCY_KEY_REUSED`),
///    never the first call's response;
/// 4. answers once the commit is durable (``ServiceDatabase/Synchronous``);
/// 5. wakes the outbox relay, so the events leave now;
/// 6. maps storage failures to statuses: a constraint failure (two writes
///    racing for one number) is `ABORTED`; a full disk or an unwritable
///    file reaches the server's one mapping (``StorageFailure``).
///
/// "The same request" is the same payload bytes: protobuf encoders write a
/// message's fields in field-number order, so a client that retries by
/// encoding the same message again sends the same bytes (Proto/testdata's
/// vectors hold the Swift and C encoders to that).
public struct ServiceWriter: Sendable {
    let database: ServiceDatabase
    let outbox: EventOutbox
    let relay: OutboxRelay?
    let clock: any ServiceClock
    let storage: StorageWatch

    public init(environment: ServiceEnvironment) {
        self.database = environment.database
        self.outbox = environment.outbox
        self.relay = environment.relay
        self.clock = environment.clock
        self.storage = environment.storage
    }

    /// `UNAVAILABLE` while the database cannot be trusted (``StorageWatch``):
    /// a write to a deleted or replaced file would be acknowledged and lost.
    public func checkStorage() throws {
        if let problem = self.storage.check() {
            throw ServiceError(.unavailable, reason: "STORAGE_UNAVAILABLE", "nothing was changed: \(problem)")
        }
    }

    /// Runs `body` through the write path (see the type's discussion) and
    /// answers its response, or the first response of a retried key.
    ///
    /// `body` may run twice (the second time when a request sharing its
    /// transaction failed): it must change nothing but the database.
    public func write<Response: SwiftProtobuf.Message>(
        _ context: ServerContext,
        _ body: @escaping @Sendable (Database, Date) throws -> Written<Response>
    ) async throws -> Response {
        switch try await self.answer(context, body) {
        case .written(let response, _): return response
        case .replayed(let bytes): return try Response(serializedBytes: bytes)
        }
    }

    /// ``write(_:_:)`` for a body that returns its response and its events.
    public func write<Response: SwiftProtobuf.Message>(
        _ context: ServerContext,
        _ body: @escaping @Sendable (Database, Date) throws -> (Response, [Event])
    ) async throws -> Response {
        try await self.write(context) { db, now -> Written<Response> in
            let (response, events) = try body(db, now)
            return Written(response, events: events)
        }
    }

    /// ``write(_:_:)`` answering with the response's bytes: those the body
    /// stored (an incident's document), or the first call's for a retried
    /// key, so the response is not encoded again on its way out.
    public func writeEncoded<Response: SwiftProtobuf.Message>(
        _ context: ServerContext,
        _ body: @escaping @Sendable (Database, Date) throws -> Written<Response>
    ) async throws -> Encoded<Response> {
        switch try await self.answer(context, body) {
        case .written(let response, let encoded): return try encoded.map { Encoded(bytes: $0) } ?? Encoded(response)
        case .replayed(let bytes): return Encoded(bytes: bytes)
        }
    }

    /// The write path's idempotency for a call whose effect is not a
    /// transaction of the body's own: moving the fake clock, taking a backup
    /// snapshot, applying delivered events (their inbox commits them).
    ///
    /// A retried key is answered from its record (or refused as
    /// `IDEMPOTENCY_KEY_REUSED`) without running `perform`; otherwise
    /// `perform` runs and its response is recorded, together with what
    /// `persist` writes, in one transaction. If the process dies between the
    /// two, the retry runs `perform` again: these calls are written so that
    /// repeating them is harmless (the clock's stored time and the inbox
    /// are what count), the record only keeps the first answer.
    public func recorded<Response: SwiftProtobuf.Message>(
        _ context: ServerContext,
        persist: (@Sendable (Database, Response) throws -> Void)? = nil,
        _ perform: () async throws -> Response
    ) async throws -> Response {
        let scope = try Self.idempotencyScope(of: context)
        if let scope, let earlier = try await self.database.writer.read({ try IdempotencyRecords.record(scope, in: $0) }) {
            return try Response(serializedBytes: try Self.replay(earlier, for: context))
        }
        try self.checkStorage()
        let response = try await perform()
        // Without a key and nothing to store, no transaction at all (event
        // deliveries between services carry no key).
        guard scope != nil || persist != nil else { return response }
        let request = context.payload
        let now = self.clock.now()
        let encoded: Data = try response.serializedBytes()
        try await self.database.writer.write { db in
            try persist?(db, response)
            if let scope { _ = try IdempotencyRecords.insert(scope, request: request, response: encoded, at: now, in: db) }
        }
        try await self.database.durable()
        return response
    }

    /// A refusal that leaves a change behind: intake.proto promises that a
    /// CommitAttachment whose bytes do not match their SHA-256 discards the
    /// upload it refuses. A body given to ``write(_:_:)`` that throws is
    /// rolled back, so this one *returns* the error instead: its changes
    /// commit through the write path (storage checked, group commit,
    /// durable before the caller hears), then the caller is refused with
    /// it. Nothing is recorded under the call's idempotency key (no refusal
    /// is) and no event is written, so a retry is judged again.
    public func refuse(
        _ context: ServerContext,
        _ body: @escaping @Sendable (Database, Date) throws -> ServiceError
    ) async throws -> Never {
        try self.checkStorage()
        let now = self.clock.now()
        let refusal = try await Self.mappingConflicts(context) {
            try await self.database.batcher.write { db in try body(db, now) }
        }
        throw refusal
    }

    /// The first call's response bytes, when `context` repeats its request.
    private static func replay(_ earlier: IdempotencyRecords.Record, for context: ServerContext) throws -> Data {
        guard earlier.request == context.payload else {
            throw ServiceError(
                .failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED", field: Metadata.idempotencyKey,
                "this idempotency.key was used for another \(context.method) request by the same caller; "
                    + "a retry must repeat the request exactly, and a new request needs a new key"
            )
        }
        return earlier.response
    }

    /// Reads from the database, with the write path's error mapping.
    public func read<T: Sendable>(_ context: ServerContext, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.mappingConflicts(context) { try await self.database.writer.read(body) }
    }

    /// The idempotency scope of a call, or nil when it carries no key.
    ///
    /// - Throws: `INVALID_ARGUMENT` for a key over
    ///   ``IdempotencyRecords/maximumKeyBytes`` (it would be stored for a week).
    public static func idempotencyScope(of context: ServerContext) throws -> IdempotencyRecords.Scope? {
        guard let key = context.metadata[Metadata.idempotencyKey], !key.isEmpty else { return nil }
        guard key.utf8.count <= IdempotencyRecords.maximumKeyBytes else {
            throw ServiceError.invalid(
                Metadata.idempotencyKey,
                "the idempotency.key metadata is \(key.utf8.count) bytes; at most \(IdempotencyRecords.maximumKeyBytes) are accepted (a UUID is 36)"
            )
        }
        return IdempotencyRecords.Scope(caller: context.caller.scope, method: context.method, key: key)
    }

    /// How a write was answered: by its own transaction, or with the
    /// stored response of the call that first used its idempotency key.
    private enum Answer<Response: Sendable>: Sendable {
        case written(Response, encoded: Data?)
        case replayed(Data)
    }

    /// Thrown inside the transaction when the idempotency key has a record:
    /// the request's changes are rolled back, and the caller is answered
    /// from the record once the transaction is over.
    private struct Replayed: Error {}

    /// The key is checked by recording it: the record's insert finds the key
    /// taken exactly when an earlier call used it, and the request then
    /// rolls its changes back and answers from the record. A new key,
    /// which is almost every call, costs no lookup in the one writer
    /// (decision 17). A body that fails is answered from the record too,
    /// when its key has one: a retry answers as the first call did even if
    /// the call itself would now be refused.
    private func answer<Response: SwiftProtobuf.Message>(
        _ context: ServerContext,
        _ body: @escaping @Sendable (Database, Date) throws -> Written<Response>
    ) async throws -> Answer<Response> {
        try self.checkStorage()
        let now = self.clock.now()
        let scope = try Self.idempotencyScope(of: context)
        let request = context.payload
        let outbox = self.outbox
        let (answer, published) = try await Self.mappingConflicts(context) { () async throws -> (Answer<Response>, Int) in
            do {
                return try await self.database.batcher.write { db -> (Answer<Response>, Int) in
                    let written: Written<Response>
                    do {
                        written = try body(db, now)
                    } catch {
                        // Whatever the body wrote before it failed is rolled
                        // back with the request either way. (If SQLite gave
                        // up the whole transaction, a full disk say, that
                        // error stands: the batch fails as one.)
                        if let scope, db.isInsideTransaction, try IdempotencyRecords.exists(scope, in: db) { throw Replayed() }
                        throw error
                    }
                    if let scope {
                        let encoded = try written.encoded ?? written.response.serializedBytes()
                        guard try IdempotencyRecords.insert(scope, request: request, response: encoded, at: now, in: db) else {
                            throw Replayed()
                        }
                    }
                    for event in written.events {
                        var event = event
                        event.requestID = context.requestID
                        // An incident's stream starts with its IncidentOpened,
                        // written in the transaction that created the incident.
                        let opens = if case .incidentOpened = event.payload { true } else { false }
                        try outbox.append(event, in: db, startingStream: opens)
                    }
                    return (.written(written.response, encoded: written.encoded), written.events.count)
                }
            } catch is Replayed {
                // The key's first call committed before this one was
                // answered (the batcher answers after the commit).
                guard let scope, let earlier = try await self.database.writer.read({ try IdempotencyRecords.record(scope, in: $0) }) else {
                    throw ServiceError(
                        .aborted, reason: "IDEMPOTENCY_RECORD_GONE",
                        "the call that first used this idempotency.key was not kept; retry with a new key"
                    )
                }
                return (.replayed(try Self.replay(earlier, for: context)), 0)
            }
        }
        if published > 0 { self.relay?.wake() }
        return answer
    }

    /// A constraint failure here is a concurrent change (two opens racing
    /// for a number); the transaction rolled back. Other storage failures
    /// (a full disk, a read-only file) reach ServiceKit's one mapping
    /// (``StorageFailure``).
    private static func mappingConflicts<T>(_ context: ServerContext, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            context.logger.error("database failure", metadata: ["error": "\(error)"])
            throw ServiceError(.aborted, reason: "CONCURRENT_CHANGE", "a concurrent change conflicted with this one; nothing was changed. Retry.")
        }
    }
}

extension ServiceEnvironment {
    /// The service's write path (``ServiceWriter``).
    public var writes: ServiceWriter { ServiceWriter(environment: self) }
}
