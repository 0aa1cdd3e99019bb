import Foundation
import GRDB
import SupportProto
import SupportRPC
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Nothing acknowledged is lost: intake killed right after answering, and a
/// subscriber that was down when the event was written.
@Suite("intake durability", .serialized)
struct IntakeDurabilityTests {
    @Test("SIGKILL right after an acknowledged open: the incident and its event survive, and a subscriber that was down gets it exactly once")
    func killAfterOpen() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await cluster.start("intake")
        let register = try await cluster.supportctl(
            "certificate", "register", "--id", "C-1", "--customer", "Acme", "--office", "tokyo", "--tier", "enterprise",
            "--valid-from", "2026-01-01", "--valid-until", "2027-12-31", "--tam", "tam.sato"
        )
        #expect(register.status == 0, "\(register.stderr)")
        let add = try await cluster.supportctl("contact", "add", "--certificate", "C-1", "--name", "Ann", "--email", "ann@acme.example")
        #expect(add.status == 0, "\(add.stderr)")

        // sla-timer is down: the events wait in intake's outbox.
        var open = Support_Intake_V1_OpenIncidentRequest()
        open.certificateID = "C-1"
        open.contactEmail = "ann@acme.example"
        open.channel = .portal
        open.kind = .outbreak
        open.severity = 1
        open.title = "outbreak on the LAN"
        let incident = try await cluster.client("intake").call(IntakeRPC.openIncident, open)
        let killed = await cluster.stop("intake", signal: SIGKILL)
        #expect(killed == SIGKILL)

        try await cluster.start("intake")
        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = incident.id
        let survived = try await cluster.client("intake").call(IntakeRPC.getIncident, get)
        #expect(survived.id == incident.id)
        #expect(survived.severity == 1)

        // Kill intake once more while it delivers, then start the subscriber.
        try await cluster.start("sla-timer")
        let expected = try Self.outboxEventIDs(cluster)
        #expect(expected.count == 3, "CertificateChanged, ContactsChanged, IncidentOpened")
        await cluster.stop("intake", signal: SIGKILL)
        try await cluster.start("intake")

        let received = try await Self.waitForInbox(cluster, service: "sla-timer", count: expected.count)
        #expect(received.sorted() == expected.sorted(), "every event arrived, none twice")
        // Give a redelivery the chance to happen; the inbox still has each once.
        try await Task.sleep(for: .milliseconds(500))
        #expect(try Self.inboxEventIDs(cluster, service: "sla-timer").count == expected.count)
        await cluster.shutdown()
    }

    static func outboxEventIDs(_ cluster: ServiceCluster) throws -> [String] {
        let queue = try DatabaseQueue(path: cluster.runtime.file("intake.sqlite"), configuration: Self.readOnly)
        return try queue.read { db in try String.fetchAll(db, sql: "SELECT event_id FROM outbox_event ORDER BY position") }
    }

    static func inboxEventIDs(_ cluster: ServiceCluster, service: String) throws -> [String] {
        let queue = try DatabaseQueue(path: cluster.runtime.file("\(service).sqlite"), configuration: Self.readOnly)
        return try queue.read { db in try String.fetchAll(db, sql: "SELECT event_id FROM inbox_event") }
    }

    static func waitForInbox(_ cluster: ServiceCluster, service: String, count: Int) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let ids = try Self.inboxEventIDs(cluster, service: service)
            if ids.count >= count { return ids }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try Self.inboxEventIDs(cluster, service: service)
    }

    static var readOnly: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        return configuration
    }
}
