import Foundation
import GRDB
import SupportProto
import SupportRPC
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

func jst(_ text: String) -> Date { ISO8601DateFormatter().date(from: text + "+09:00")! }

/// The sla-timer scenario on the four running services, on a fake clock
/// that starts Friday 2026-12-04 17:00 in Tokyo.
@Suite("SLA scenario", .serialized)
struct SLAScenarioTests {
    static func setUp(_ cluster: ServiceCluster) async throws {
        try await cluster.startAll()
        try await Self.register(cluster)
    }

    /// Certificate C-1 (Tokyo, enterprise) with the contact Ann.
    static func register(_ cluster: ServiceCluster) async throws {
        let register = try await cluster.supportctl(
            "certificate", "register", "--id", "C-1", "--customer", "Acme", "--office", "tokyo", "--tier", "enterprise",
            "--valid-from", "2026-01-01", "--valid-until", "2027-12-31", "--tam", "tam.sato"
        )
        #expect(register.status == 0, "\(register.stderr)")
        _ = try await cluster.supportctl("contact", "add", "--certificate", "C-1", "--name", "Ann", "--email", "ann@acme.example")
    }

    static func open(_ cluster: ServiceCluster, severity: Int, channel: String = "portal") async throws -> String {
        let result = try await cluster.supportctl(
            "incident", "open", "--certificate", "C-1", "--contact", "ann@acme.example", "--channel", channel,
            "--kind", "product", "--severity", "\(severity)", "--title", "severity \(severity) by \(channel)"
        )
        #expect(result.status == 0, "\(result.stderr)")
        return String(result.stdout.split(separator: "\n").first ?? "")
    }

    /// The incident's SLA clock once sla-timer has a cycle matching `ready`.
    static func clock(
        _ cluster: ServiceCluster, _ id: String, until ready: @escaping (Support_Sla_V1_GetClockResponse) -> Bool = { !$0.history.isEmpty }
    ) async throws -> Support_Sla_V1_GetClockResponse {
        var request = Support_Sla_V1_GetClockRequest()
        request.incidentID = id
        let clock = try await cluster.eventually("sla-timer shows the expected clock for \(id)") {
            let clock = try await cluster.client("sla-timer").call(SLATimerRPC.getClock, request)
            return ready(clock) ? clock : nil
        }
        return try #require(clock, "sla-timer never showed the expected clock for \(id)")
    }

    static func incident(_ cluster: ServiceCluster, _ id: String) async throws -> Support_Intake_V1_Incident {
        var request = Support_Intake_V1_GetIncidentRequest()
        request.incidentID = id
        return try await cluster.client("intake").call(IntakeRPC.getIncident, request)
    }

