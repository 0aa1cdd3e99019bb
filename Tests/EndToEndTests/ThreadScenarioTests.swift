import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Issue 22 on the four real processes, through supportctl: the thread an
/// operator writes and reads, and what a contact is shown of it.
@Suite("Thread scenarios", .serialized)
struct ThreadScenarioTests {
    @Test("Issue 22, R-SLA-1: supportctl writes the thread (note, phone message, phone answer, reply, cc) and shows it in order, notes marked")
    func thread() async throws {
        // Friday 2026-12-04 10:00 JST, business hours.
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        _ = try await cluster.supportctl("contact", "add", "--certificate", "C-1", "--name", "Bob", "--email", "bob@acme.example", "--language", "en")
        let id = try await SLAScenarioTests.open(cluster, severity: 3)
        func run(_ arguments: String...) async throws {
            let result = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/supportctl", arguments + ["--runtime-dir", cluster.runtime.path])
            #expect(result.status == 0, "supportctl \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        try await run("incident", "note", id, "--message", "SECRET: their admin disabled the agent", "--actor", "eng.kato")
        try await run("incident", "request-info", id, "--message", "which build?", "--actor", "eng.kato")
        try await run("incident", "provide-info", id, "--contact", "ann@acme.example", "--via", "phone", "--message", "build 4711", "--actor", "op.suzuki")
        try await run("clock", "advance", "1h")
        try await run("incident", "respond", id, "--via", "phone", "--message", "told Ann to apply hotfix 12", "--actor", "eng.kato")
        try await run("incident", "reply", id, "--via", "email", "--message", "the hotfix is on the portal", "--actor", "eng.kato")
        try await run("incident", "cc", id, "bob@acme.example")

        // R-SLA-1: the answer by phone, once recorded, meets the cycle.
        let met = try await SLAScenarioTests.clock(cluster, id) { $0.history.count == 2 && $0.history[1].state == .met }
        #expect(!met.hasCurrent)

        let show = try await cluster.supportctl("incident", "show", id)
        #expect(show.status == 0, "\(show.stderr)")
        let lines = show.stdout.split(separator: "\n").map(String.init)
        let headings = lines.filter { $0.hasPrefix("  #") }
        #expect(headings.count == 6, "\(show.stdout)")
        let expected = [
            "#1 ", "description from customer by ann@acme.example via portal",
            "#2 ", "[internal] note by eng.kato",
            "#3 ", "info request to customer by eng.kato via portal",
            "#4 ", "customer message from customer by ann@acme.example via phone (entered by op.suzuki)",
            "#5 ", "response to customer by eng.kato via phone",
            "#6 ", "reply to customer by eng.kato via email",
        ]
        for (index, heading) in headings.enumerated() where index < 6 {
            #expect(heading.contains(expected[2 * index]) && heading.hasSuffix(expected[2 * index + 1]), "\(heading)")
        }
        #expect(headings.first?.hasPrefix("  #1  2026-12-04 10:00 JST (01:00Z)  ") == true, "times as the office reads them, beside UTC")
        #expect(lines.contains("      SECRET: their admin disabled the agent"))
        #expect(lines.contains { $0.hasPrefix("cc: Bob <bob@acme.example> (en)") }, "Bob reads English on a Japanese certificate")

        // --json stays the protobuf JSON mapping, times in RFC 3339.
        let json = try await cluster.supportctl("--json", "incident", "show", id)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let thread = try #require(document["thread"] as? [[String: Any]])
        #expect(thread.count == 6)
        #expect(thread.first?["at"] as? String == "2026-12-04T01:00:00Z")

        // A contact is never shown the note, nor who recorded the call.
        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = id
        let seen = try await cluster.client("intake").call(IntakeRPC.getIncident, get, metadata: [Caller.metadataKey: "contact:ann@acme.example"])
        #expect(seen.thread.map(\.number) == [1, 3, 4, 5, 6])
        #expect(seen.thread.allSatisfy { $0.enteredBy.isEmpty })

        // A cc that is not an authorised contact is refused, naming it.
        let refused = try await cluster.supportctl("incident", "cc", id, "bob@acme.example", "eve@elsewhere.example")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("PERMISSION_DENIED") && refused.stderr.contains("eve@elsewhere.example"), "\(refused.stderr)")
        await cluster.shutdown()
    }
}
