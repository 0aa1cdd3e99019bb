import Foundation
import GRDB
import Logging
import ServiceKit
import SupportProto
import SupportRPC
import SwiftProtobuf

/// `support.intake.v1.Intake`: each handler validates its request, runs the
/// domain in one write transaction together with the outbox rows of the
/// events it causes, and answers with the stored result.
struct IntakeRPCService: RPCService {
    let environment: ServiceEnvironment
    let offices: Offices
    /// Certificates and the Company Account for OpenIncident's writer.
    let accounts = AccountCache()

    var database: ServiceDatabase { self.environment.database }
    var now: Date { self.environment.clock.now() }

    func register(into router: inout RPCRouter) {
        self.registerCertificates(into: &router)
        self.registerIncidents(into: &router)
        self.registerProblems(into: &router)
        self.registerAccount(into: &router)
    }

    /// Runs `body` in one write transaction (shared with concurrent requests,
    /// in a savepoint of its own), appends the events it returns to the outbox
    /// in the same transaction, and wakes the relay after the commit. With an
    /// `idempotency.key` in the metadata, a repeated call returns the first
    /// call's response and creates nothing.
    func write<Response: SwiftProtobuf.Message>(
        _ context: ServerContext,
        idempotent: Bool = false,
        _ body: @escaping @Sendable (Database, Date) throws -> (Response, [Support_Events_V1_Event])
    ) async throws -> Response {
        try await self.write(context, idempotent: idempotent) { db, now -> Written<Response> in
            let (response, events) = try body(db, now)
            return Written(response, events: events)
        }
    }

    /// What a write handler's transaction produced: its response, the events
    /// it causes and, when it stored the response's bytes already (an
    /// incident's document is its OpenIncident response), those bytes, so
    /// the idempotency record does not encode the same message again.
    struct Written<Response: SwiftProtobuf.Message> {
        var response: Response
        var events: [Support_Events_V1_Event]
        var encoded: Data?

        init(_ response: Response, events: [Support_Events_V1_Event], encoded: Data? = nil) {
            self.response = response
            self.events = events
            self.encoded = encoded
        }
    }

    /// ``write(_:idempotent:_:)`` for a body that returns ``Written``.
    ///
    /// An idempotency key is checked by recording it: the record's insert
    /// finds the key taken exactly when an earlier call used it, and the
    /// request then rolls its changes back and answers the earlier response.
    /// A new key, which is almost every call, costs no lookup in the one
    /// writer (issue 9: the lookup was a tenth of its time under load). A
    /// body that fails is answered the earlier response too, when its key
    /// has one: a retry answers as the first call did even if the call
    /// itself would now be refused.
    func write<Response: SwiftProtobuf.Message>(
        _ context: ServerContext,
        idempotent: Bool = false,
        _ body: @escaping @Sendable (Database, Date) throws -> Written<Response>
    ) async throws -> Response {
        switch try await self.answer(context, idempotent: idempotent, body) {
        case .written(let response, _): return response
        case .replayed(let bytes): return try Response(serializedBytes: bytes)
        }
    }

    /// The `write` above, answering with the response's bytes: those the
    /// body stored (an incident's document), or the first call's for a
    /// repeated key, so the response is not encoded again on its way out
    /// (issue 9).
    func writeEncoded<Response: SwiftProtobuf.Message>(
        _ context: ServerContext,
        idempotent: Bool = false,
        _ body: @escaping @Sendable (Database, Date) throws -> Written<Response>
    ) async throws -> Encoded<Response> {
        switch try await self.answer(context, idempotent: idempotent, body) {
        case .written(let response, let encoded): return try encoded.map { Encoded(bytes: $0) } ?? Encoded(response)
        case .replayed(let bytes): return Encoded(bytes: bytes)
        }
    }

    /// How a write was answered: by its own transaction, or with the
    /// stored response of the call that first used its idempotency key.
    private enum Answer<Response: Sendable>: Sendable {
        case written(Response, encoded: Data?)
        case replayed(Data)
    }

