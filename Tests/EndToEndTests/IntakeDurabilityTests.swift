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
        #expect(expected.count == 4, "CertificateChanged, ContactsChanged, IncidentOpened, its description's ArticleAdded")
        await cluster.stop("intake", signal: SIGKILL)
        try await cluster.start("intake")

        let received = try await Self.waitForInbox(cluster, service: "sla-timer", count: expected.count)
        #expect(received.sorted() == expected.sorted(), "every event arrived, none twice")
        // Once intake's cursor for sla-timer is at the head, its relay sends
        // sla-timer nothing more (escalation and notifier are not running,
        // so intake's outbox as a whole never drains): a redelivery, had
        // there been one, has happened, and the inbox still has each once.
        try await eventually("intake delivered its whole outbox to sla-timer") {
            try Self.undelivered(cluster, to: "sla-timer") == 0
        }
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
        try await eventually("\(service)'s inbox has \(count) events") {
            let ids = try Self.inboxEventIDs(cluster, service: service)
            return ids.count >= count ? ids : nil
        }
    }

    /// Events in intake's outbox that `subscriber` has not accepted.
    static func undelivered(_ cluster: ServiceCluster, to subscriber: String) throws -> Int {
        let queue = try DatabaseQueue(path: cluster.runtime.file("intake.sqlite"), configuration: Self.readOnly)
        return try queue.read { db in
            let head = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(position), 0) FROM outbox_event") ?? 0
            let cursor = try Int.fetchOne(db, sql: "SELECT delivered_through FROM outbox_cursor WHERE subscriber = ?", arguments: [subscriber]) ?? 0
            return head - cursor
        }
    }

    static var readOnly: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        return configuration
    }
}
