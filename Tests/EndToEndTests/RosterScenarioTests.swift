import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// One roster, owned by escalation, reaching notifier's alerts; missing
/// staff flagged, never blocking a stream (issue 23, R-ORG-4, R-ESC-3).
@Suite("Roster scenario", .serialized)
struct RosterScenarioTests {
    static func records(_ cluster: ServiceCluster, _ id: String) async throws -> Support_Escalation_V1_GetEscalationsResponse {
        var request = Support_Escalation_V1_GetEscalationsRequest()
        request.incidentID = id
        return try await cluster.client("escalation").call(EscalationRPC.getEscalations, request)
    }

    @Test("R-ORG-4: after `supportctl roster set` puts another duty manager on duty, the next breach alert goes to the new duty manager")
    func rosterChangeReachesNextBreachAlert() async throws {
        // Saturday 03:00 in Tokyo: the TAM is away, the duty manager on shift takes the TAM's part.
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T03:00:00+09:00")
        try await SLAScenarioTests.setUp(cluster)

        let shown = try await cluster.supportctl("roster", "show", "--office", "tokyo", "--json")
        #expect(shown.status == 0, "\(shown.stderr)")
        var document = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        for key in ["version", "updatedBy", "updatedAt"] { document.removeValue(forKey: key) }
        let weekdays = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
        document["dutyManagers"] = [[
            "person": ["id": "duty.mori", "name": "Mori Aoi", "email": "duty.mori@vendor.example", "phone": "+81-3-0000-0203"],
            "shifts": weekdays.map { ["weekday": "WEEKDAY_\($0)", "startMinute": 0, "endMinute": 1440] },
        ]]
        let file = cluster.runtime.file("tokyo-roster.json")
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: file))
        let set = try await cluster.supportctl("roster", "set", "--file", file, "--actor", "ops.kim")
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.contains("version 2") && set.stdout.contains("Mori Aoi"))
        // escalation's RosterChanged reaches notifier through the relay.
        try await cluster.drained()

        let outbreak = try await SLAScenarioTests.open(cluster, severity: 1, channel: "phone")
        _ = try await SLAScenarioTests.clock(cluster, outbreak)
        #expect(try await cluster.supportctl("clock", "advance", "45m").status == 0)
        let alerts = try #require(try await cluster.eventually("the breach alert reaches the Maildir") {
            let mail = NotifierScenarioTests.maildir(cluster).filter {
                $0.headers["X-SupportDesk-Incident"] == outbreak && $0.headers["Subject"]?.uppercased().contains("BREACHED") == true
            }
            return mail.isEmpty ? nil : mail
        })
        let to = alerts.compactMap { $0.headers["To"] }
        #expect(to.contains { $0.contains("duty.mori@vendor.example") }, "the new duty manager gets the breach alert: \(to)")
        #expect(!to.contains { $0.contains("duty.ito@vendor.example") }, "the duty manager taken off duty gets nothing: \(to)")
        // escalation names the same person: one roster.
        let record = try #require(try await EscalationScenarioTests.escalations(cluster, outbreak, count: 1)?.records.first)
        #expect(record.tamContact.id == "duty.mori" && record.rosterVersion == 2)
        await cluster.shutdown()
    }

    @Test("issue 23, R-ESC-3: a New York breach with no roster beside a Tokyo breach: Tokyo escalates, New York is flagged and alerted, nothing waits, nothing parked")
    func missingRosterNeverBlocks() async throws {
        // deploy/config with a fallback roster that names nobody but its
        // duty address: New York has no staff at all.
        let config = try TemporaryDirectory(prefix: "sdr")
        defer { config.remove() }
        let directory = URL(fileURLWithPath: config.file("config"))
        try FileManager.default.copyItem(at: URL(fileURLWithPath: InProcessService.configDirectory), to: directory)
        let rosterURL = directory.appendingPathComponent("roster.json")
        var roster = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: rosterURL)) as? [String: Any])
        roster["fallback"] = ["fallbackDuty": ["id": "duty.desk", "name": "MSA duty desk", "email": "duty.desk@vendor.example"]]
        try JSONSerialization.data(withJSONObject: roster).write(to: rosterURL)

        // Saturday 03:00 in Tokyo is Friday 13:00 in New York.
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T03:00:00+09:00", configDirectory: directory.path)
        try await SLAScenarioTests.setUp(cluster)
        let register = try await cluster.supportctl(
            "certificate", "register", "--id", "C-NY", "--customer", "Globex", "--office", "new-york", "--tier", "enterprise",
            "--valid-from", "2026-01-01", "--valid-until", "2027-12-31", "--tam", "tam.smith"
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
        // Nothing waits: every outbox drains.
        try await cluster.drained()

        let tokyoRecords = try await Self.records(cluster, tokyo).records
        #expect(tokyoRecords.count == 1 && tokyoRecords.first?.levelOwner.id == "lead.tanaka", "the Tokyo breach escalated")
        #expect(tokyoRecords.first?.unstaffedReason.isEmpty == true)
        let newYorkRecords = try await Self.records(cluster, newYork)
        let flagged = try #require(newYorkRecords.records.first, "the New York breach escalated too")
        #expect(newYorkRecords.records.count == 1 && flagged.toLevel == .supportLead && !flagged.hasResponsible)
        #expect(flagged.unstaffedReason.contains("new-york"), "\(flagged.unstaffedReason)")
        #expect(newYorkRecords.status.currentLevel == .supportLead)

        let show = try await cluster.supportctl("escalation", "show", newYork)
        #expect(show.status == 0 && show.stdout.contains("NOT FULLY STAFFED"), "\(show.stdout)")
        for service in ServiceCluster.services {
            let parked = try await cluster.client(service).call(AdminRPC.listParkedEvents, .init()).events
            #expect(parked.isEmpty, "\(service) parked \(parked.map { "\($0.kind) \($0.incidentID): \($0.reason)" })")
        }
        let metrics = try await cluster.client("escalation").call(AdminRPC.metrics, .init()).text
        #expect(metrics.contains("supportdesk_escalation_unstaffed_total 1"), "\(metrics.split(separator: "\n").filter { $0.contains("unstaffed") })")

        // The fallback duty address is mailed why.
        let alert = try await cluster.eventually("the fallback duty address is alerted") {
            NotifierScenarioTests.maildir(cluster).first {
                $0.headers["X-SupportDesk-Incident"] == newYork && $0.headers["To"]?.contains("duty.desk@vendor.example") == true
                    && $0.headers["Subject"]?.uppercased().contains("ESCALATED") == true
            }
        }
        #expect(try #require(alert).body.contains("NOT FULLY STAFFED"))
        let log = try String(contentsOfFile: cluster.logPath("escalation"), encoding: .utf8)
        #expect(log.contains("escalated without full staff"))
        await cluster.shutdown()
    }
}
