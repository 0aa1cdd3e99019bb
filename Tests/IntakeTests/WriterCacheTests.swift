import BusinessCalendar
import Foundation
import SupportProto
import Testing
import TestSupport

@testable import Intake

/// Issue 9: what OpenIncident no longer recomputes in the one writer must
/// answer exactly as the computation did.
@Suite("intake's writer caches")
struct WriterCacheTests {
    @Test("Field text is trimmed exactly as Foundation's whitespacesAndNewlines trims it")
    func trimming() {
        let spaces = [" ", "\t", "\n", "\r\n", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}", "\u{1680}", "\u{2003}", "\u{2028}", "\u{2029}", "\u{202F}", "\u{3000}"]
        let words = ["", "x", "Disk full on ☃ host", "a\tb", "e\u{301}", "\u{200B}zero-width\u{200B}", "🇯🇵"]
        var cases: [String] = []
        for word in words {
            for left in [""] + spaces {
                for right in [""] + spaces { cases.append(left + word + right) }
            }
        }
        cases += [" \n\t ", "\u{A0}\u{A0}", "  mixed \u{2028} inside  "]
        // Every scalar of the Basic Multilingual Plane on either side.
        for value in UInt32(0)...0xFFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            cases.append("\(Character(scalar))a\(Character(scalar))")
        }
        for text in cases {
            #expect(text.trimmedOfWhitespace() == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test("Offices.isOpen with its cached open span agrees with the calendar at every instant, across openings, closings, weekends and holidays, forwards and backwards")
    func openSpans() throws {
        let directory = try OfficeDirectory.load(configDirectory: URL(fileURLWithPath: InProcessService.configDirectory))
        let offices = Offices(directory: directory)
        let start = Date(timeIntervalSince1970: 1_798_675_200)  // 2026-12-31T00:00:00Z: New Year closures follow
        var instants: [Date] = []
        for step in 0..<(14 * 96) { instants.append(start.addingTimeInterval(Double(step) * 900)) }
        // Exactly at openings and closings, and a second either side.
        for id in directory.ids {
            var cursor = start
            for _ in 0..<10 {
                guard let span = directory[id]!.openSpan(atOrAfter: cursor) else { break }
                for edge in [span.start, span.end] { instants += [edge.addingTimeInterval(-1), edge, edge.addingTimeInterval(1)] }
                cursor = span.end
            }
        }
        var checked = 0
        for order in [instants.sorted(), instants.sorted().reversed(), instants.shuffled()] {
            for instant in order {
                for id in directory.ids {
                    #expect(offices.isOpen(id, at: instant) == directory[id]!.isOpen(at: instant), "\(id) at \(instant)")
                    checked += 1
                }
            }
        }
        #expect(checked > 3000)
        #expect(!offices.isOpen("atlantis", at: start), "an unknown office is never open")
    }

    @Test("A decoded document is given again only for the same bytes: a changed, rolled-back or other database's document is decoded afresh")
    func decodedDocuments() throws {
        let cache = DecodedDocuments<Support_Intake_V1_Certificate>(limit: 2)
        var certificate = Support_Intake_V1_Certificate()
        certificate.id = "MSA-1"
        certificate.customer = "Acme"
        let first: Data = try certificate.serializedBytes()
        #expect(try cache.decode(first, key: "MSA-1").customer == "Acme")
        certificate.customer = "Acme Holdings"
        let changed: Data = try certificate.serializedBytes()
        #expect(try cache.decode(changed, key: "MSA-1").customer == "Acme Holdings")
        #expect(try cache.decode(first, key: "MSA-1").customer == "Acme", "back to the earlier bytes, as after a rollback")
        // Past the limit the cache starts over, and still answers right.
        for index in 0..<5 {
            certificate.id = "MSA-\(index)"
            #expect(try cache.decode(try certificate.serializedBytes(), key: certificate.id).id == "MSA-\(index)")
        }
        #expect(throws: (any Error).self) { try cache.decode(Data([0xFF, 0xFF]), key: "MSA-1") }
    }
}
