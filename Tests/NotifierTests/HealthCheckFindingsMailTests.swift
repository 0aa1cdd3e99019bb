import Foundation
import SupportProto
import Testing

@testable import Notifier

/// R-HC-1 (issue 23, finding 10): the TAM's health-check findings reach
/// every contact, in their language, once.
@Suite("health-check findings mail")
struct HealthCheckFindingsMailTests {
    static func event(id: String = "intake-hc-1") -> Support_Events_V1_Event {
        var recorded = Support_Events_V1_HealthCheckFindingsRecorded()
        recorded.bookingID = "HC-C-1-1"
        recorded.certificateID = "C-1"
        recorded.customer = "Acme"
        recorded.office = "tokyo"
        recorded.date = "2026-12-21"
        recorded.tam = "tam.sato"
        recorded.contacts = [
            .with { $0.name = "Ann"; $0.email = "ann@acme.example"; $0.language = "ja" },
            .with { $0.name = "Bob"; $0.email = "bob@acme.example"; $0.language = "en" },
        ]
        recorded.findings = "Real-time scanning is off on 3 file servers; turn it on."
        var event = Support_Events_V1_Event()
        event.eventID = id
        event.producer = "intake"
        event.sequence = 1
        event.occurredAt = .init(date: jst("2026-12-21T17:00:00"))
        event.payload = .healthCheckFindingsRecorded(recorded)
        return event
    }

    @Test("R-HC-1: each contact gets the findings report in their language, with the TAM's text and no rule ids; a redelivery mails no one again")
    func mailed() throws {
        let harness = try NotifierHarness()
        let event = Self.event()
        try harness.database.writer.write { db in try harness.engine.apply(event, in: db) }
        try harness.database.writer.write { db in try harness.engine.apply(event, in: db) }
        let sent = try harness.messages("healthcheck-findings")
        #expect(sent.count == 2)
        let ann = try #require(sent.first { $0.recipients.first?.email == "ann@acme.example" })
        let bob = try #require(sent.first { $0.recipients.first?.email == "bob@acme.example" })
        #expect(ann.subject.hasPrefix("[C-1] ヘルスチェック報告書"))
        #expect(ann.body.contains("Ann 様"))
        #expect(bob.subject == "[C-1] Health check report of 2026-12-21 for Acme")
        for message in [ann, bob] {
            #expect(message.certificateID == "C-1")
            #expect(message.body.contains("Real-time scanning is off on 3 file servers; turn it on."))
            #expect(message.body.firstMatch(of: /R-[A-Z]+-\d/) == nil)
        }
    }
}
