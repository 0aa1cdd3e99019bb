import Foundation

/// An id made of a prefix and a counter value padded with zeros to at
/// least `digits` digits: `numberedID("INC-", 42, digits: 6)` is
/// `"INC-000042"`. Foundation's `String(format:)` parses a printf format on
/// every call, which showed in the profile of OpenIncident (issue 9).
public func numberedID(_ prefix: String, _ number: Int64, digits: Int) -> String {
    let decimal = String(number)
    return prefix + String(repeating: "0", count: max(0, digits - decimal.count)) + decimal
}

/// A time-ordered (version 7, RFC 9562) UUID in lower case, for event ids.
///
/// The first 48 bits are the Unix time in milliseconds and the next 12 the
/// fraction of that millisecond (RFC 9562 §6.2, method 3), the remaining 62
/// random. Ids written one after the other therefore sort one after the
/// other, and the outbox's unique index on `event_id` takes each new id at
/// its right-hand edge. A random (version 4) id landed on a random page of
/// that index: with 10k events written in a few dozen commits, each commit
/// rewrote most of the index's leaf pages (issue 9: time-ordered ids made
/// sla-timer's 10k-breach second about 7% faster; intake writes one event
/// per incident the same way).
///
/// The time is the system's wall clock, not the service's injected clock:
/// the id only has to be unique and roughly ordered, and a fake clock's
/// time would repeat across test runs.
///
/// Foundation's `UUID()` on Linux opens, reads and closes `/dev/urandom`
/// for every id: three system calls per event written (issue 9). The
/// standard library's generator asks the kernel with one `getrandom`.
public func timeOrderedUUIDString() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let milliseconds = UInt64(now.tv_sec) &* 1000 &+ UInt64(now.tv_nsec / 1_000_000)
    // The fraction of the millisecond in 1/4096ths.
    let fraction = UInt64(now.tv_nsec % 1_000_000) * 4096 / 1_000_000
    var generator = SystemRandomNumberGenerator()
    // Big-endian: the timestamp's bytes first.
    var words = ((milliseconds << 16 | 0x7000 | fraction).bigEndian, (generator.next() as UInt64))
    return withUnsafeMutableBytes(of: &words) { bytes in
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
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

/// ``numberedID(_:_:digits:)`` with a random part: `"MSG-000042-K7M2Q9XD"`.
///
/// The number keeps an id short, readable and in creation order; the 40
/// random bits (Crockford base32) keep it unique when the counter starts
/// again from the same value: after a restore, or in a copy of the
/// database, where the next number is one an earlier id already had
/// (issue 21, finding 8). A fake clock cannot help: it repeats its time.
public func numberedUniqueID(_ prefix: String, _ number: Int64, digits: Int) -> String {
    let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    var generator = SystemRandomNumberGenerator()
    var bits = generator.next() as UInt64
    var random = ""
    for _ in 0..<8 {
        random.append(alphabet[Int(bits & 0x1F)])
        bits >>= 5
    }
    return numberedID(prefix, number, digits: digits) + "-" + random
}
