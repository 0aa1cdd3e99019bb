import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC

/// An upload begun by BeginAttachment: what the file will be, and how many
/// of its bytes have arrived.
struct AttachmentUpload: Equatable, Sendable {
    var id: String
    var incidentID: String
    /// The contact's email or the staff id uploading.
    var who: String
    var byContact: Bool
    var name: String
    var mediaType: String
    var size: UInt64
    var sha256: String
    /// The text of the article the file is attached to.
    var text: String
    var visibility: Visibility
    var received: UInt64
    var createdAt: Date
    var expiresAt: Date
    /// The name the attachment was stored under, once committed.
    var committedName: String?

    /// Whether `caller` may write to, commit or know of this upload: staff
    /// (and tools without an identity) may; a contact only its own.
    func isVisible(to caller: Caller) -> Bool {
        guard case .contact(let email) = caller else { return true }
        return self.byContact && self.who == email
    }
}

/// A committed attachment as intake stores it: the protocol's
/// ``Attachment`` and what only intake needs.
struct StoredAttachment: Equatable, Sendable {
    var incidentID: String
    var attachment: Attachment
    var visibility: Visibility
    /// Where its bytes are: the id of the upload that brought them.
    var contentID: String
    var addedAt: Date
    var addedBy: String
}

/// Uploads, attachments and their bytes, inside a caller's transaction
/// (migration `intake-6-attachments`).
///
/// The bytes are rows of at most ``AttachmentRules/rowBytes`` in
/// `attachment_chunk`, keyed by content id and start offset. An upload's
/// rows become its attachment's at commit by reference (the attachment
/// row names the upload's id as its content): committing a 25 MiB file
/// copies nothing in the one writer. Every read goes row by row, so no
/// more than a row and the chunk being answered is ever in memory.
enum AttachmentStore {
    // MARK: Uploads

