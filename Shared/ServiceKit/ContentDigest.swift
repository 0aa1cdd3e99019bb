import Crypto
import Foundation

/// SHA-256 of content that arrives or is read in pieces: an attachment's
/// chunks in intake, a file streamed by supportctl (issue 22). One piece at
/// a time is ever held, never the whole content. Not `Sendable`: swift-crypto's
/// hasher is not, and a digest is one task's running total.
///
/// Foundation on Linux has no SHA-256 and CryptoKit is Apple's only, so
/// this is swift-crypto's, which is BoringSSL's on Linux and CryptoKit on
/// Apple platforms: the same digest on either, and never a hand-written one.
public struct ContentDigest {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ data: Data) {
        self.hasher.update(data: data)
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        self.hasher.update(bufferPointer: bytes)
    }

    /// The digest of everything given so far, as ``isWellFormed(_:)``
    /// spells one: 64 lower-case hex digits.
    public func hex() -> String {
        Self.hex(self.hasher.finalize())
    }

    /// The SHA-256 of `data` in lower-case hex.
    public static func hex(of data: Data) -> String {
        Self.hex(SHA256.hash(data: data))
    }

    /// Whether `text` is a SHA-256 as the protocol writes one: 64 hex
    /// digits (either case; ``normalised(_:)`` makes it lower-case).
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }
    }

    /// A well-formed digest as it is stored and compared: lower case.
    public static func normalised(_ text: String) -> String {
        text.lowercased()
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        let digits: StaticString = "0123456789abcdef"
        var text = ""
        text.reserveCapacity(64)
        for byte in digest {
            text.unicodeScalars.append(Unicode.Scalar(digits.utf8Start[Int(byte >> 4)]))
            text.unicodeScalars.append(Unicode.Scalar(digits.utf8Start[Int(byte & 0x0F)]))
        }
        return text
    }
}
