import Foundation

/// An id made of a prefix and a counter value padded with zeros to at
/// least `digits` digits: `numberedID("INC-", 42, digits: 6)` is
/// `"INC-000042"`. Foundation's `String(format:)` parses a printf format on
/// every call, which showed in the profile of OpenIncident (issue 9).
public func numberedID(_ prefix: String, _ number: Int64, digits: Int) -> String {
    let decimal = String(number)
    return prefix + String(repeating: "0", count: max(0, digits - decimal.count)) + decimal
}

/// A random (version 4) UUID in lower case, for event ids.
///
/// Foundation's `UUID()` on Linux opens, reads and closes `/dev/urandom`
/// for every id: three system calls per event written (issue 9). The
/// standard library's generator asks the kernel with one `getrandom`.
public func randomUUIDString() -> String {
    var generator = SystemRandomNumberGenerator()
    var words = (generator.next() as UInt64, generator.next() as UInt64)
    let uuid = withUnsafeMutableBytes(of: &words) { bytes -> UUID in
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(uuid: bytes.load(as: uuid_t.self))
    }
    return uuid.uuidString.lowercased()
}
