import Foundation

/// Times as the people in an office read them: "2026-12-04 16:00 JST".
///
/// Foundation on Linux names zones "GMT+9"; people in Tokyo write "JST"
/// and in New York "EST" or "EDT". The names come from the system's time
/// zone database (the TZif files under /usr/share/zoneinfo, which carry
/// each zone's abbreviations with their offsets), read once per zone;
/// without the file the numeric form ("+09") stands in.
public enum LocalTime {
    /// "2026-12-04 16:00 JST".
    public static func text(_ date: Date, _ zone: TimeZone) -> String {
        "\(Self.format(date, zone, "yyyy-MM-dd HH:mm")) \(Self.abbreviation(zone, at: date))"
    }

    /// "2026-12-04 16:00 JST (07:00Z)": local time beside UTC, which
    /// shows its date only when it differs from the local one
    /// ("2026-12-04 08:00 JST (2026-12-03 23:00Z)").
    public static func withUTC(_ date: Date, _ zone: TimeZone) -> String {
        let utc = TimeZone(identifier: "UTC") ?? zone
        let sameDay = Self.format(date, zone, "yyyy-MM-dd") == Self.format(date, utc, "yyyy-MM-dd")
        return "\(Self.text(date, zone)) (\(Self.format(date, utc, sameDay ? "HH:mm" : "yyyy-MM-dd HH:mm"))Z)"
    }

    /// The zone's abbreviation at `date` ("JST", "EDT"), else its offset
    /// ("+09", "-0330", "UTC" for zero).
    public static func abbreviation(_ zone: TimeZone, at date: Date) -> String {
        let offset = zone.secondsFromGMT(for: date)
        let dst = zone.isDaylightSavingTime(for: date)
        if let name = Self.names(zone.identifier).last(where: { $0.offset == offset && $0.dst == dst })?.name,
           name.first?.isLetter == true
        {
            return name
        }
        return Self.numeric(offset)
    }

    static func numeric(_ offset: Int) -> String {
        if offset == 0 { return "UTC" }
        let minutes = abs(offset) / 60
        let sign = offset < 0 ? "-" : "+"
        let hours = String(format: "%02d", minutes / 60)
        return minutes % 60 == 0 ? "\(sign)\(hours)" : "\(sign)\(hours)\(String(format: "%02d", minutes % 60))"
    }

    private static func format(_ date: Date, _ zone: TimeZone, _ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.timeZone = zone
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }

    // MARK: The zone database

    struct ZoneName: Equatable, Sendable {
        var offset: Int
        var dst: Bool
        var name: String
    }

    private static let cache = NameCache()

    static func names(_ identifier: String) -> [ZoneName] {
        self.cache.names(identifier) {
            // Identifiers are names like "Asia/Tokyo": nothing that climbs out.
            guard !identifier.contains(".."), !identifier.hasPrefix("/"),
                  let data = FileManager.default.contents(atPath: "/usr/share/zoneinfo/\(identifier)")
            else { return [] }
            return Self.parseTZif(data)
        }
    }

    /// The local time types of a TZif file (RFC 8536): offset, DST flag
    /// and designation, from the file's version 1 block (every version
    /// starts with one). Anything malformed gives no names.
    static func parseTZif(_ data: Data) -> [ZoneName] {
        let bytes = [UInt8](data)
        guard bytes.count >= 44, bytes[0] == 0x54, bytes[1] == 0x5A, bytes[2] == 0x69, bytes[3] == 0x66 else { return [] }
        func count(_ index: Int) -> Int {
            let at = 20 + index * 4
            return Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        let (isut, isstd, leap, times, types, chars) = (count(0), count(1), count(2), count(3), count(4), count(5))
        let typesStart = 44 + times * 5
        let charsStart = typesStart + types * 6
        guard types > 0, types < 256, chars < 65536, isut <= types, isstd <= types, leap < 65536,
              charsStart + chars <= bytes.count
        else { return [] }
        let all: [ZoneName?] = (0..<types).map { index in
            let at = typesStart + index * 6
            let raw = UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
            let start = Int(bytes[at + 5])
            guard start < chars else { return nil }
            let name = bytes[(charsStart + start)..<(charsStart + chars)].prefix { $0 != 0 }
            guard !name.isEmpty, name.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
            return ZoneName(offset: Int(Int32(bitPattern: raw)), dst: bytes[at + 4] != 0, name: String(decoding: name, as: UTF8.self))
        }
        // In the order the transitions last used them, so that of two
        // types with one offset ("EDT" and 1945's "EPT") the one in use
        // now comes last; types no transition uses go first.
        var order: [Int] = []
        for index in bytes[(44 + times * 4)..<(44 + times * 5)].map(Int.init) where index < types {
            order.removeAll { $0 == index }
            order.append(index)
        }
        order = (0..<types).filter { !order.contains($0) } + order
        return order.compactMap { all[$0] }
    }

    private final class NameCache: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [String: [ZoneName]] = [:]

        func names(_ identifier: String, load: () -> [ZoneName]) -> [ZoneName] {
            self.lock.lock()
            defer { self.lock.unlock() }
            if let known = self.names[identifier] { return known }
            let loaded = load()
            self.names[identifier] = loaded
            return loaded
        }
    }
}
