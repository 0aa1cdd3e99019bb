import Foundation
import ServiceKit
import SupportProto

typealias Attachment = Support_Common_V1_Attachment
typealias Visibility = Support_Common_V1_Visibility

/// What intake.proto promises of an attachment's name, size and digest,
/// and how its bytes are cut (R-SCOPE-1: crash dumps, logs and samples the
/// customer sends with a problem).
enum AttachmentRules {
    /// The default of `--max-attachment-bytes`: 25 MiB a file.
    static let defaultMaximumBytes: UInt64 = 25 << 20
    /// The most bytes one WriteAttachment carries and one ReadAttachment
    /// returns (intake.proto: 2 MiB), well inside the 4 MiB frame.
    static let maximumChunkBytes = 2 << 20
    /// What ReadAttachment returns when max_bytes is 0.
    static let defaultReadBytes = 1 << 20
    /// The largest row of bytes stored: a read or a digest holds one row at
    /// a time, never the whole file.
    static let rowBytes = 1 << 20
    /// An upload not committed within this is discarded (intake.proto).
    static let uploadLifetime: TimeInterval = 24 * 3600
    /// The longest name, in UTF-8 bytes (common.proto).
    static let maximumNameBytes = 200
    static let defaultMediaType = "application/octet-stream"

    /// `name` as it is stored, or `INVALID_ARGUMENT` naming `name`: a file
    /// name without a path, so that nothing a client writes under it can
    /// land outside the directory it chose.
    static func validatedName(_ raw: String) throws -> String {
        let name = raw.trimmedOfWhitespace()
        guard !name.isEmpty else { throw ServiceError.missing("name", "the file's name, without a path (e.g. dump.dmp)") }
        guard name.utf8.count <= Self.maximumNameBytes else {
            throw ServiceError.invalid("name", "name is \(name.utf8.count) bytes of UTF-8; at most \(Self.maximumNameBytes) are accepted")
        }
        guard !name.contains("/"), !name.contains("\\") else {
            throw ServiceError.invalid("name", "name '\(name)' holds a path; give the file's name alone, without / or \\")
        }
        guard !name.hasPrefix(".") else {
            throw ServiceError.invalid("name", "name '\(name)' starts with '.'; hidden names and . or .. are not accepted")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ServiceError.invalid("name", "name holds control characters; give a printable file name")
        }
        return name
    }

    /// A media type such as `text/plain`; empty means
    /// ``defaultMediaType``.
    static func validatedMediaType(_ raw: String) throws -> String {
        let type = raw.trimmedOfWhitespace()
        guard !type.isEmpty else { return Self.defaultMediaType }
        let parts = type.split(separator: "/", omittingEmptySubsequences: false)
        guard type.utf8.count <= Field.shortText, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            !type.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control })
        else {
            throw ServiceError.invalid("media_type", "media_type '\(type)' is not a media type such as text/plain; leave it empty for \(Self.defaultMediaType)")
        }
        return type.lowercased()
    }

    /// `INVALID_ARGUMENT` naming `size_bytes` unless `size` is 1 to `limit`.
    static func checkSize(_ size: UInt64, limit: UInt64) throws {
        guard size > 0 else {
            throw ServiceError.invalid("size_bytes", "size_bytes is 0; an attachment holds at least one byte")
        }
        guard size <= limit else {
            throw ServiceError(
                .invalidArgument, reason: "ATTACHMENT_TOO_LARGE", field: "size_bytes",
                "the file has \(size) bytes; intake accepts attachments of at most \(limit) bytes. Compress or split it, or send a download link in the message"
            )
        }
    }

    /// The digest in lower case, or `INVALID_ARGUMENT` naming `sha256`.
    static func validatedDigest(_ raw: String) throws -> String {
        guard ContentDigest.isWellFormed(raw) else {
            throw ServiceError.invalid("sha256", "sha256 must be the file's SHA-256 as 64 hex digits (as sha256sum prints it)")
        }
        return ContentDigest.normalised(raw)
    }

    /// The visibility a request asks for: 0 means public; internal is
    /// staff's alone.
    static func visibility(_ requested: Visibility, byContact: Bool) throws -> Visibility {
        switch requested {
        case .unspecified, .public: return .public
        case .internal:
            guard !byContact else {
                throw ServiceError.invalid("visibility", "a customer contact's attachment is always public; only staff attach to internal notes")
            }
            return .internal
        default:
            throw ServiceError.invalid("visibility", "visibility is public (or 0) or internal")
        }
    }

    /// The name a file is stored under: `name` itself when the incident has
    /// no attachment of that name yet, else the first free of `stem-2.ext`,
    /// `stem-3.ext`, … (the number goes before the last extension:
    /// `dump.dmp` → `dump-2.dmp`, `notes` → `notes-2`), the stem shortened
    /// if need be to stay within ``maximumNameBytes``.
    static func storedName(for name: String, taken: Set<String>) -> String {
        guard taken.contains(name) else { return name }
        // An extension too long to keep beside a number is not one.
        let dot = name.lastIndex(of: ".").flatMap { name[$0...].utf8.count <= Self.maximumNameBytes / 2 ? $0 : nil }
        let stem = dot.map { String(name[..<$0]) } ?? name
        let ext = dot.map { String(name[$0...]) } ?? ""
        var number = 2
        while true {
            let suffix = "-\(number)\(ext)"
            var shortened = stem
            while !shortened.isEmpty && shortened.utf8.count + suffix.utf8.count > Self.maximumNameBytes {
                shortened.removeLast()
            }
            let candidate = shortened + suffix
            if !taken.contains(candidate) { return candidate }
            number += 1
        }
    }
}
