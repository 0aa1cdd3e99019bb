import Foundation
import GRDB
import SupportProto
import SupportRPC
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// escalation on the four running services with a fake clock.
@Suite("Escalation scenario", .serialized)
struct EscalationScenarioTests {
    static func escalations(_ cluster: ServiceCluster, _ id: String, count: Int) async throws -> Support_Escalation_V1_GetEscalationsResponse? {
        var request = Support_Escalation_V1_GetEscalationsRequest()
        request.incidentID = id
        return try await cluster.eventually("escalation has \(count) escalation(s) of \(id)") {
            let response = try await cluster.client("escalation").call(EscalationRPC.getEscalations, request)
            return response.records.count >= count ? response : nil
        }
    }

    @Test("R-ESC-1..3, R-ORG-4: customer escalation, refusal on the customer's side, one automatic escalation at 03:30 Saturday to the duty manager, the ceiling")
    func scenario() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T03:00:00+09:00")
        try await SLAScenarioTests.setUp(cluster)

        // Saturday 03:00, severity 1 by phone: due 03:30.
        let outbreak = try await SLAScenarioTests.open(cluster, severity: 1, channel: "phone")
        let waiting = try await SLAScenarioTests.open(cluster, severity: 2, channel: "phone")
        _ = try await SLAScenarioTests.clock(cluster, outbreak)
        #expect(try await cluster.supportctl("incident", "request-info", waiting, "--message", "which hosts?").status == 0)
        _ = try await SLAScenarioTests.clock(cluster, waiting) { $0.side == .customer }

