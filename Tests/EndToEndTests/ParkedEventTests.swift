import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// An event a service cannot apply is parked and the stream goes on
/// (DESIGN.md "Trust"; issue 21), and the operator sees it and decides with
/// supportctl. (A breach for an office without staff is no longer one: it
/// is applied and flagged, issue 23, RosterScenarioTests.)
@Suite("Parked events", .serialized)
struct ParkedEventTests {
    @Test("Issue 21: an event dated out of range is parked at notifier and shown by events parked; the Tokyo incident behind it is acknowledged; events retry refuses it while it still fails; events drop removes it, logged with the actor")
    func parkedRetryDrop() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)

        // sla-timer's clock at 1e12 seconds (finding 2), as an event.
        var breach = Support_Events_V1_SLABreached()
        breach.cycle.cycleID = "INC-POISON-1/1"
        breach.cycle.cycleNumber = 1
        breach.cycle.severity = 1
        breach.cycle.clockKind = .wall
        breach.cycle.office = "tokyo"
        breach.cycle.dueAt.seconds = 1_000_000_000_000
        breach.firedAt.seconds = 1_000_000_000_001
        var event = Support_Events_V1_Event()
        event.eventID = UUID().uuidString.lowercased()
        event.incidentID = "INC-POISON-1"
        event.sequence = 1
        event.occurredAt.seconds = 1_000_000_000_001
        event.producer = "sla-timer"
        event.payload = .slaBreached(breach)
        var deliver = Support_Events_V1_DeliverRequest()
        deliver.events = [event]
        let accepted = try await cluster.client("notifier").call(EventSinkRPC.deliver, deliver)
        #expect(accepted.appliedEventIds == [event.eventID], "accepted, so the producer would not resend it for ever")

        // The stream goes on: a real incident behind it is acknowledged.
        let id = try await SLAScenarioTests.open(cluster, severity: 3)
        try await NotifierScenarioTests.settled(cluster) { $0.incidentID == id }
        #expect(try await NotifierScenarioTests.messages(cluster).contains { $0.incidentID == id && $0.state == .sent })

        let parked = try await cluster.supportctl("events", "parked", "--service", "notifier")
        #expect(parked.status == 0, "\(parked.stderr)")
        #expect(parked.stdout.contains(event.eventID) && parked.stdout.contains("out of range"), "\(parked.stdout)")

        let retry = try await cluster.supportctl("events", "retry", event.eventID, "--actor", "ops.kim")
        #expect(retry.status == 1, "a retry of what still fails is refused")
        #expect(retry.stderr.contains("EVENT_STILL_FAILS") || retry.stderr.contains("still cannot be applied"), "\(retry.stderr)")

        let drop = try await cluster.supportctl("events", "drop", event.eventID, "--service", "notifier", "--actor", "ops.kim")
        #expect(drop.status == 0, "\(drop.stderr)")
        #expect(drop.stdout.contains("dropped on notifier"))
        #expect(try await cluster.supportctl("events", "parked", "--service", "notifier").stdout.contains("no parked events"))
        let log = try String(contentsOfFile: cluster.logPath("notifier"), encoding: .utf8)
        #expect(log.contains("event parked") && log.contains("ops.kim"))
        await cluster.shutdown()
    }
}
