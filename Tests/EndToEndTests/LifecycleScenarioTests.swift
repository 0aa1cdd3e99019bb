import Foundation
import GRDB
import SupportProto
import SupportRPC
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Issue 7's end-to-end scenarios 1, 4, 5 and 6 on the four real processes,
/// driven only through supportctl and the RPC client.
@Suite("Lifecycle scenarios", .serialized)
struct LifecycleScenarioTests {
    static func messages(_ cluster: ServiceCluster, incident: String) async throws -> [Support_Notifier_V1_Message] {
        try await NotifierScenarioTests.messages(cluster).filter { $0.incidentID == incident }
    }

    @Test("Scenario 1 (R-SLA-1, R-SLA-5, R-REP-1): a severity-3 incident from open to close; the quarterly report counts its cycles as met")
    func fullLife() async throws {
        // Friday 2026-12-04 10:00 JST, business hours.
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        let id = try await SLAScenarioTests.open(cluster, severity: 3)
        let opened = try await SLAScenarioTests.clock(cluster, id)
        #expect(opened.current.dueAt.date == jst("2026-12-04T16:00:00"), "6 business hours from 10:00")
        let ack = try await cluster.eventually { () -> Support_Notifier_V1_Message? in
            try await Self.messages(cluster, incident: id).first { $0.templateName == "incident-opened" && $0.state == .sent }
        }
        #expect(ack?.recipients.first?.email == "ann@acme.example", "the acknowledgement mail went to the contact")

        // supportctl shows the office's local time beside UTC; --json stays RFC 3339 (issue 22).
        let shown = try await cluster.supportctl("incident", "show", id)
        #expect(shown.stdout.contains("opened 2026-12-04 10:00 JST (01:00Z)"), "\(shown.stdout)")
        let json = try await cluster.supportctl("--json", "incident", "show", id)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["openedAt"] as? String == "2026-12-04T01:00:00Z")

        // The vendor asks for information: the clock stops (R-SLA-5).
        #expect(try await cluster.supportctl("clock", "advance", "1h").status == 0)
        #expect(try await cluster.supportctl("incident", "request-info", id, "--message", "which build?").status == 0)
        let paused = try await SLAScenarioTests.clock(cluster, id) { $0.side == .customer }
        #expect(paused.history.first?.state == .met, "asking for information answered the first cycle in time")
        // Three hours on the customer's side do not count.
        #expect(try await cluster.supportctl("clock", "advance", "3h").status == 0)
        let answer = try await cluster.supportctl("incident", "provide-info", id, "--contact", "ann@acme.example", "--message", "build 4711")
        #expect(answer.status == 0, "\(answer.stderr)")
        let resumed = try await SLAScenarioTests.clock(cluster, id) { $0.history.count == 2 && $0.side == .vendor }
        #expect(resumed.current.dueAt.date == jst("2026-12-07T12:00:00"), "a new cycle of 6 business hours from Friday 14:00")

        // The vendor responds in time, resolves, and the customer closes.
        #expect(try await cluster.supportctl("clock", "advance", "2h").status == 0)
        #expect(try await cluster.supportctl("incident", "respond", id, "--message", "apply hotfix 12").status == 0)
        let met = try await SLAScenarioTests.clock(cluster, id) { $0.history.count == 2 && $0.history[1].state == .met }
        #expect(!met.hasCurrent, "no cycle runs once the vendor has answered")
        #expect(try await cluster.supportctl("incident", "resolve", id, "--message", "the hotfix works").status == 0)
        let close = try await cluster.supportctl("incident", "close", id, "--reason", "resolved", "--contact", "ann@acme.example")
        #expect(close.status == 0, "\(close.stderr)")
        #expect(try await SLAScenarioTests.incident(cluster, id).state == .closed)

