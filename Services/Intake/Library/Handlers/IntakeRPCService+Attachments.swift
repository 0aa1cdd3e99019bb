import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC

/// BeginAttachment, WriteAttachment, CommitAttachment and ReadAttachment
/// (issue 22, R-SCOPE-1: the crash dumps, logs and samples that come with a
/// problem). A file moves in chunks of at most 2 MiB, never in one frame;
/// every refusal is the one intake.proto documents for the method.
extension IntakeRPCService {
    func registerAttachments(into router: inout RPCRouter) {
        router.register(IntakeRPC.beginAttachment) { request, context in
            try await self.begin(request, context)
        }
        router.register(IntakeRPC.writeAttachment) { request, context in
            try await self.write(request, context)
        }
        router.register(IntakeRPC.commitAttachment, defaultTimeout: .seconds(120)) { request, context in
            try await self.commit(request, context)
        }
        router.register(IntakeRPC.readAttachment) { request, context in
            try await self.read(request, context)
        }
    }

    private func begin(
        _ request: Support_Intake_V1_BeginAttachmentRequest, _ context: ServerContext
    ) async throws -> Support_Intake_V1_BeginAttachmentResponse {
        let incidentID = try Field.required(request.incidentID, "incident_id", "the incident the file belongs to")
        let party = try Self.party(contact: request.contactEmail, actor: request.actor)
        try Self.actsForItself(context.caller, party: party)
        let byContact = if case .contact = party { true } else { false }
        let name = try AttachmentRules.validatedName(request.name)
        let mediaType = try AttachmentRules.validatedMediaType(request.mediaType)
        try AttachmentRules.checkSize(request.sizeBytes, limit: self.maxAttachmentBytes)
        let sha256 = try AttachmentRules.validatedDigest(request.sha256)
        let text = try Field.optional(request.text, "text", max: Field.longText)
        let visibility = try AttachmentRules.visibility(request.visibility, byContact: byContact)
        // Made here, not in the body, which may run twice.
        let uploadID = timeOrderedUUIDString()

        return try await self.writes.write(context) { db, now in
            let (incident, certificate) = try self.incidentAndCertificate(incidentID, for: context.caller, in: db)
            var who = party.name
            if case .contact(let email) = party {
                who = try CertificateRules.authorise(email, on: certificate, at: now).email  // R-ORG-3
            }
            try Self.checkNotClosed(incident)
            let upload = AttachmentUpload(
                id: uploadID, incidentID: incident.id, who: who, byContact: byContact, name: name, mediaType: mediaType,
                size: request.sizeBytes, sha256: sha256, text: text, visibility: visibility, received: 0,
                createdAt: now, expiresAt: now + AttachmentRules.uploadLifetime, committedName: nil
            )
            try AttachmentStore.insert(upload, in: db)
            var response = Support_Intake_V1_BeginAttachmentResponse()
            response.uploadID = upload.id
            response.maxChunkBytes = UInt32(AttachmentRules.maximumChunkBytes)
            response.expiresAt = .init(date: upload.expiresAt)
            return (response, [])
        }
    }

    private func write(
        _ request: Support_Intake_V1_WriteAttachmentRequest, _ context: ServerContext
    ) async throws -> Support_Intake_V1_WriteAttachmentResponse {
        let uploadID = try Field.required(request.uploadID, "upload_id", "the upload BeginAttachment started")
        guard !request.data.isEmpty else { throw ServiceError.missing("data", "the file's next bytes") }
        guard request.data.count <= AttachmentRules.maximumChunkBytes else {
            throw ServiceError.invalid(
                "data", "data holds \(request.data.count) bytes; one WriteAttachment carries at most \(AttachmentRules.maximumChunkBytes) (max_chunk_bytes)"
            )
        }
        let data = request.data
        let offset = request.offset

        return try await self.writes.write(context) { db, now in
            let upload = try Self.upload(uploadID, for: context.caller, at: now, in: db)
            var response = Support_Intake_V1_WriteAttachmentResponse()
            let (end, overflow) = offset.addingReportingOverflow(UInt64(data.count))
            if offset < upload.received {
                // A retry of a chunk already received changes nothing, if it
                // is the same bytes.
                guard !overflow, end <= upload.received else { throw Self.wrongOffset(offset, upload) }
                guard try AttachmentStore.bytes(of: upload.id, from: offset, count: data.count, in: db) == data else {
                    throw ServiceError(
                        .failedPrecondition, reason: "UPLOAD_DATA_DIFFERS", field: "data",
                        "the \(data.count) bytes at offset \(offset) differ from those upload \(upload.id) received there; the file changed while it was sent: upload it again with BeginAttachment"
                    )
                }
                response.receivedBytes = upload.received
                return (response, [])
            }
            guard offset == upload.received else { throw Self.wrongOffset(offset, upload) }
            guard !overflow, end <= upload.size else {
                throw ServiceError.invalid(
                    "data", "upload \(upload.id) holds \(upload.received) of the \(upload.size) bytes BeginAttachment announced; \(data.count) more would exceed size_bytes"
                )
            }
            response.receivedBytes = try AttachmentStore.append(data, to: upload, in: db)
            return (response, [])
        }
    }

