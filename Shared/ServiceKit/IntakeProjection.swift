import Foundation
import GRDB
import SupportProto
import SwiftProtobuf

/// The latest of each incident and certificate as intake's events tell it:
/// the one view sla-timer, escalation and notifier keep of intake's data,
/// read and written inside the caller's transaction (the inbox's, or a
/// request's). Each service keeps only its own columns beside it, in its
/// own tables keyed by the same ids (issue 20: three copies had drifted).
///
/// It never goes backwards: an incident's snapshot is replaced only by one
/// from a later event of intake's stream for that incident (a higher
/// `sequence`), and a certificate only by a revision at least as new, so an
/// event that arrives late, or again, leaves the newer state in place.
/// Every service has the tables (ServiceKit's migrations); intake leaves
/// them empty.
public enum IntakeProjection {
    public typealias Snapshot = Support_Events_V1_IncidentSnapshot
    public typealias Certificate = Support_Events_V1_CertificateChanged

    /// Takes what `event` says about an incident or a certificate, unless
    /// what is stored is newer. Events that carry neither change nothing.
    ///
    /// - An incident event's snapshot replaces the stored one if its
    ///   `sequence` is higher than the one that stored it.
    /// - CertificateChanged replaces the certificate if its revision is not
    ///   older than the stored one.
    /// - ContactsChanged replaces the stored certificate's contacts if its
    ///   revision is newer; before any CertificateChanged there is no
    ///   certificate to change, and it is ignored.
    ///
    /// - Returns: Whether the stored incident or certificate changed.
    @discardableResult
    public static func apply(_ event: Event, in db: Database) throws -> Bool {
        if let snapshot = event.incidentSnapshot, !event.incidentID.isEmpty {
            return try Self.save(snapshot, incidentID: event.incidentID, sequence: event.sequence, in: db)
        }
        switch event.payload {
        case .certificateChanged(let certificate):
            return try Self.save(certificate, in: db)
        case .contactsChanged(let change):
            // R-ORG-2: subscribers keep the list of the highest revision seen.
            guard var certificate = try Self.certificate(change.certificateID, in: db), certificate.revision < change.revision else { return false }
            certificate.contacts = change.contacts
            certificate.revision = change.revision
            return try Self.save(certificate, in: db)
        default:
            return false
        }
    }

    /// The incident's latest snapshot, or nil if no intake event about it
    /// has been applied.
    public static func incident(_ id: String, in db: Database) throws -> Snapshot? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM incident_projection WHERE incident_id = ?"), arguments: [id])
            .map { try Snapshot(serializedBytes: $0) }
    }

    /// The certificate at the highest revision seen, its contacts current.
    public static func certificate(_ id: String, in db: Database) throws -> Certificate? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM certificate_projection WHERE certificate_id = ?"), arguments: [id])
            .map { try Certificate(serializedBytes: $0) }
    }

    /// Every certificate seen, by id.
    public static func certificates(in db: Database) throws -> [Certificate] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT document FROM certificate_projection ORDER BY certificate_id"))
            .map { try Certificate(serializedBytes: $0) }
    }

    /// Whether `email` is a contact of the certificate the incident is
    /// under (R-ORG-3); false while either is unknown. Emails compare
    /// without regard to case.
    public static func isContact(_ email: String, ofIncident incidentID: String, in db: Database) throws -> Bool {
        guard let incident = try Self.incident(incidentID, in: db), let certificate = try Self.certificate(incident.certificateID, in: db) else {
            return false
        }
        let email = email.lowercased()
        return certificate.contacts.contains { $0.email.lowercased() == email }
    }

    // MARK: Writing

    /// One statement: the upsert's condition leaves a newer row alone, and
    /// the change count says which happened.
    private static func save(_ snapshot: Snapshot, incidentID: String, sequence: UInt64, in db: Database) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT INTO incident_projection (incident_id, sequence, document) VALUES (?, ?, ?)
                ON CONFLICT(incident_id) DO UPDATE SET sequence = excluded.sequence, document = excluded.document
                WHERE excluded.sequence > incident_projection.sequence
                """,
            arguments: [incidentID, Int64(clamping: sequence), try snapshot.serializedBytes() as Data]
        )
        return db.changesCount == 1
    }

    private static func save(_ certificate: Certificate, in db: Database) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT INTO certificate_projection (certificate_id, revision, document) VALUES (?, ?, ?)
                ON CONFLICT(certificate_id) DO UPDATE SET revision = excluded.revision, document = excluded.document
                WHERE excluded.revision >= certificate_projection.revision
                """,
            arguments: [certificate.certificateID, certificate.revision, try certificate.serializedBytes() as Data]
        )
        return db.changesCount == 1
    }

    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("servicekit-5-intake-projection") { db in
            // Each service's own migration moves the rows it kept in its
            // own view tables into these.
            try db.create(table: "incident_projection") { table in
                table.primaryKey("incident_id", .text)
                // Of the intake event whose snapshot this is (for rows carried
                // over from a service's own view: the last intake event its
                // inbox recorded for the incident, or 0).
                table.column("sequence", .integer).notNull()
                table.column("document", .blob).notNull()  // support.events.v1.IncidentSnapshot
            }
            try db.create(table: "certificate_projection") { table in
                table.primaryKey("certificate_id", .text)
                table.column("revision", .integer).notNull()
                table.column("document", .blob).notNull()  // support.events.v1.CertificateChanged, contacts kept current
            }
        }
    }
}
