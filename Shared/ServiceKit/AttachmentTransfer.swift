import Foundation
import SupportProto
import SupportRPC

/// The client side of intake's attachments (issue 22): a file uploaded in
/// chunks with Begin/Write/CommitAttachment, read back with ReadAttachment
/// into a file, each checked by SHA-256. supportctl's `incident attach` and
/// `incident attachment get` are these, and so is supportbench's row, so
/// the figure is the command's.
///
/// Neither direction ever holds more than one chunk of the file.
public enum AttachmentTransfer {
    /// How far a transfer is: bytes done of the file's total.
    public typealias Progress = @Sendable (_ done: UInt64, _ total: UInt64) -> Void

    /// Why a transfer stopped on this side; a refusal by intake is the
    /// ``RPCError`` it sent.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Where the calls go and how long each may take.
    public struct Connection: Sendable {
        public var client: RPCClient
        public var timeout: Duration
        public var metadata: Metadata

        public init(client: RPCClient, timeout: Duration = .seconds(30), metadata: Metadata = Metadata()) {
            self.client = client
            self.timeout = timeout
            self.metadata = metadata
        }

        func call<Request, Response>(_ method: RPCMethod<Request, Response>, _ request: Request) async throws -> Response {
            try await self.client.call(method, request, timeout: self.timeout, metadata: self.metadata)
        }
    }

    /// How many bytes a file read takes at a time while hashing.
    static let readBytes = 1 << 20
    /// Attempts at one chunk that failed on the way (UNAVAILABLE,
    /// DEADLINE_EXCEEDED) or was told to resume elsewhere (UPLOAD_OFFSET).
    static let attempts = 5

    /// The SHA-256 of the file at `path` and its size, read a chunk at a time.
    public static func digest(ofFile path: String, progress: Progress? = nil) throws -> (sha256: String, size: UInt64) {
        let handle = try Self.open(path)
        defer { try? handle.close() }
        var digest = ContentDigest()
        var size: UInt64 = 0
        while let data = try handle.read(upToCount: Self.readBytes), !data.isEmpty {
            digest.update(data)
            size += UInt64(data.count)
            progress?(size, 0)
        }
        return (digest.hex(), size)
    }

    /// Uploads the file at `path` as an attachment and commits it.
    ///
    /// - Parameters:
    ///   - begin: The BeginAttachment request with everything but the
    ///     size and SHA-256, which are read from the file here.
    ///   - progress: Called after each chunk is written.
    /// - Returns: The incident Commit answered, and the file's size and
    ///   SHA-256 as sent.
    public static func upload(
        _ path: String, as begin: Support_Intake_V1_BeginAttachmentRequest, over connection: Connection, progress: Progress? = nil
    ) async throws -> (incident: Support_Intake_V1_Incident, size: UInt64, sha256: String) {
        let (sha256, size) = try Self.digest(ofFile: path)
        var begin = begin
        begin.sizeBytes = size
        begin.sha256 = sha256
        let started = try await connection.call(IntakeRPC.beginAttachment, begin)
        let chunk = Int(max(1, min(started.maxChunkBytes == 0 ? 2 << 20 : started.maxChunkBytes, 2 << 20)))
        try await Self.send(path, size: size, to: started.uploadID, chunkBytes: chunk, over: connection, progress: progress)
        var commit = Support_Intake_V1_CommitAttachmentRequest()
        commit.uploadID = started.uploadID
        return (try await connection.call(IntakeRPC.commitAttachment, commit), size, sha256)
    }

