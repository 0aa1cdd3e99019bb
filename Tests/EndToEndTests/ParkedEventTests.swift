import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// An event a service cannot apply is parked and the stream goes on
/// (DESIGN.md "Trust"; issue 21): here a breach for an office escalation has
/// no roster for, beside a Tokyo breach that must still escalate (R-ESC-3).
@Suite("Parked events", .serialized)
struct ParkedEventTests {
    @Test("a New York breach without a roster is parked and shown; the Tokyo breach behind it escalates; after roster set, events retry applies it once")
    func noRosterDoesNotBlock() async throws {
        // Saturday 03:00 in Tokyo is Friday 13:00 in New York.
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T03:00:00+09:00")
        try await SLAScenarioTests.setUp(cluster)
        let register = try await cluster.supportctl(
            "certificate", "register", "--id", "C-NY", "--customer", "Globex", "--office", "new-york", "--tier", "enterprise",
            "--valid-from", "2026-01-01", "--valid-until", "2027-12-31", "--tam", "tam.sato"
        )
        #expect(register.status == 0, "\(register.stderr)")
        #expect(try await cluster.supportctl("contact", "add", "--certificate", "C-NY", "--name", "Nancy", "--email", "nancy@globex.example").status == 0)
        let opened = try await cluster.supportctl(
            "incident", "open", "--certificate", "C-NY", "--contact", "nancy@globex.example", "--channel", "phone",
            "--kind", "outbreak", "--severity", "1", "--title", "outbreak in New York"
        )
        #expect(opened.status == 0, "\(opened.stderr)")
        let newYork = String(opened.stdout.split(separator: "\n").first ?? "")
        _ = try await SLAScenarioTests.clock(cluster, newYork)
        let tokyo = try await SLAScenarioTests.open(cluster, severity: 1, channel: "phone")
        _ = try await SLAScenarioTests.clock(cluster, tokyo)

        // Both are due within 30 minutes; 45 minutes on, both breached.
        #expect(try await cluster.supportctl("clock", "advance", "45m").status == 0)
        try await cluster.drained()
        let escalations = { (id: String) async throws -> Int in
            var request = Support_Escalation_V1_GetEscalationsRequest()
            request.incidentID = id
            return try await cluster.client("escalation").call(EscalationRPC.getEscalations, request).records.count
        }
        #expect(try await escalations(tokyo) == 1, "the Tokyo breach escalated although the New York one could not")
        #expect(try await escalations(newYork) == 0)

        let parked = try await cluster.supportctl("events", "parked")
        #expect(parked.status == 0, "\(parked.stderr)")
        #expect(parked.stdout.contains("escalation") && parked.stdout.contains("sla_breached") && parked.stdout.contains(newYork))
        #expect(parked.stdout.contains("new-york has no roster"))
        let metrics = try await cluster.client("escalation").call(AdminRPC.metrics, .init()).text
        #expect(metrics.contains("supportdesk_events_parked 1"))
        let eventID = try #require(
            try await cluster.client("escalation").call(AdminRPC.listParkedEvents, .init()).events.first?.eventID
        )

        // Still failing: refused with the reason, still parked.
        let early = try await cluster.supportctl("events", "retry", eventID)
        #expect(early.status == 1)
        #expect(early.stderr.contains("EVENT_STILL_FAILS") || early.stderr.contains("still cannot be applied"))

        // The fix: a roster for New York (Tokyo's people, for the test).
        let roster = cluster.runtime.file("new-york-roster.json")
        let tokyoRoster = try await cluster.supportctl("roster", "show", "--office", "tokyo", "--json")
        #expect(tokyoRoster.status == 0, "\(tokyoRoster.stderr)")
        var document = try #require(try JSONSerialization.jsonObject(with: Data(tokyoRoster.stdout.utf8)) as? [String: Any])
        document["office"] = "new-york"
        document.removeValue(forKey: "version")
        document.removeValue(forKey: "updatedBy")
        document.removeValue(forKey: "updatedAt")
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: roster))
        let set = try await cluster.supportctl("roster", "set", "--file", roster)
        #expect(set.status == 0, "\(set.stderr)")

        let retried = try await cluster.supportctl("events", "retry", eventID, "--service", "escalation", "--actor", "ops.kim")
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(retried.stdout.contains("applied on escalation"))
        #expect(try await escalations(newYork) == 1, "escalated once the roster exists")
        #expect(try await cluster.supportctl("events", "parked", "--service", "escalation").stdout.contains("no parked events"))
        let log = try String(contentsOfFile: cluster.logPath("escalation"), encoding: .utf8)
        #expect(log.contains("event parked") && log.contains("parked event applied") && log.contains("ops.kim"))
        await cluster.shutdown()
    }
}
