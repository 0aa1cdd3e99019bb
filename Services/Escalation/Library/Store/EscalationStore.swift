import Foundation
import GRDB
import ServiceKit
import SupportProto
import SwiftProtobuf

typealias Record = Support_Escalation_V1_EscalationRecord
typealias Snapshot = Support_Events_V1_IncidentSnapshot

/// escalation's schema and rows: rosters, its own columns of each incident
/// (beside ``IntakeProjection``'s snapshot, from intake's events), and
/// escalation records.
enum EscalationStore {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("escalation-1-roster-records") { db in
            try db.create(table: "roster") { table in
                table.column("office", .text).notNull()
                table.column("certificate_id", .text).notNull()  // '' for the office's own roster
                table.column("version", .integer).notNull()
                table.column("document", .blob).notNull()
                table.primaryKey(["office", "certificate_id"])
            }
            try db.create(table: "certificate_view") { table in
                table.primaryKey("id", .text)
                table.column("document", .blob).notNull()  // support.events.v1.CertificateChanged
            }
            try db.create(table: "incident_view") { table in
                table.primaryKey("incident_id", .text)
                table.column("document", .blob).notNull()  // IncidentSnapshot
                table.column("level", .integer).notNull().defaults(to: 1)
                table.column("level_since", .double).notNull()
                table.column("escalations", .integer).notNull().defaults(to: 0)
                table.column("open", .boolean).notNull().defaults(to: true)
                table.column("office", .text).notNull().defaults(to: "")
            }
            try db.create(table: "escalation") { table in
                table.primaryKey("id", .text)
                table.column("incident_id", .text).notNull()
                table.column("number", .integer).notNull()
                table.column("sla_cycle_id", .text)
                table.column("document", .blob).notNull()
                table.uniqueKey(["incident_id", "number"])
            }
            // R-ESC-3: one automatic escalation per breached cycle, however
            // often the breach is delivered.
            try db.execute(sql: "CREATE UNIQUE INDEX escalation_breach ON escalation(sla_cycle_id) WHERE sla_cycle_id IS NOT NULL")
        }
        migrator.registerMigration("escalation-2-breach-withdrawals") { db in
            // The cycle whose withdrawn breach a record undoes: at most one
            // per cycle, however often sla-timer's SLAMet is delivered.
            try db.alter(table: "escalation") { table in table.add(column: "withdrawn_cycle_id", .text) }
            try db.execute(sql: "CREATE UNIQUE INDEX escalation_withdrawal ON escalation(withdrawn_cycle_id) WHERE withdrawn_cycle_id IS NOT NULL")
        }
        Self.registerIntakeProjection(in: &migrator)
        migrator.registerMigration("escalation-4-roster-published-unstaffed") { db in
            // Issue 23: which roster version notifier was sent (rosters
            // stored before are published at the next start), and the
            // escalations made without full staff, for the metric.
            try db.alter(table: "roster") { table in table.add(column: "published_version", .integer).notNull().defaults(to: 0) }
            try db.alter(table: "escalation") { table in table.add(column: "unstaffed", .boolean).notNull().defaults(to: false) }
        }
    }

    // MARK: Rosters

    static func roster(office: String, certificate: String = "", in db: Database) throws -> Roster? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM roster WHERE office = ? AND certificate_id = ?"), arguments: [office, certificate])
            .map { try Roster(serializedBytes: $0) }
    }

    /// Every roster, the fallback ("*") and certificate overrides included.
    static func rosters(in db: Database) throws -> [Roster] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT document FROM roster ORDER BY office, certificate_id"))
            .map { try Roster(serializedBytes: $0) }
    }

    /// Marks `roster`'s version published and returns its `RosterChanged`
    /// for the caller to append to the outbox in the same transaction.
    static func published(_ roster: Roster, in db: Database) throws -> Event {
        try db.executeCached(
            sql: "UPDATE roster SET published_version = ? WHERE office = ? AND certificate_id = ?",
            arguments: [roster.version, roster.office, roster.certificateID]
        )
        var changed = Support_Events_V1_RosterChanged()
        changed.roster = roster
        var event = Event()
        event.occurredAt = roster.updatedAt
        event.payload = .rosterChanged(changed)
        return event
    }

    /// Rosters whose current version notifier has not been sent: those
    /// stored before escalation published rosters (issue 23).
    static func unpublishedRosters(in db: Database) throws -> [Roster] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT document FROM roster WHERE published_version < version ORDER BY office, certificate_id"))
            .map { try Roster(serializedBytes: $0) }
    }

    static func save(_ roster: Roster, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO roster (office, certificate_id, version, document) VALUES (?, ?, ?, ?)
                ON CONFLICT(office, certificate_id) DO UPDATE SET version = excluded.version, document = excluded.document
                """,
            arguments: [roster.office, roster.certificateID, roster.version, try roster.serializedBytes() as Data]
        )
    }

    // MARK: Views

    /// Whether `email` is a contact of the certificate `incidentID` is under.
    static func isContact(_ email: String, ofIncident incidentID: String, in db: Database) throws -> Bool {
        try IntakeProjection.isContact(email, ofIncident: incidentID, in: db)
    }

    /// An incident as escalation sees it: intake's latest snapshot
    /// (``IntakeProjection``) with escalation's own columns.
    struct IncidentView {
        var snapshot: Snapshot
        var level: Level
        var levelSince: Date
        var escalations: Int
    }

    /// The columns ``view(_:)`` reads.
    private static let viewColumns = "p.document, v.level, v.level_since, v.escalations"

    private static func view(_ row: Row) throws -> IncidentView {
        IncidentView(
            snapshot: try Snapshot(serializedBytes: row["document"] as Data),
            level: Level(rawValue: row["level"]) ?? .tam,
            levelSince: Date(timeIntervalSince1970: row["level_since"]),
            escalations: row["escalations"]
        )
    }

    static func incident(_ id: String, in db: Database) throws -> IncidentView? {
        try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT \(Self.viewColumns) FROM incident_view v JOIN incident_projection p USING (incident_id) WHERE v.incident_id = ?
                """),
            arguments: [id]
        ).map(Self.view)
    }

    /// Saves escalation's own columns; the snapshot is ``IntakeProjection``'s
    /// to keep. Whether the incident is open and its office are copies of
    /// the snapshot's, for ``openEscalated(level:office:offset:limit:in:)``.
    static func save(_ view: IncidentView, id: String, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO incident_view (incident_id, level, level_since, escalations, open, office) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(incident_id) DO UPDATE SET level = excluded.level,
                    level_since = excluded.level_since, escalations = excluded.escalations, open = excluded.open, office = excluded.office
                """,
            arguments: [
                id, view.level.rawValue, view.levelSince.timeIntervalSince1970,
                view.escalations, ![.resolved, .closed].contains(view.snapshot.state), view.snapshot.office,
            ]
        )
    }

    /// Open incidents escalated at least once: highest level first, then
    /// longest at it.
    static func openEscalated(level: Int, office: String, offset: Int, limit: Int, in db: Database) throws -> [(String, IncidentView)] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT v.incident_id, \(Self.viewColumns) FROM incident_view v JOIN incident_projection p USING (incident_id)
                WHERE v.escalations > 0 AND v.open = 1 AND (? = 0 OR v.level = ?) AND (? = '' OR v.office = ?)
                ORDER BY v.level DESC, v.level_since, v.incident_id LIMIT ? OFFSET ?
                """),
            arguments: [level, level, office, office, limit, offset]
        ).map { row in (row["incident_id"], try Self.view(row)) }
    }

    // MARK: Records

    static func records(of incident: String, in db: Database) throws -> [Record] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT document FROM escalation WHERE incident_id = ? ORDER BY number"), arguments: [incident])
            .map { try Record(serializedBytes: $0) }
    }

    static func insert(_ record: Record, number: Int, in db: Database) throws {
        try db.executeCached(
            sql: "INSERT INTO escalation (id, incident_id, number, sla_cycle_id, withdrawn_cycle_id, unstaffed, document) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                record.id, record.incidentID, number,
                record.trigger == .slaBreach && !record.slaCycleID.isEmpty ? record.slaCycleID : nil,
                record.trigger == .slaBreachWithdrawn && !record.slaCycleID.isEmpty ? record.slaCycleID : nil,
                !record.unstaffedReason.isEmpty, try record.serializedBytes() as Data,
            ]
        )
    }

    static func escalated(cycle: String, in db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM escalation WHERE sla_cycle_id = ?"), arguments: [cycle]) ?? false
    }
}
