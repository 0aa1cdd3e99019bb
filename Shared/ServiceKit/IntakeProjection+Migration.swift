import Foundation
import GRDB
import SupportProto
import SwiftProtobuf

/// What a subscriber's migration calls to move the incident snapshots and
/// certificates it kept in its own tables into ``IntakeProjection``'s (issue
/// 20). Databases of earlier versions are in the field: their rows are
/// carried over, then the service's tables lose the copied columns.
/// Shipped migrations call these: a change must keep what they do.
public enum IntakeProjectionMigration {
    /// Copies each incident's snapshot (`document`, keyed by `incident_id`)
    /// from `table` into the projection. Its sequence is the last one the
    /// service's inbox recorded for intake's stream of the incident, so a
    /// late redelivery of an older event cannot replace it; 0 if none.
    public static func moveSnapshots(from table: String, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO incident_projection (incident_id, sequence, document)
            SELECT v.incident_id, COALESCE(s.sequence, 0), v.document FROM \(table) v
            LEFT JOIN (
                SELECT stream, MAX(stream_sequence) AS sequence FROM inbox_event WHERE producer = 'intake' GROUP BY stream
            ) s ON s.stream = v.incident_id
            """)
    }

    /// Copies every certificate (`document`, a CertificateChanged, keyed by
    /// `idColumn`) from `table` into the projection, each at the revision
    /// its document states.
    public static func moveCertificates(from table: String, idColumn: String, in db: Database) throws {
        let rows = try Row.fetchAll(db, sql: "SELECT \(idColumn) AS id, document FROM \(table)")
        for row in rows {
            let certificate = try Support_Events_V1_CertificateChanged(serializedBytes: row["document"] as Data)
            try db.execute(
                sql: "INSERT INTO certificate_projection (certificate_id, revision, document) VALUES (?, ?, ?)",
                arguments: [row["id"] as String, certificate.revision, row["document"] as Data]
            )
        }
    }

    /// Replaces `table` by the one `define` describes, keeping the columns
    /// the two have in common with every row's values: SQLite's way of
    /// dropping columns (`ALTER TABLE … DROP COLUMN` needs SQLite 3.35,
    /// and refuses a column in a primary key or an index). The old table's
    /// indexes go with it: create those still wanted again afterwards.
    public static func rebuild(_ table: String, in db: Database, as define: (TableDefinition) throws -> Void) throws {
        let rebuilt = "\(table)_rebuilt"
        try db.create(table: rebuilt, body: define)
        let old = Set(try db.columns(in: table).map(\.name))
        let kept = try db.columns(in: rebuilt).map(\.name).filter(old.contains).map { $0.quotedDatabaseIdentifier }.joined(separator: ", ")
        try db.execute(sql: "INSERT INTO \(rebuilt) (\(kept)) SELECT \(kept) FROM \(table)")
        try db.drop(table: table)
        try db.rename(table: rebuilt, to: table)
    }
}