    /// Writes the file at `path` to the upload `uploadID` from `offset`
    /// until intake holds all `size` bytes: a chunk whose answer was lost
    /// is sent again (the same bytes at an offset received change
    /// nothing), and an `UPLOAD_OFFSET` refusal resumes where intake says.
    public static func send(
        _ path: String, size: UInt64, to uploadID: String, from offset: UInt64 = 0, chunkBytes: Int = 2 << 20,
        over connection: Connection, progress: Progress? = nil
    ) async throws {
        let handle = try Self.open(path)
        defer { try? handle.close() }
        var offset = offset
        var failures = 0
        while offset < size {
            try handle.seek(toOffset: offset)
            guard let data = try handle.read(upToCount: chunkBytes), !data.isEmpty else {
                throw Failure(description: "\(path) ended at \(offset) bytes while it was sent, not \(size); it changed: attach it again")
            }
            var write = Support_Intake_V1_WriteAttachmentRequest()
            write.uploadID = uploadID
            write.offset = offset
            write.data = data
            do {
                let written = try await connection.call(IntakeRPC.writeAttachment, write)
                offset = written.receivedBytes
                failures = 0
                progress?(offset, size)
            } catch let error as RPCError where failures + 1 < Self.attempts {
                failures += 1
                if let resume = Self.resumeOffset(error) {
                    // intake holds another amount than this side thought
                    // (an answer lost on the way): go on from there.
                    offset = resume
                } else if error.code != .unavailable && error.code != .deadlineExceeded {
                    throw error
                }
            }
        }
    }

    /// The offset an `UPLOAD_OFFSET` refusal says to resume from.
    public static func resumeOffset(_ error: RPCError) -> UInt64? {
        guard error.code == .failedPrecondition, error.details.first?.reason == "UPLOAD_OFFSET",
            let range = error.message.range(of: "resume from offset ")
        else { return nil }
        return UInt64(error.message[range.upperBound...].prefix { $0.isNumber })
    }

    /// Reads the attachment `name` of `incidentID` into `destination`: into
    /// a temporary file beside it, checked against the attachment's size
    /// and SHA-256, then renamed into place.
    ///
    /// - Parameter replace: Whether an existing `destination` may be
    ///   replaced; without it an existing file is refused before any call.
    /// - Returns: The attachment as intake describes it.
    @discardableResult
    public static func download(
        _ name: String, of incidentID: String, to destination: String, replace: Bool = false, over connection: Connection,
        progress: Progress? = nil
    ) async throws -> Support_Common_V1_Attachment {
        let target = URL(fileURLWithPath: destination).standardizedFileURL
        if !replace && FileManager.default.fileExists(atPath: target.path) {
            throw Failure(description: "\(target.path) exists; choose another --to, or give --force to replace it")
        }
        let partial = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).partial-\(UInt32.random(in: .min ... .max))")
        // A customer's file: the owner's alone, like a backup (issue 21).
        guard FileManager.default.createFile(atPath: partial.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw Failure(description: "cannot create \(partial.path); check the directory exists and may be written")
        }
        do {
            let handle = try FileHandle(forWritingTo: partial)
            defer { try? handle.close() }
            var digest = ContentDigest()
            var request = Support_Intake_V1_ReadAttachmentRequest()
            request.incidentID = incidentID
            request.name = name
            request.maxBytes = 2 << 20
            var attachment: Support_Common_V1_Attachment?
            while true {
                let chunk = try await connection.call(IntakeRPC.readAttachment, request)
                try handle.write(contentsOf: chunk.data)
                digest.update(chunk.data)
                request.offset += UInt64(chunk.data.count)
                attachment = chunk.attachment
                progress?(request.offset, chunk.attachment.sizeBytes)
                if chunk.end { break }
                if chunk.data.isEmpty {
                    throw Failure(description: "intake sent no bytes at offset \(request.offset) of \(name) before its end; try again")
                }
            }
            guard let attachment else { throw Failure(description: "intake described no attachment \(name)") }
            let sha256 = digest.hex()
            guard request.offset == attachment.sizeBytes, sha256 == attachment.sha256 else {
                throw Failure(
                    description: "the copy of \(name) has \(request.offset) bytes with SHA-256 \(sha256); intake stores \(attachment.sizeBytes) bytes with \(attachment.sha256). Nothing was written; try again"
                )
            }
            try handle.synchronize()
            // rename(2) replaces an existing file in one step (with --force).
            guard rename(partial.path, target.path) == 0 else {
                throw Failure(description: "cannot move the copy to \(target.path): \(String(cString: strerror(errno)))")
            }
            return attachment
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
    }

    private static func open(_ path: String) throws -> FileHandle {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Failure(description: "cannot read \(path); check that it exists and may be read")
        }
        return handle
    }
}