    static func breachEvents(_ cluster: ServiceCluster, incident: String) throws -> [Support_Events_V1_Event] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: cluster.runtime.file("sla-timer.sqlite"), configuration: configuration)
        return try queue.read { db in
            try Data.fetchAll(db, sql: "SELECT payload FROM outbox_event WHERE stream = ? ORDER BY position", arguments: [incident])
        }.map { try Support_Events_V1_Event(serializedBytes: $0) }.filter {
            if case .slaBreached = $0.payload { return true }
            return false
        }
    }

    @Test("R-SLA-2, R-SLA-3, R-SLA-5, R-SLA-6: due times, portal vs phone at night, one breach, the customer timeout")
    func scenario() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T08:00:00Z")
        try await Self.setUp(cluster)

        // Friday 17:00: severity 3 is due Monday 15:00, severity 4 Monday 17:00.
        let medium = try await Self.open(cluster, severity: 3)
        let low = try await Self.open(cluster, severity: 4)
        #expect(try await Self.clock(cluster, medium).current.dueAt.date == jst("2026-12-07T15:00:00"))
        #expect(try await Self.clock(cluster, low).current.dueAt.date == jst("2026-12-07T17:00:00"))

        // Saturday 03:00: severity 1 by portal waits for Monday's opening; by phone it is due at 03:30.
        #expect(try await cluster.supportctl("clock", "set", "2026-12-05T03:00:00+09:00").status == 0)
        let portal = try await Self.open(cluster, severity: 1, channel: "portal")
        let phone = try await Self.open(cluster, severity: 1, channel: "phone")
        #expect(try await Self.incident(cluster, portal).phoneAdvised)
        #expect(try await Self.clock(cluster, portal).current.dueAt.date == jst("2026-12-07T10:30:00"))
        #expect(try await Self.clock(cluster, phone).current.dueAt.date == jst("2026-12-05T03:30:00"))

        // The medium incident goes to the customer's side until Monday 10:00.
        #expect(try await cluster.supportctl("incident", "request-info", medium, "--message", "send the crash dump").status == 0)
        _ = try await Self.clock(cluster, medium) { $0.side == .customer }

        // Past 03:30: exactly one breach for the phone incident, none for the portal one.
        #expect(try await cluster.supportctl("clock", "advance", "1h").status == 0)
        #expect(try await Self.clock(cluster, phone).current.state == .breached)
        #expect(try Self.breachEvents(cluster, incident: phone).count == 1)
        #expect(try await Self.clock(cluster, portal).current.state == .running)

        // Monday 10:00: the customer answers; the new cycle runs 6 business hours from then.
        #expect(try await cluster.supportctl("clock", "set", "2026-12-07T10:00:00+09:00").status == 0)
        #expect(try await cluster.supportctl("incident", "provide-info", medium, "--contact", "ann@acme.example", "--message", "attached").status == 0)
        let resumed = try await Self.clock(cluster, medium) { $0.history.count == 2 }
        #expect(resumed.current.dueAt.date == jst("2026-12-07T16:00:00"), "the weekend on the customer's side did not count")
        #expect(resumed.history[0].state == .met)
        #expect(try Self.breachEvents(cluster, incident: phone).count == 1, "moving the clock again breaches nothing twice")

        // One month on the customer's side closes the low incident as customer-timeout.
        #expect(try await cluster.supportctl("incident", "request-info", low, "--message", "which version?").status == 0)
        _ = try await Self.clock(cluster, low) { $0.hasCustomerTimeoutAt }
        #expect(try await cluster.supportctl("clock", "advance", "32d").status == 0)
        let closed = try await cluster.eventually {
            let incident = try await Self.incident(cluster, low)
            return incident.state == .closed ? incident : nil
        }
        #expect(closed?.closureReason.kind == .customerTimeout)

        // Friday 2027-01-08 16:00: the weekend and Coming-of-Age Day do not count.
        #expect(try await cluster.supportctl("clock", "set", "2027-01-08T16:00:00+09:00").status == 0)
        let holiday = try await Self.open(cluster, severity: 3)
        #expect(try await Self.clock(cluster, holiday).current.dueAt.date == jst("2027-01-12T14:00:00"))

        let show = try await cluster.supportctl("sla", "show", phone)
        #expect(show.stdout.contains("breached"))
        await cluster.shutdown()
    }

    @Test("sla-timer killed and restarted with a later clock fires every missed timer exactly once, in due order")
    func restartCatchUp() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T03:00:00+09:00")
        try await Self.setUp(cluster)
        var incidents: [String] = []
        for minutes in [0, 10, 20] {
            if minutes > 0 { #expect(try await cluster.supportctl("clock", "advance", "10m").status == 0) }
            incidents.append(try await Self.open(cluster, severity: 1, channel: "phone"))
        }
        for id in incidents { _ = try await Self.clock(cluster, id) }
        await cluster.stop("sla-timer", signal: SIGKILL)

        // Down through every due time (03:30, 03:40, 03:50): restart an hour later.
        try await cluster.start("sla-timer", fakeClock: "2026-12-05T05:00:00+09:00")
        var order: [(Date, Date)] = []
        for id in incidents {
            let clock = try await Self.clock(cluster, id) { $0.current.state == .breached }
            #expect(try Self.breachEvents(cluster, incident: id).count == 1)
            let breach = try #require(clock.timers.first { $0.kind == .breach })
            order.append((breach.dueAt.date, breach.firedAt.date))
        }
        #expect(order.map(\.0) == [jst("2026-12-05T03:30:00"), jst("2026-12-05T03:40:00"), jst("2026-12-05T03:50:00")])
        // Every event sla-timer published, breaches in due order.
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: cluster.runtime.file("sla-timer.sqlite"), configuration: configuration)
        let breachedInOrder = try await queue.read { db in
            try Data.fetchAll(db, sql: "SELECT payload FROM outbox_event ORDER BY position")
        }.map { try Support_Events_V1_Event(serializedBytes: $0) }.compactMap { event -> String? in
            if case .slaBreached = event.payload { return event.incidentID }
            return nil
        }
        #expect(breachedInOrder == incidents)

        // Restarting again fires nothing twice. Once every event redelivered
        // to it is applied (every outbox drained), a move of sla-timer's
        // clock by nothing fires, before it returns, every armed timer that
        // is due (the same pass as at start): what a restart wrongly armed
        // again would have fired by then.
        await cluster.stop("sla-timer", signal: SIGKILL)
        try await cluster.start("sla-timer", fakeClock: "2026-12-05T06:00:00+09:00")
        try await cluster.drained()
        _ = try await cluster.client("sla-timer").call(ClockRPC.advance, .init(), timeout: .seconds(60))
        for id in incidents { #expect(try Self.breachEvents(cluster, incident: id).count == 1) }
        await cluster.shutdown()
    }
}
