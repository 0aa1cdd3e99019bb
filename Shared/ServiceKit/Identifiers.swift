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
    return withUnsafeMutableBytes(of: &words) { bytes in
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        // Written as lower-case hex directly: `UUID.uuidString` then
        // `lowercased()` was two strings and a fifth of an event's append
        // (issue 9, sla-timer's breach profile).
        return String(unsafeUninitializedCapacity: 36) { out in
            let hex: StaticString = "0123456789abcdef"
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out[position] = UInt8(ascii: "-")
                    position += 1
                }
                out[position] = hex.utf8Start[Int(bytes[index] >> 4)]
                out[position + 1] = hex.utf8Start[Int(bytes[index] & 0x0F)]
                position += 2
            }
            return position
        }
    }
}
