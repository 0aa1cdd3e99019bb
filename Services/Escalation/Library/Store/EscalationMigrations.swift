import GRDB
import ServiceKit

extension EscalationStore {
    /// Issue 20: incident snapshots and certificates move to ServiceKit's
    /// ``IntakeProjection``, shared with the other subscribers; escalation
    /// keeps its own columns. Appended to ``register(in:)``'s migrations.
    static func registerIntakeProjection(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("escalation-3-intake-projection") { db in
            try IntakeProjectionMigration.moveSnapshots(from: "incident_view", in: db)
            try IntakeProjectionMigration.moveCertificates(from: "certificate_view", idColumn: "id", in: db)
            try db.drop(table: "certificate_view")
            try IntakeProjectionMigration.rebuild("incident_view", in: db) { table in
                table.primaryKey("incident_id", .text)
                table.column("level", .integer).notNull().defaults(to: 1)
                table.column("level_since", .double).notNull()
                table.column("escalations", .integer).notNull().defaults(to: 0)
                table.column("open", .boolean).notNull().defaults(to: true)
                table.column("office", .text).notNull().defaults(to: "")
            }
        }
    }
}
