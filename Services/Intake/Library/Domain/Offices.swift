import BusinessCalendar
import Foundation
import Synchronization

/// The offices intake knows, and the one question it asks of them: is it
/// business time there now (R-ORG-5, and the TAM's hours, R-ORG-4)?
struct Offices: Sendable {
    let directory: OfficeDirectory
    /// ``summary(_:)`` by office, worked out once: every OpenIncident passes
    /// it to its channel policy (issue 9).
    private let summaries: [String: String]

    init(directory: OfficeDirectory) {
        self.directory = directory
        self.summaries = Dictionary(uniqueKeysWithValues: directory.ids.map { ($0, Self.describe(directory[$0]!)) })
    }

    var ids: [String] { self.directory.ids }

    func calendar(_ id: String) -> OfficeCalendar? { self.directory[id] }

    /// The language of the office's customer mail (offices.json, issue 22).
    func language(_ id: String) -> String { self.directory.language(of: id) }

    func isOpen(_ office: String, at instant: Date) -> Bool {
        guard let calendar = self.directory[office] else { return false }
        let time = instant.timeIntervalSince1970
        if let known = self.cache.spans.withLock({ $0[office] }), known.from <= time, time < known.end {
            return time >= known.start
        }
        guard let span = calendar.openSpan(atOrAfter: instant) else { return false }
        // From `instant` to the span's end the answer is known: closed
        // until it starts, open after.
        let known = Span(from: time, start: span.start.timeIntervalSince1970, end: span.end.timeIntervalSince1970)
        self.cache.spans.withLock { $0[office] = known }
        return time >= known.start
    }

    /// The open span found last for each office, and the instant it was
    /// looked up from. Every OpenIncident asks ``isOpen(_:at:)`` in the one
    /// writer; walking the calendar each time was 3% of its time (issue 9).
    private let cache = SpanCache()

    private struct Span: Sendable {
        let from: TimeInterval
        let start: TimeInterval
        let end: TimeInterval
    }

    /// A cache a Sendable struct can hold.
    private final class SpanCache: Sendable {
        let spans = Mutex<[String: Span]>([:])
    }

    /// "Mon–Fri 10:00–18:00 Asia/Tokyo, except holidays" for messages.
    func summary(_ office: String) -> String {
        self.summaries[office] ?? "unknown office \(office)"
    }

    private static func describe(_ calendar: OfficeCalendar) -> String {
        let names: [(Weekday, String)] = [
            (.monday, "Mon"), (.tuesday, "Tue"), (.wednesday, "Wed"), (.thursday, "Thu"),
            (.friday, "Fri"), (.saturday, "Sat"), (.sunday, "Sun"),
        ]
        // Group consecutive days with the same hours: "Mon–Fri 10:00–18:00".
        var groups: [(first: String, last: String, hours: String)] = []
        for (day, name) in names {
            let hours = calendar.hours[day].map(\.description).joined(separator: ", ")
            guard !hours.isEmpty else { continue }
            if let last = groups.last, last.hours == hours, names.firstIndex(where: { $0.1 == last.last }).map({ names[$0 + 1].1 == name }) == true {
                groups[groups.count - 1].last = name
            } else {
                groups.append((name, name, hours))
            }
        }
        let text = groups.map { $0.first == $0.last ? "\($0.first) \($0.hours)" : "\($0.first)–\($0.last) \($0.hours)" }
        return "\(text.joined(separator: "; ")) \(calendar.timeZone.identifier), except holidays"
    }
}