    /// Thrown by the commit's body when the bytes do not match: the upload
    /// is then discarded by ``ServiceWriter/refuse(_:_:)``.
    private struct DigestMismatch: Error {
        let upload: AttachmentUpload
        let actual: String
    }

    private func commit(_ request: Support_Intake_V1_CommitAttachmentRequest, _ context: ServerContext) async throws -> Incident {
        let uploadID = try Field.required(request.uploadID, "upload_id", "the upload to commit")
        // The digest is computed beside the one writer, on a reader: hashing
        // 25 MiB inside the write transaction would hold every other write
        // of intake for its duration. The bytes it reads cannot change once
        // all have arrived (a Write past size_bytes is refused), so the body
        // only checks that they all had.
        let now = self.now
        let digest = try await self.writes.read(context) { db -> (sha256: String, bytes: UInt64)? in
            guard let upload = try AttachmentStore.upload(uploadID, at: now, in: db), upload.committedName == nil,
                upload.received == upload.size
            else { return nil }
            return try AttachmentStore.digest(of: upload.id, in: db)
        }
        do {
            return try await self.writes.write(context) { db, now in
                let upload = try Self.upload(uploadID, for: context.caller, at: now, in: db)
                guard let incident = try IntakeStore.incident(upload.incidentID, in: db) else {
                    throw RPCError(.internal, "upload \(upload.id) refers to a missing incident \(upload.incidentID)")
                }
                // Committed already: OK, and nothing changes.
                if upload.committedName != nil {
                    return (IncidentView.shown(try self.incident(incident.id, in: db) ?? incident, to: context.caller), [])
                }
                guard upload.received == upload.size else {
                    throw ServiceError(
                        .failedPrecondition, reason: "UPLOAD_INCOMPLETE",
                        "upload \(upload.id) holds \(upload.received) of its \(upload.size) bytes; resume from offset \(upload.received) with WriteAttachment, then commit"
                    )
                }
                // (A Write completed the upload after the digest was read.)
                let checked = try digest ?? AttachmentStore.digest(of: upload.id, in: db)
                guard checked.bytes == upload.size, checked.sha256 == upload.sha256 else {
                    throw DigestMismatch(upload: upload, actual: checked.sha256)
                }
                guard let certificate = try IntakeStore.certificate(incident.certificateID, in: db) else {
                    throw RPCError(.internal, "incident \(incident.id) refers to a missing certificate \(incident.certificateID)")
                }
                if upload.byContact { _ = try CertificateRules.authorise(upload.who, on: certificate, at: now) }  // R-ORG-3, still
                try Self.checkNotClosed(incident)

                // The file arrives with an article of its own: the contact's
                // message, or staff's reply to the customer, or their internal
                // note. Stored first, so the article carries the name the file
                // was stored under.
                let attachment = try AttachmentStore.commit(upload, articleNumber: 0, at: now, in: db)
                let (kind, direction): (Support_Common_V1_ArticleKind, Support_Common_V1_Direction) =
                    upload.byContact ? (.customerMessage, .fromCustomer) : upload.visibility == .internal ? (.note, .internal) : (.reply, .toCustomer)
                var article = IncidentThread.article(
                    kind, author: upload.who, direction: direction, channel: direction == .internal ? .unspecified : .portal, text: upload.text, at: now
                )
                article.attachments = [attachment]
                guard let current = try self.incident(incident.id, in: db) else { throw ServiceError.notFound("incident", incident.id) }
                var lifecycle = IncidentLifecycle(current, now: now)
                let added = try lifecycle.post(article, to: "given an attachment")
                try AttachmentStore.assign(articleNumber: added.number, toAttachment: attachment.name, of: incident.id, in: db)
                try IntakeStore.update(lifecycle.incident, adding: lifecycle.addedArticles, in: db)
                let events = lifecycle.events.map {
                    IncidentSnapshots.event($0.payload, snapshot: $0.snapshot, incidentID: incident.id, at: now)
                }
                return (IncidentView.shown(lifecycle.incident, to: context.caller), events)
            }
        } catch let mismatch as DigestMismatch {
            let upload = mismatch.upload
            try await self.writes.refuse(context) { db, now in
                if let current = try AttachmentStore.upload(upload.id, at: now, in: db), current.committedName == nil {
                    try AttachmentStore.discard(current, in: db)
                }
                return ServiceError(
                    .failedPrecondition, reason: "DIGEST_MISMATCH",
                    "the \(upload.size) bytes received for \(upload.name) have SHA-256 \(mismatch.actual), not the \(upload.sha256) BeginAttachment announced; the upload is discarded: upload the file again"
                )
            }
        }
    }