    private func answer<Response: SwiftProtobuf.Message>(
        _ context: ServerContext,
        idempotent: Bool,
        _ body: @escaping @Sendable (Database, Date) throws -> Written<Response>
    ) async throws -> Answer<Response> {
        let now = self.now
        let key = idempotent ? context.metadata[Metadata.idempotencyKey] : nil
        let outbox = self.environment.outbox
        let method = context.method
        let (answer, published) = try await self.storing(context) { () async throws -> (Answer<Response>, Int) in
            do {
                // Group commit: concurrent requests share one durable
                // transaction; a request that throws rolls back alone
                // (WriteBatcher).
                return try await self.database.batcher.write { db -> (Answer<Response>, Int) in
                    let written: Written<Response>
                    do {
                        written = try body(db, now)
                    } catch {
                        // Whatever the body wrote before it failed is rolled
                        // back with the request either way. (If SQLite gave
                        // up the whole transaction, a full disk say, that
                        // error stands: the batch fails as one.)
                        if let key, db.isInsideTransaction, try IntakeStore.isRemembered(method, key: key, in: db) { throw Replayed() }
                        throw error
                    }
                    if let key {
                        let encoded = try written.encoded ?? written.response.serializedBytes()
                        guard try IntakeStore.remember(method, key: key, encoded: encoded, at: now, in: db) else {
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
                let earlier = try await self.database.writer.read { db in
                    try IntakeStore.remembered(method, key: key!, in: db)
                }
                guard let earlier else { throw RPCError(.aborted, "the call that first used this idempotency key was not kept; retry with a new key") }
                return (.replayed(earlier), 0)
            }
        }
        if published > 0 { self.environment.eventsCommitted() }
        return answer
    }

    /// Thrown inside the transaction when the idempotency key was used
    /// before: the request's changes are rolled back, and the caller is
    /// answered the stored response.
    private struct Replayed: Error {}

    func read<Response: Sendable>(_ context: ServerContext, _ body: @escaping @Sendable (Database) throws -> Response) async throws -> Response {
        try await self.storing(context) { try await self.database.writer.read(body) }
    }

    /// A constraint failure here is a concurrent change (two opens racing
    /// for a number); the transaction rolled back. Other storage failures
    /// (a full disk, a read-only file) reach ServiceKit's one mapping
    /// (`StorageFailure`, issue 10).
    private func storing<T>(_ context: ServerContext, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            context.logger.error("database failure", metadata: ["error": "\(error)"])
            throw RPCError(.aborted, "a concurrent change conflicted with this one; nothing was changed. Retry.")
        }
    }

    // MARK: Certificates and contacts (R-ORG-1, R-ORG-2)

    private func registerCertificates(into router: inout RPCRouter) {
        router.register(IntakeRPC.registerCertificate) { request, context in
            let actor = try require(request.actor, "actor", "the staff id registering the certificate")
            let id = try require(request.certificateID, "certificate_id", "the MSA Support Certificate's id")
            let customer = try require(request.customer, "customer", "the customer organisation")
            guard request.tier != .unspecified else { throw IntakeError.missing("tier", "enterprise or standard") }
            let office = try require(request.office, "office", "the vendor office whose time governs it")
            guard self.offices.calendar(office) != nil else {
                throw IntakeError.invalid("office", "there is no office \(office); known offices: \(self.offices.ids.joined(separator: ", "))")
            }
            let tam = try require(request.tam, "tam", "the Technical Account Manager (R-ORG-4)")
            guard request.hasValidFrom, request.hasValidUntil else {
                throw IntakeError.missing("valid_from", "the validity period, valid_from and valid_until")
            }
            guard request.validUntil.date > request.validFrom.date else {
                throw IntakeError.invalid("valid_until", "valid_until must be after valid_from")
            }
            let contacts = try request.contacts.enumerated().map { try CertificateRules.validated($0.element, field: "contacts[\($0.offset)]") }
            try CertificateRules.checkContactList(contacts)
            return try await self.accounts.changing { change in try await self.write(context, idempotent: true) { db, now in
                guard try IntakeStore.certificate(id, in: db) == nil else {
                    throw IntakeError(.alreadyExists, reason: "CERTIFICATE_EXISTS", field: "certificate_id", "certificate \(id) exists already; change its contacts with AddContact/RemoveContact")
                }
                var certificate = Certificate()
                certificate.id = id
                certificate.customer = customer
                certificate.tier = request.tier
                certificate.office = office
                certificate.validFrom = request.validFrom
                certificate.validUntil = request.validUntil
                certificate.tam = tam
                certificate.contacts = contacts
                certificate.createdAt = .init(date: now)
                CertificateRules.newRevision(of: &certificate, by: actor, summary: "registered", at: now)
                try IntakeStore.save(certificate, in: db, during: change)
                return (certificate, [CertificateRules.changedEvent(certificate, by: actor, at: now)])
            } }
        }
        router.register(IntakeRPC.getCertificate) { request, context in
            let id = try require(request.certificateID, "certificate_id", "the certificate to show")
            return try await self.read(context) { db in
                guard let certificate = try IntakeStore.certificate(id, in: db) else { throw IntakeError.notFound("certificate", id) }
                return certificate
            }
        }
        router.register(IntakeRPC.listCertificates) { request, context in
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            return try await self.read(context) { db in
                let fetched = try IntakeStore.certificates(office: request.office, offset: paging.offset, limit: paging.fetchLimit, in: db)
                let (certificates, next) = paging.page(fetched)
                var response = Support_Intake_V1_ListCertificatesResponse()
                response.certificates = certificates.map { var c = $0; c.history = []; return c }
                response.nextPageToken = next
                return response
            }
        }
        router.register(IntakeRPC.addContact) { request, context in
            let actor = try require(request.actor, "actor", "the staff id changing the list")
            let id = try require(request.certificateID, "certificate_id", "the certificate to change")
            let contact = try CertificateRules.validated(request.contact, field: "contact")
            return try await self.accounts.changing { change in try await self.write(context, idempotent: true) { db, now in
                guard var certificate = try IntakeStore.certificate(id, in: db) else { throw IntakeError.notFound("certificate", id) }
                try CertificateRules.checkRevision(request.expectedRevision, of: certificate)
                try CertificateRules.add(contact, to: &certificate)
                CertificateRules.newRevision(of: &certificate, by: actor, summary: "added contact \(contact.email)", at: now)
                try IntakeStore.save(certificate, in: db, during: change)
                return (certificate, [CertificateRules.contactsEvent(certificate, added: contact, removed: nil, by: actor, at: now)])
            } }
        }
        router.register(IntakeRPC.removeContact) { request, context in
            let actor = try require(request.actor, "actor", "the staff id changing the list")
            let id = try require(request.certificateID, "certificate_id", "the certificate to change")
            let email = try require(request.email, "email", "the contact to remove").lowercased()
            return try await self.accounts.changing { change in try await self.write(context) { db, now in
                guard var certificate = try IntakeStore.certificate(id, in: db) else { throw IntakeError.notFound("certificate", id) }
                try CertificateRules.checkRevision(request.expectedRevision, of: certificate)
                let removed = try CertificateRules.remove(email, from: &certificate)
                CertificateRules.newRevision(of: &certificate, by: actor, summary: "removed contact \(email)", at: now)
                try IntakeStore.save(certificate, in: db, during: change)
                return (certificate, [CertificateRules.contactsEvent(certificate, added: nil, removed: removed, by: actor, at: now)])
            } }
        }
    }
}