    static func insert(_ upload: AttachmentUpload, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO attachment_upload (upload_id, incident_id, who, by_contact, name, media_type, size, sha256, text,
                    visibility, received, created_at, expires_at, committed_name)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                upload.id, upload.incidentID, upload.who, upload.byContact, upload.name, upload.mediaType, Int64(upload.size),
                upload.sha256, upload.text, upload.visibility.rawValue, Int64(upload.received),
                upload.createdAt.timeIntervalSince1970, upload.expiresAt.timeIntervalSince1970, upload.committedName,
            ]
        )
    }

    /// The upload, unless it is unknown or expired at `now` (the pruner
    /// deletes expired ones later; until then they are gone all the same).
    static func upload(_ id: String, at now: Date, in db: Database) throws -> AttachmentUpload? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM attachment_upload WHERE upload_id = ?"), arguments: [id])
        else { return nil }
        let upload = AttachmentUpload(
            id: row["upload_id"], incidentID: row["incident_id"], who: row["who"], byContact: row["by_contact"], name: row["name"],
            mediaType: row["media_type"], size: UInt64(row["size"] as Int64), sha256: row["sha256"], text: row["text"],
            visibility: Visibility(rawValue: row["visibility"]) ?? .public, received: UInt64(row["received"] as Int64),
            createdAt: Date(timeIntervalSince1970: row["created_at"]), expiresAt: Date(timeIntervalSince1970: row["expires_at"]),
            committedName: row["committed_name"]
        )
        return now < upload.expiresAt ? upload : nil
    }

    /// Appends `data` at the upload's end, in rows of at most
    /// ``AttachmentRules/rowBytes``.
    ///
    /// - Returns: The bytes the upload holds now.
    static func append(_ data: Data, to upload: AttachmentUpload, in db: Database) throws -> UInt64 {
        var start = upload.received
        var index = data.startIndex
        while index < data.endIndex {
            let end = data.index(index, offsetBy: AttachmentRules.rowBytes, limitedBy: data.endIndex) ?? data.endIndex
            try db.executeCached(
                sql: "INSERT INTO attachment_chunk (content_id, start, data) VALUES (?, ?, ?)",
                arguments: [upload.id, Int64(start), data[index..<end]]
            )
            start += UInt64(end - index)
            index = end
        }
        try db.executeCached(sql: "UPDATE attachment_upload SET received = ? WHERE upload_id = ?", arguments: [Int64(start), upload.id])
        return start
    }

    /// Forgets an upload and, unless it was committed (its bytes are then
    /// its attachment's), its bytes.
    static func discard(_ upload: AttachmentUpload, in db: Database) throws {
        if upload.committedName == nil {
            try db.executeCached(sql: "DELETE FROM attachment_chunk WHERE content_id = ?", arguments: [upload.id])
        }
        try db.executeCached(sql: "DELETE FROM attachment_upload WHERE upload_id = ?", arguments: [upload.id])
    }

    /// Uploads that expired before `now`, oldest first, at most `limit`.
    static func expiredUploads(before now: Date, limit: Int, in db: Database) throws -> [AttachmentUpload] {
        let ids = try String.fetchAll(
            db.cachedStatement(sql: "SELECT upload_id FROM attachment_upload WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"),
            arguments: [now.timeIntervalSince1970, limit]
        )
        // Read as of the distant past, so that expiry does not hide them.
        return try ids.compactMap { try Self.upload($0, at: .distantPast, in: db) }
    }

    // MARK: Attachments

    /// Stores the committed upload as an attachment of its incident under
    /// a name no other attachment of the incident has
    /// (``AttachmentRules/storedName(for:taken:)``), and marks the upload
    /// committed so a second commit changes nothing.
    ///
    /// - Parameter articleNumber: The article it belongs to.
    static func commit(_ upload: AttachmentUpload, articleNumber: UInt32, at now: Date, in db: Database) throws -> Attachment {
        let taken = Set(try String.fetchAll(
            db.cachedStatement(sql: "SELECT name FROM attachment WHERE incident_id = ?"), arguments: [upload.incidentID]
        ))
        var attachment = Attachment()
        attachment.name = AttachmentRules.storedName(for: upload.name, taken: taken)
        attachment.mediaType = upload.mediaType
        attachment.sizeBytes = upload.size
        attachment.sha256 = upload.sha256
        attachment.articleNumber = articleNumber
        try db.executeCached(
            sql: """
                INSERT INTO attachment (incident_id, name, media_type, size, sha256, visibility, article_number, content_id, added_at, added_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                upload.incidentID, attachment.name, attachment.mediaType, Int64(attachment.sizeBytes), attachment.sha256,
                upload.visibility.rawValue, Int64(articleNumber), upload.id, now.timeIntervalSince1970, upload.who,
            ]
        )
        try db.executeCached(
            sql: "UPDATE attachment_upload SET committed_name = ? WHERE upload_id = ?", arguments: [attachment.name, upload.id]
        )
        return attachment
    }

    /// Records the article an attachment belongs to, once the article has
    /// its number.
    static func assign(articleNumber: UInt32, toAttachment name: String, of incidentID: String, in db: Database) throws {
        try db.executeCached(
            sql: "UPDATE attachment SET article_number = ? WHERE incident_id = ? AND name = ?",
            arguments: [Int64(articleNumber), incidentID, name]
        )
    }

    static func attachment(_ name: String, of incidentID: String, in db: Database) throws -> StoredAttachment? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM attachment WHERE incident_id = ? AND name = ?"), arguments: [incidentID, name]
        ).map(Self.stored)
    }

    /// The incident's attachments in the order they were added.
    static func attachments(of incidentID: String, in db: Database) throws -> [StoredAttachment] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM attachment WHERE incident_id = ? ORDER BY added_at, rowid"), arguments: [incidentID]
        ).map(Self.stored)
    }

    private static func stored(_ row: Row) -> StoredAttachment {
        var attachment = Attachment()
        attachment.name = row["name"]
        attachment.mediaType = row["media_type"]
        attachment.sizeBytes = UInt64(row["size"] as Int64)
        attachment.sha256 = row["sha256"]
        attachment.articleNumber = UInt32(clamping: row["article_number"] as Int64)
        return StoredAttachment(
            incidentID: row["incident_id"], attachment: attachment, visibility: Visibility(rawValue: row["visibility"]) ?? .public,
            contentID: row["content_id"], addedAt: Date(timeIntervalSince1970: row["added_at"]), addedBy: row["added_by"]
        )
    }

    // MARK: Bytes

    /// Up to `count` bytes of `contentID` from `offset` (fewer at its end).
    static func bytes(of contentID: String, from offset: UInt64, count: Int, in db: Database) throws -> Data {
        guard count > 0 else { return Data() }
        let end = offset + UInt64(count)
        // A row overlaps [offset, end) only if it starts less than a row's
        // length before offset: the key's range, not a scan.
        let lowest = offset >= UInt64(AttachmentRules.rowBytes) ? Int64(offset) - Int64(AttachmentRules.rowBytes) : -1
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: """
                SELECT start, data FROM attachment_chunk
                WHERE content_id = ? AND start > ? AND start < ? AND start + length(data) > ? ORDER BY start
                """),
            arguments: [contentID, lowest, Int64(end), Int64(offset)]
        )
        var result = Data()
        result.reserveCapacity(count)
        while let row = try rows.next() {
            let start = UInt64(row[0] as Int64)
            let data: Data = row[1]
            let from = data.startIndex + Int(offset > start ? offset - start : 0)
            let to = data.startIndex + Int(min(UInt64(data.count), end - start))
            result.append(data[from..<to])
        }
        return result
    }

    /// The SHA-256 of `contentID`'s bytes, read row by row, and how many
    /// there were in one unbroken run from offset 0.
    static func digest(of contentID: String, in db: Database) throws -> (sha256: String, bytes: UInt64) {
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT start, data FROM attachment_chunk WHERE content_id = ? ORDER BY start"),
            arguments: [contentID]
        )
        var digest = ContentDigest()
        var length: UInt64 = 0
        while let row = try rows.next() {
            guard UInt64(row[0] as Int64) == length else { break }
            // The row's bytes without copying them out of SQLite.
            length += try row.withUnsafeData(atIndex: 1) { data -> UInt64 in
                guard let data else { return 0 }
                digest.update(data)
                return UInt64(data.count)
            }
        }
        return (digest.hex(), length)
    }
}
