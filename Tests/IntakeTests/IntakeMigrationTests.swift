import Foundation
import GRDB
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import Intake
@testable import ServiceKit

/// Databases of earlier versions are in the field: upgrading carries their
/// data over.
@Suite("intake's migrations")
struct IntakeMigrationTests {
    static let openedAt = Date(timeIntervalSince1970: 1_796_346_000.123_456_789)  // 2026-12-04T01:00:00Z, with nanoseconds

    /// An incident as intake stored it before issue 22: its conversation in
    /// the document, no thread, no languages.
    static func oldIncident() -> Support_Intake_V1_Incident {
        var incident = Support_Intake_V1_Incident()
        incident.id = "INC-000001"
        incident.certificateID = "C-1"
        incident.office = "tokyo"
        incident.tier = .enterprise
        incident.contact = .with { $0.name = "Ann"; $0.email = "ann@acme.example" }
        incident.channel = .phone
        incident.severity = 3
        incident.title = "scanner crashes"
        incident.description_p = "since 12.3"
        incident.state = .inProgress
        incident.side = .vendor
        incident.openedAt = .init(date: Self.openedAt)
        incident.enteredBy = "op.suzuki"
        func entry(_ kind: Support_Intake_V1_ConversationEntry.Kind, _ author: String, _ text: String, minutes: Double, via: Support_Common_V1_Channel = .unspecified) -> Support_Intake_V1_ConversationEntry {
            .with {
                $0.kind = kind; $0.author = author; $0.text = text; $0.via = via
                $0.at = .init(date: Self.openedAt.addingTimeInterval(minutes * 60))
            }
        }
        incident.conversation = [
            entry(.note, "eng.kato", "looks like the engine", minutes: 5),
            entry(.infoRequest, "eng.kato", "which build?", minutes: 10),
            entry(.infoProvided, "ann@acme.example", "4711", minutes: 20),
            entry(.response, "eng.kato", "fixed in 12.4", minutes: 30, via: .phone),
            entry(.workaround, "eng.kato", "exclude the share", minutes: 40),
        ]
        return incident
    }

    @Test("Issue 22: upgrading makes each incident's description article 1 and its conversation the articles after it, in order")
    func thread() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let old = Self.oldIncident()
        var certificate = Support_Intake_V1_Certificate()
        certificate.id = "C-1"
        certificate.customer = "Acme"
        certificate.office = "tokyo"
        certificate.tier = .enterprise
        certificate.tam = "tam.sato"
        certificate.validFrom = .init(date: Date(timeIntervalSince1970: 1_767_225_600))
        certificate.validUntil = .init(date: Date(timeIntervalSince1970: 1_830_211_200))
        certificate.revision = 1
        certificate.contacts = [old.contact]
        // A database as the version before the thread left it.
        try Self.databaseBeforeTheThread(at: directory.file("intake.sqlite"), certificate: certificate, incident: old)

        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: "2026-12-04T03:00:00Z", directory: directory)
        let stored = try await intake.process.environment.database.writer.read { db in
            (
                try Support_Intake_V1_Incident(serializedBytes: try #require(try Data.fetchOne(db, sql: "SELECT document FROM incident"))),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM article") ?? 0
            )
        }
        #expect(stored.0.conversation.isEmpty, "the document no longer holds the conversation")
        #expect(stored.1 == 6)

        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = "INC-000001"
        let incident = try await intake.client.call(IntakeRPC.getIncident, get)
        #expect(incident.thread.map(\.number) == [1, 2, 3, 4, 5, 6])
        #expect(incident.thread.map(\.kind) == [.description_, .note, .infoRequest, .customerMessage, .response, .workaround])
        let description = try #require(incident.thread.first)
        #expect(description.author == "ann@acme.example" && description.direction == .fromCustomer && description.channel == .phone)
        #expect(description.text == "since 12.3" && description.enteredBy == "op.suzuki")
        #expect(description.at == old.openedAt, "to the nanosecond")
        #expect(incident.thread[1].visibility == .internal && incident.thread[1].direction == .internal)
        #expect(incident.thread.dropFirst(2).allSatisfy { $0.visibility == .public })
        #expect(incident.thread[4].channel == .phone)
        #expect(incident.conversation == old.conversation, "the deprecated conversation reads as before")
        // Languages the old rows did not have: the office's.
        #expect(incident.contact.language == "ja")
        var getCertificate = Support_Intake_V1_GetCertificateRequest()
        getCertificate.certificateID = "C-1"
        let shown = try await intake.client.call(IntakeRPC.getCertificate, getCertificate)
        #expect(shown.language == "ja" && shown.contacts.map(\.language) == ["ja"])

        // The thread goes on from there.
        var reply = Support_Intake_V1_ReplyRequest()
        reply.incidentID = "INC-000001"
        reply.actor = "eng.kato"
        reply.text = "a new build is coming"
        let replied = try await intake.client.call(IntakeRPC.reply, reply)
        #expect(replied.thread.last?.number == 7 && replied.thread.last?.kind == .reply)
        let events = try IntakeServiceTests.events(intake, incident: "INC-000001")
        #expect(events.first?.articleAdded.incident.contactLanguage == "ja")
        try await intake.finish()
    }

    /// A database migrated up to intake-4-number-floor holding `certificate`
    /// and `incident` as that version stored them.
    static func databaseBeforeTheThread(at path: String, certificate: Support_Intake_V1_Certificate, incident: Support_Intake_V1_Incident) throws {
        let queue = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        ServiceKitMigrations.register(in: &migrator)
        IntakeMigrations.register(in: &migrator)
        try migrator.migrate(queue, upTo: "intake-4-number-floor")
        try queue.write { db in
            try db.execute(
                sql: "INSERT INTO certificate (id, office, document) VALUES ('C-1', 'tokyo', ?)", arguments: [try certificate.serializedBytes() as Data]
            )
            try db.execute(
                sql: """
                    INSERT INTO incident (id, number, certificate_id, office, tier_rank, severity, state, side, opened_at, document)
                    VALUES ('INC-000001', 1, 'C-1', 'tokyo', 0, 3, ?, ?, ?, ?)
                    """,
                arguments: [incident.state.rawValue, incident.side.rawValue, Self.openedAt.timeIntervalSince1970, try incident.serializedBytes() as Data]
            )
        }
    }
}
