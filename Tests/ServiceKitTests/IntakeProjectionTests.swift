import Foundation
import GRDB
import ServiceKit
import SupportProto
import Testing
import TestSupport

/// A database with ServiceKit's tables only, removed at deinit.
private final class ProjectionHarness {
    let directory: TemporaryDirectory
    let database: ServiceDatabase

    init() throws {
        self.directory = try TemporaryDirectory()
        self.database = try ServiceDatabase(path: self.directory.file("p.sqlite"))
    }

    deinit { self.directory.remove() }

    @discardableResult
    func apply(_ event: Event) throws -> Bool {
        try self.database.writer.write { db in try IntakeProjection.apply(event, in: db) }
    }

    func incident(_ id: String = "INC-1") throws -> IntakeProjection.Snapshot? {
        try self.database.writer.read { db in try IntakeProjection.incident(id, in: db) }
    }

    func certificate(_ id: String = "C-1") throws -> IntakeProjection.Certificate? {
        try self.database.writer.read { db in try IntakeProjection.certificate(id, in: db) }
    }

    func isContact(_ email: String, ofIncident id: String = "INC-1") throws -> Bool {
        try self.database.writer.read { db in try IntakeProjection.isContact(email, ofIncident: id, in: db) }
    }
}

/// An intake incident event whose snapshot has `severity`.
private func severityChanged(_ severity: Int32, sequence: UInt64, incident: String = "INC-1") -> Event {
    var snapshot = Support_Events_V1_IncidentSnapshot()
    snapshot.certificateID = "C-1"
    snapshot.severity = severity
    var event = Event()
    event.eventID = "intake-\(incident)-\(sequence)"
    event.producer = "intake"
    event.incidentID = incident
    event.sequence = sequence
    event.payload = .severityChanged(.with { $0.toSeverity = severity })
    event.incidentSnapshot = snapshot
    return event
}

private func certificateChanged(revision: UInt32, contacts: [String], customer: String = "Acme") -> Event {
    var certificate = Support_Events_V1_CertificateChanged()
    certificate.certificateID = "C-1"
    certificate.customer = customer
    certificate.revision = revision
    certificate.contacts = contacts.map { email in .with { $0.email = email } }
    var event = Event()
    event.eventID = "intake-certificate-\(revision)"
    event.producer = "intake"
    event.payload = .certificateChanged(certificate)
    return event
}

private func contactsChanged(revision: UInt32, contacts: [String]) -> Event {
    var change = Support_Events_V1_ContactsChanged()
    change.certificateID = "C-1"
    change.revision = revision
    change.contacts = contacts.map { email in .with { $0.email = email } }
    var event = Event()
    event.eventID = "intake-contacts-\(revision)"
    event.producer = "intake"
    event.payload = .contactsChanged(change)
    return event
}

@Suite("Intake projection (issue 20)")
struct IntakeProjectionTests {
    @Test("An incident's snapshot is the one of the highest sequence applied, whatever order the events arrive in")
    func outOfOrderSnapshots() throws {
        let harness = try ProjectionHarness()
        #expect(try harness.incident() == nil)
        #expect(try harness.apply(severityChanged(3, sequence: 1)))
        #expect(try harness.apply(severityChanged(1, sequence: 3)))
        #expect(try !harness.apply(severityChanged(2, sequence: 2)), "sequence 2 arrived after 3")
        #expect(try harness.incident()?.severity == 1)
        #expect(try !harness.apply(severityChanged(4, sequence: 3)), "a redelivery of the applied sequence")
        #expect(try harness.incident()?.severity == 1)
        #expect(try harness.apply(severityChanged(4, sequence: 4)))
        #expect(try harness.incident()?.severity == 4)
    }

    @Test("Each incident has its own stream of sequences")
    func streamsPerIncident() throws {
        let harness = try ProjectionHarness()
        try harness.apply(severityChanged(1, sequence: 5, incident: "INC-1"))
        #expect(try harness.apply(severityChanged(2, sequence: 1, incident: "INC-2")))
        #expect(try harness.incident("INC-1")?.severity == 1)
        #expect(try harness.incident("INC-2")?.severity == 2)
    }

    @Test("An event without a snapshot leaves the incident alone")
    func eventWithoutSnapshot() throws {
        let harness = try ProjectionHarness()
        try harness.apply(severityChanged(2, sequence: 1))
        var breach = Event()
        breach.eventID = "sla-1"
        breach.producer = "sla-timer"
        breach.incidentID = "INC-1"
        breach.sequence = 7
        breach.payload = .slaBreached(.init())
        #expect(try !harness.apply(breach))
        #expect(try harness.incident()?.severity == 2)
        // The next intake event still applies: the breach's sequence is
        // sla-timer's stream, not intake's.
        #expect(try harness.apply(severityChanged(3, sequence: 2)))
        #expect(try harness.incident()?.severity == 3)
    }