        // While it waits for the customer, the customer's escalation is refused with the reason.
        // escalation learns of the request for information from intake's
        // event: once every outbox drained, it has applied it.
        try await cluster.drained()
        let refused = try await cluster.supportctl("incident", "escalate", waiting, "--contact", "ann@acme.example", "--reason", "urgent")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("FAILED_PRECONDITION"))
        #expect(refused.stderr.contains("waiting for your information; provide it first"))

        // Past 03:30 the outbreak breaches and escalates once, to the support lead; the TAM's part goes to the duty manager.
        #expect(try await cluster.supportctl("clock", "advance", "45m").status == 0)
        let breached = try #require(try await Self.escalations(cluster, outbreak, count: 1))
        #expect(breached.records.count == 1)
        let record = try #require(breached.records.first)
        #expect(record.trigger == .slaBreach && record.toLevel == .supportLead)
        #expect(record.levelOwner.id == "lead.tanaka")
        #expect(record.dutyManagerReplacedTam && record.tamContact.id == "duty.ito")
        let show = try await cluster.supportctl("escalation", "show", outbreak)
        #expect(show.stdout.contains("Tanaka Ken") && show.stdout.contains("Ito Daichi"), "escalation show names the level owner and the duty manager")
        #expect(show.stdout.contains("sla-breach"))

        // Moving the clock again escalates nothing more: the timers that
        // came due fired before the move returned, and once every outbox
        // drained escalation has applied whatever they caused.
        #expect(try await cluster.supportctl("clock", "advance", "2h").status == 0)
        try await cluster.drained()
        #expect(try await Self.escalations(cluster, outbreak, count: 1)?.records.count == 1)

        // The customer escalates the vendor-side incident to level 3; then the ceiling.
        let up = try await cluster.supportctl("incident", "escalate", outbreak, "--contact", "ann@acme.example", "--reason", "no progress")
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout.contains("2 → 3"))
        let ceiling = try await cluster.supportctl("incident", "escalate", outbreak, "--contact", "ann@acme.example", "--reason", "more")
        #expect(ceiling.status == 1 && ceiling.stderr.contains("level 3"))

        // The Maildir has the breach alert for the duty manager and the
        // escalation notices for the support lead and the account manager.
        let mail = try #require(try await cluster.eventually {
            let mail = NotifierScenarioTests.maildir(cluster).filter { $0.headers["Subject"]?.contains(outbreak) == true }
            let escalations = mail.filter { $0.headers["Subject"]?.uppercased().contains("ESCALATED") == true }
            return escalations.count >= 4 ? mail : nil
        })
        let to = { (word: String) in mail.filter { $0.headers["Subject"]?.uppercased().contains(word) == true }.compactMap { $0.headers["To"] } }
        #expect(to("BREACHED").contains { $0.contains("duty.ito@vendor.example") }, "R-ORG-4: the duty manager gets the TAM's breach alert")
        // Drained, notifier has made every message it will make for these
        // events, sent or not yet: none of them is the TAM's breach alert.
        try await cluster.drained()
        let breachAlerts = try await LifecycleScenarioTests.messages(cluster, incident: outbreak).filter { $0.templateName == "sla-breached" }
        #expect(!breachAlerts.isEmpty)
        #expect(!breachAlerts.contains { $0.recipients.contains { $0.email == "tam.sato@vendor.example" } }, "not the TAM, out of hours")
        #expect(!to("BREACHED").contains { $0.contains("tam.sato@vendor.example") }, "not the TAM, out of hours")
        #expect(to("ESCALATED").contains { $0.contains("lead.tanaka@vendor.example") })
        #expect(to("ESCALATED").contains { $0.contains("bam.suzuki@vendor.example") })

        // R-REP-1: the quarterly report counts the breached cycle.
        let report = try await cluster.supportctl("--json", "report", "quarterly", "--certificate", "C-1", "--quarter", "2026Q4", "--no-send")
        #expect(report.status == 0, "\(report.stderr)")
        let document = try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any]
        #expect(document?["incidentCount"] as? Int == 2)
        #expect(document?["cyclesBreached"] as? Int == 1)
        await cluster.shutdown()
    }

    @Test("R-SLA-1, R-ESC-3: an answer given in time while sla-timer was down reaches it after the breach fired; the breach and its escalation are withdrawn")
    func answerInTimeArrivesAfterBreach() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T03:00:00+09:00")
        try await SLAScenarioTests.setUp(cluster)
        // Saturday 03:00, severity 1 by phone: due 03:30.
        let id = try await SLAScenarioTests.open(cluster, severity: 1, channel: "phone")
        _ = try await SLAScenarioTests.clock(cluster, id)
        // sla-timer is down; the vendor answers at 03:00, in time; intake
        // stops before it could hand the answer to sla-timer.
        await cluster.stop("sla-timer", signal: SIGKILL)
        #expect(try await cluster.supportctl("incident", "respond", id, "--message", "isolate the hosts").status == 0)
        #expect(await cluster.stop("intake") == 0)

        // sla-timer is back at 04:00 and fires the breach it missed.
        try await cluster.start("sla-timer", fakeClock: "2026-12-05T04:00:00+09:00")
        _ = try await SLAScenarioTests.clock(cluster, id) { $0.current.state == .breached }
        let raised = try #require(try await Self.escalations(cluster, id, count: 1))
        #expect(raised.records.map(\.trigger) == [.slaBreach])

        // intake is back and delivers the answer, recorded before due.
        try await cluster.start("intake")
        let clock = try await SLAScenarioTests.clock(cluster, id) { $0.history.first?.state == .met }
        #expect(clock.history.first?.events.last?.kind == .breachWithdrawn)
        let undone = try #require(try await Self.escalations(cluster, id, count: 2))
        #expect(undone.records.map(\.trigger) == [.slaBreach, .slaBreachWithdrawn])
        #expect(undone.records.last?.toLevel == .tam)
        // The duty manager, who had the breach alert, hears it is withdrawn.
        let withdrawn = try #require(try await cluster.eventually {
            let mail = NotifierScenarioTests.maildir(cluster).filter {
                $0.headers["Subject"]?.contains(id) == true && $0.headers["Subject"]?.contains("withdrawn") == true
            }
            // Wait for the duty manager's own: the support lead's may land first.
            return mail.contains { $0.headers["To"]?.contains("duty.ito@vendor.example") == true } ? mail : nil
        })
        #expect(withdrawn.contains { $0.headers["To"]?.contains("duty.ito@vendor.example") == true })

        // R-REP-1: the quarter counts the cycle as met, and not as breached
        // once notifier has applied every event there is.
        try await cluster.drained()
        let report = try await cluster.supportctl("--json", "report", "quarterly", "--certificate", "C-1", "--quarter", "2026Q4", "--no-send")
        let document = try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any]
        #expect(document?["cyclesMet"] as? Int == 1)
        #expect((document?["cyclesBreached"] as? Int ?? 0) == 0)
        await cluster.shutdown()
    }

    @Test("escalation SIGKILLed while breaches are delivered loses none and doubles none")
    func killDuringBreaches() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T03:00:00+09:00")
        try await SLAScenarioTests.setUp(cluster)
        var incidents: [String] = []
        for _ in 0..<6 { incidents.append(try await SLAScenarioTests.open(cluster, severity: 1, channel: "phone")) }
        for id in incidents { _ = try await SLAScenarioTests.clock(cluster, id) }
        // Breach them all, and kill escalation while the breaches arrive:
        // once sla-timer's clock has moved, its timers fire (before its
        // Clock/Advance returns) and its relay sends the breaches on.
        let advance = Task { try await cluster.supportctl("clock", "advance", "31m") }
        let breachTime = jst("2026-12-05T03:31:00")
        try await eventually("sla-timer's clock moved past the due times") {
            try await cluster.client("sla-timer").call(ClockRPC.get, .init()).now.date >= breachTime
        }
        await cluster.stop("escalation", signal: SIGKILL)
        _ = try await advance.value
        try await cluster.start("escalation")
        for id in incidents {
            let response = try #require(try await Self.escalations(cluster, id, count: 1), "\(id) was escalated")
            #expect(response.records.count == 1, "\(id) escalated exactly once")
        }
        // Every breach delivered (a redelivery after the kill included):
        // still one escalation each.
        try await cluster.drained()
        for id in incidents { #expect(try await Self.escalations(cluster, id, count: 1)?.records.count == 1) }
        await cluster.shutdown()
    }
}