        // notifier, which reports, has applied every event: no breach is missing from the count.
        try await cluster.drained()
        let report = try await cluster.supportctl("--json", "report", "quarterly", "--certificate", "C-1", "--quarter", "2026Q4", "--no-send")
        #expect(report.status == 0, "\(report.stderr)")
        let quarterly = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        #expect(quarterly["incidentCount"] as? Int == 1)
        #expect(quarterly["cyclesMet"] as? Int == 2)
        #expect((quarterly["cyclesBreached"] as? Int ?? 0) == 0)
        await cluster.shutdown()
    }

    @Test("Scenario 4 (R-SLA-6): a month on the customer's side closes the incident as customer-timeout, with the warning and the closure mail")
    func customerTimeout() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        let id = try await SLAScenarioTests.open(cluster, severity: 4)
        _ = try await SLAScenarioTests.clock(cluster, id)
        #expect(try await cluster.supportctl("incident", "request-info", id, "--message", "which version?").status == 0)
        _ = try await SLAScenarioTests.clock(cluster, id) { $0.hasCustomerTimeoutAt }
        #expect(try await cluster.supportctl("clock", "advance", "32d").status == 0)
        let closed = try await cluster.eventually {
            let incident = try await SLAScenarioTests.incident(cluster, id)
            return incident.state == .closed ? incident : nil
        }
        #expect(closed?.closureReason.kind == .customerTimeout)
        let mails = try await cluster.eventually { () -> [Support_Notifier_V1_Message]? in
            let messages = try await Self.messages(cluster, incident: id).filter { $0.state == .sent }
            let templates = Set(messages.map(\.templateName))
            return templates.isSuperset(of: ["customer-timeout-warning", "article-closure"]) ? messages : nil
        }
        let sent = try #require(mails, "the customer was not told of the coming and the done closure")
        // Every event applied, notifier has made every message it will: one closure mail.
        try await cluster.drained()
        // The closure article's mail (issue 22), not a second one for Closed.
        #expect(try await Self.messages(cluster, incident: id).filter { $0.templateName == "article-closure" }.count == 1)
        #expect(sent.filter { $0.templateName == "customer-timeout-warning" }.allSatisfy { $0.recipients.first?.email == "ann@acme.example" })
        await cluster.shutdown()
    }

    @Test("Scenario 6 (R-ORG-2): the ninth contact is refused; a removed contact can no longer open incidents")
    func contacts() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await cluster.start("intake")
        try await SLAScenarioTests.register(cluster)
        for number in 2...8 {
            let add = try await cluster.supportctl("contact", "add", "--certificate", "C-1", "--name", "C\(number)", "--email", "c\(number)@acme.example")
            #expect(add.status == 0, "\(add.stderr)")
        }
        let ninth = try await cluster.supportctl("contact", "add", "--certificate", "C-1", "--name", "Nine", "--email", "nine@acme.example")
        #expect(ninth.status == 1)
        #expect(ninth.stderr.contains("8"), "the refusal names the limit: \(ninth.stderr)")

        let removed = try await cluster.supportctl("contact", "remove", "--certificate", "C-1", "--email", "c8@acme.example")
        #expect(removed.status == 0, "\(removed.stderr)")
        let open = try await cluster.supportctl(
            "incident", "open", "--certificate", "C-1", "--contact", "c8@acme.example", "--channel", "portal",
            "--kind", "product", "--severity", "3", "--title", "after removal"
        )
        #expect(open.status == 1)
        #expect(open.stderr.contains("PERMISSION_DENIED"), "\(open.stderr)")
        // The freed place can be taken again.
        #expect(try await cluster.supportctl("contact", "add", "--certificate", "C-1", "--name", "Nine", "--email", "nine@acme.example").status == 0)
        await cluster.shutdown()
    }

    /// Opens incidents one after another until told to stop; counts refusals.
    final class Stream: Sendable {
        let opened = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        let stop = Mutex(false)

        func run(_ client: RPCClient, count: Int) async {
            for number in 0..<count where !self.stop.withLock({ $0 }) {
                var request = Support_Intake_V1_OpenIncidentRequest()
                request.certificateID = "C-1"
                request.contactEmail = "ann@acme.example"
                request.channel = .phone
                request.kind = .outbreak
                request.severity = 1
                request.title = "stream \(number)"
                do {
                    let incident = try await client.call(IntakeRPC.openIncident, request, timeout: .seconds(20))
                    self.opened.withLock { $0.append(incident.id) }
                } catch {
                    self.failures.withLock { $0.append("\(error)") }
                }
                try? await Task.sleep(for: .milliseconds(25))
            }
        }
    }

    @Test("Scenario 5: with incidents streaming in, notifier, escalation and sla-timer are each stopped (SIGTERM and SIGKILL) and restarted; intake accepts throughout and nothing is lost or doubled")
    func restartUnderLoad() async throws {
        // Saturday 03:00 JST: severity 1 by phone is due in 30 minutes (R-SLA-3).
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T03:00:00+09:00")
        try await SLAScenarioTests.setUp(cluster)
        let stream = Stream()
        let producer = Task { await stream.run(cluster.client("intake"), count: 400) }

        // Each restart happens under load: intake has accepted more
        // incidents before the stop, and more while the service is down.
        let accepted = { stream.opened.withLock { $0.count } }
        for (service, signal) in [("notifier", SIGTERM), ("escalation", SIGKILL), ("sla-timer", SIGTERM), ("notifier", SIGKILL), ("sla-timer", SIGKILL)] {
            let before = accepted()
            try await eventually("intake accepted incidents before \(service) stops") { accepted() >= before + 3 }
            let status = await cluster.stop(service, signal: signal)
            #expect(signal == SIGTERM ? status == 0 : status == SIGKILL, "\(service) stopped by signal \(signal): \(status)")
            let down = accepted()
            try await eventually("intake accepted incidents while \(service) was down") { accepted() >= down + 3 }
            try await cluster.start(service)
        }
        stream.stop.withLock { $0 = true }
        await producer.value
        let incidents = stream.opened.withLock { $0 }
        #expect(stream.failures.withLock { $0 }.isEmpty, "intake refused while another service restarted: \(stream.failures.withLock { $0 })")
        #expect(incidents.count >= 20, "the stream spanned the restarts (\(incidents.count) incidents)")

        // Every incident has its clock.
        for id in incidents { _ = try await SLAScenarioTests.clock(cluster, id) }
        // Every one breaches once and escalates once (R-ESC-3).
        #expect(try await cluster.supportctl("clock", "advance", "31m").status == 0)
        for id in incidents {
            _ = try #require(try await EscalationScenarioTests.escalations(cluster, id, count: 1), "\(id) never escalated")
        }
        // Every outbox drains; then each incident has escalated exactly once
        // and every event's messages exist exactly once.
        try await cluster.drained()
        for id in incidents {
            let escalations = try #require(try await EscalationScenarioTests.escalations(cluster, id, count: 1), "\(id) never escalated")
            #expect(escalations.records.count == 1, "\(id) escalated \(escalations.records.count) times")
        }
        let rows = try Self.messageKeys(cluster)
        #expect(Set(rows.map(\.key)).count == rows.count, "a message was created twice for one event, template, recipient and transport")
        for id in incidents {
            let perTemplate = Dictionary(grouping: rows.filter { $0.incident == id }, by: \.template).mapValues(\.count)
            #expect(perTemplate["incident-opened"] == 1, "\(id): \(perTemplate)")
            #expect(perTemplate["sla-breached"] ?? 0 >= 1, "\(id) has no breach alert: \(perTemplate)")
            #expect(perTemplate["escalated"] ?? 0 >= 1, "\(id) has no escalation notice: \(perTemplate)")
        }
        for id in incidents {
            #expect(try SLAScenarioTests.breachEvents(cluster, incident: id).count == 1, "\(id): one SLABreached")
        }
        await cluster.shutdown()
    }

    /// (incident, template, event|template|recipient|transport) of every message in notifier's database.
    static func messageKeys(_ cluster: ServiceCluster) throws -> [(incident: String, template: String, key: String)] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: cluster.runtime.file("notifier.sqlite"), configuration: configuration)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT incident_id, template, dedup_key FROM message").map { ($0[0], $0[1], $0[2]) }
        }
    }
}