    @Test("R-ORG-2: a certificate is replaced by a revision not older than the stored one, never by an older one")
    func staleRevisions() throws {
        let harness = try ProjectionHarness()
        #expect(try harness.apply(certificateChanged(revision: 2, contacts: ["bob@acme.example"])))
        #expect(try !harness.apply(certificateChanged(revision: 1, contacts: ["old@acme.example"], customer: "Old")))
        #expect(try harness.certificate()?.revision == 2)
        #expect(try harness.certificate()?.customer == "Acme")
        #expect(try harness.certificate()?.contacts.map(\.email) == ["bob@acme.example"])
        #expect(try harness.apply(certificateChanged(revision: 2, contacts: ["bob@acme.example"], customer: "Acme Corp")), "the same revision again")
        #expect(try harness.certificate()?.customer == "Acme Corp")
        #expect(try harness.apply(certificateChanged(revision: 3, contacts: ["cy@acme.example"])))
        #expect(try harness.certificate()?.contacts.map(\.email) == ["cy@acme.example"])
    }

    @Test("R-ORG-2: ContactsChanged replaces the contacts of a stored certificate only at a newer revision, keeping its terms")
    func contactsReplaced() throws {
        let harness = try ProjectionHarness()
        #expect(try !harness.apply(contactsChanged(revision: 1, contacts: ["ann@acme.example"])), "no certificate to change yet")
        #expect(try harness.certificate() == nil)
        try harness.apply(certificateChanged(revision: 2, contacts: ["ann@acme.example"]))
        #expect(try harness.apply(contactsChanged(revision: 3, contacts: ["ann@acme.example", "bob@acme.example"])))
        #expect(try !harness.apply(contactsChanged(revision: 3, contacts: ["eve@acme.example"])), "not newer")
        #expect(try !harness.apply(contactsChanged(revision: 2, contacts: [])), "older")
        let certificate = try #require(try harness.certificate())
        #expect(certificate.revision == 3)
        #expect(certificate.customer == "Acme")
        #expect(certificate.contacts.map(\.email) == ["ann@acme.example", "bob@acme.example"])
        #expect(try !harness.apply(certificateChanged(revision: 2, contacts: [])), "a late CertificateChanged older than the contacts")
        #expect(try harness.certificate()?.contacts.count == 2)
    }

    @Test("R-ORG-3: a contact of the incident's certificate is known, in any case; strangers and unknown incidents are not")
    func contacts() throws {
        let harness = try ProjectionHarness()
        try harness.apply(certificateChanged(revision: 1, contacts: ["ann@acme.example"]))
        #expect(try !harness.isContact("ann@acme.example"), "the incident is not known yet")
        try harness.apply(severityChanged(2, sequence: 1))
        #expect(try harness.isContact("ann@acme.example"))
        #expect(try harness.isContact("Ann@Acme.example"))
        #expect(try !harness.isContact("eve@other.example"))
        #expect(try !harness.isContact("ann@acme.example", ofIncident: "INC-404"))
        #expect(try harness.database.writer.read { db in try IntakeProjection.certificates(in: db).map(\.certificateID) } == ["C-1"])
    }

    @Test("Issue 22: the projection keeps the mail languages and cc intake publishes, and an ArticleAdded's snapshot like any other")
    func languages() throws {
        let harness = try ProjectionHarness()
        var certificate = certificateChanged(revision: 1, contacts: ["ann@acme.example"])
        certificate.certificateChanged.language = "ja"
        certificate.certificateChanged.contacts[0].language = "ja"
        try harness.apply(certificate)
        var contacts = contactsChanged(revision: 2, contacts: ["ann@acme.example", "bob@acme.example"])
        contacts.contactsChanged.contacts[1].language = "en"
        try harness.apply(contacts)
        #expect(try harness.certificate()?.language == "ja", "ContactsChanged leaves the certificate's language")
        #expect(try harness.certificate()?.contacts.map(\.language) == ["", "en"])

        var snapshot = Support_Events_V1_IncidentSnapshot()
        snapshot.certificateID = "C-1"
        snapshot.contactEmail = "ann@acme.example"
        snapshot.contactLanguage = "ja"
        snapshot.cc = [.with { $0.email = "bob@acme.example"; $0.language = "en" }]
        var added = Event()
        added.eventID = "intake-INC-1-2"
        added.producer = "intake"
        added.incidentID = "INC-1"
        added.sequence = 2
        added.payload = .articleAdded(.with { $0.article.number = 2; $0.article.text = "we are on it" })
        added.incidentSnapshot = snapshot
        #expect(try harness.apply(added))
        #expect(try harness.incident()?.contactLanguage == "ja")
        #expect(try harness.incident()?.cc.map(\.language) == ["en"])
    }
}