    private func read(
        _ request: Support_Intake_V1_ReadAttachmentRequest, _ context: ServerContext
    ) async throws -> Support_Intake_V1_ReadAttachmentResponse {
        let incidentID = try Field.required(request.incidentID, "incident_id", "the incident the file belongs to")
        let name = try Field.required(request.name, "name", "the attachment's name within the incident")
        let limit = request.maxBytes == 0 ? AttachmentRules.defaultReadBytes : min(Int(request.maxBytes), AttachmentRules.maximumChunkBytes)
        return try await self.writes.read(context) { db in
            guard let incident = try IntakeStore.incident(incidentID, in: db), try Self.visible(incident, to: context.caller, in: db) else {
                throw ServiceError.notFound("incident", incidentID)
            }
            // An internal attachment does not exist for a contact.
            let isContact = if case .contact = context.caller { true } else { false }
            guard let stored = try AttachmentStore.attachment(name, of: incident.id, in: db), !(isContact && stored.visibility == .internal) else {
                throw ServiceError.notFound("attachment", "\(name) on \(incident.id)", field: "name", hint: "check the name as the incident's thread lists it")
            }
            let size = stored.attachment.sizeBytes
            guard request.offset <= size else {
                throw ServiceError.invalid("offset", "offset \(request.offset) is past the end of \(name) (\(size) bytes)")
            }
            var response = Support_Intake_V1_ReadAttachmentResponse()
            response.attachment = stored.attachment
            response.data = try AttachmentStore.bytes(
                of: stored.contentID, from: request.offset, count: Int(min(UInt64(limit), size - request.offset)), in: db
            )
            response.end = request.offset + UInt64(response.data.count) >= size
            return response
        }
    }

    // MARK: Shared checks

    /// The incident and its certificate, or NOT_FOUND when it does not
    /// exist or the caller's contact may not see it.
    private func incidentAndCertificate(_ id: String, for caller: Caller, in db: Database) throws -> (Incident, Certificate) {
        guard let incident = try IntakeStore.incident(id, in: db), try Self.visible(incident, to: caller, in: db) else {
            throw ServiceError.notFound("incident", id)
        }
        guard let certificate = try IntakeStore.certificate(incident.certificateID, in: db) else {
            throw RPCError(.internal, "incident \(id) refers to a missing certificate \(incident.certificateID)")
        }
        return (incident, certificate)
    }

    /// A live upload the caller may use; NOT_FOUND otherwise (unknown,
    /// expired, or another's to a contact).
    private static func upload(_ id: String, for caller: Caller, at now: Date, in db: Database) throws -> AttachmentUpload {
        guard let upload = try AttachmentStore.upload(id, at: now, in: db), upload.isVisible(to: caller) else {
            throw ServiceError.notFound(
                "upload", id, field: "upload_id",
                hint: "uploads expire \(Int(AttachmentRules.uploadLifetime / 3600)) hours after BeginAttachment; start again with BeginAttachment"
            )
        }
        return upload
    }

    private static func checkNotClosed(_ incident: Incident) throws {
        guard incident.state != .closed else {
            throw ServiceError.illegal("given an attachment", state: .closed, incident: incident.id, hint: "Open a new incident.")
        }
    }

    /// FAILED_PRECONDITION (UPLOAD_OFFSET): the message says where to resume.
    private static func wrongOffset(_ offset: UInt64, _ upload: AttachmentUpload) -> ServiceError {
        ServiceError(
            .failedPrecondition, reason: "UPLOAD_OFFSET", field: "offset",
            "offset \(offset) is not where upload \(upload.id) stands; resume from offset \(upload.received)"
        )
    }
}
