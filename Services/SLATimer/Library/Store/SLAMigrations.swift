import GRDB
import ServiceKit

/// sla-timer's schema: its own columns of each incident (beside
/// ``IntakeProjection``'s snapshot, from intake's events), the response
/// cycles, and the durable timers.
enum SLAMigrations {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("sla-1-cycles-timers") { db in
            try db.create(table: "incident_view") { table in
                table.primaryKey("incident_id", .text)
                table.column("document", .blob).notNull()  // support.events.v1.IncidentSnapshot
                table.column("side_since", .double).notNull()
                table.column("cycles", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "cycle") { table in
                table.primaryKey("id", .text)
                table.column("incident_id", .text).notNull()
                table.column("number", .integer).notNull()
                table.column("state", .integer).notNull()
                table.column("due_at", .double).notNull()
                table.column("office", .text).notNull()
                table.column("certificate_id", .text).notNull()
                table.column("document", .blob).notNull()  // support.sla.v1.Cycle
                table.uniqueKey(["incident_id", "number"])
            }
            try db.create(index: "cycle_state_due", on: "cycle", columns: ["state", "due_at"])
            try db.create(table: "timer") { table in
                table.primaryKey("id", .text)
                table.column("kind", .integer).notNull()
                table.column("incident_id", .text).notNull()
                table.column("cycle_id", .text)
                table.column("due_at", .double).notNull()
                table.column("state", .integer).notNull()
                table.column("fired_at", .double)
                table.column("sequence", .integer).notNull()  // tie-break: arm order
                table.column("document", .blob).notNull()  // support.sla.v1.Timer
            }
            // The deadline queue: the next armed timer is one index probe away.
            try db.create(index: "timer_armed_due", on: "timer", columns: ["state", "due_at", "sequence"])
            try db.create(index: "timer_incident", on: "timer", columns: ["incident_id", "state"])
        }
        migrator.registerMigration("sla-2-timer-sequence") { db in
            // Arming numbers each timer MAX(sequence) + 1: without an index
            // that is a scan of every timer, and arming N timers costs N²
            // (issue 9: 690 timers/s at 10k armed).
            try db.create(index: "timer_sequence", on: "timer", columns: ["sequence"], options: .unique)
        }
        migrator.registerMigration("sla-3-armed-timer-index") { db in
            // Issue 9: firing a timer moved its entries in two indexes keyed
            // by state (a delete and an insert in each), and fired timers
            // piled up in the deadline queue's index forever. The queue is
            // now a partial index of the armed timers only (firing removes
            // one entry), and the per-incident index no longer has the
            // state in its key (firing leaves it alone; an incident has a
            // handful of timers to filter).
            try db.drop(index: "timer_armed_due")
            try db.execute(sql: "CREATE INDEX timer_armed_due ON timer(due_at, sequence) WHERE state = \(SLAStore.armed)")
            try db.drop(index: "timer_incident")
            try db.create(index: "timer_incident", on: "timer", columns: ["incident_id"])
        }
        migrator.registerMigration("sla-4-intake-projection") { db in
            // Issue 20: the snapshot moves to ServiceKit's projection, which
            // the other subscribers share; sla-timer keeps its own columns.
            try IntakeProjectionMigration.moveSnapshots(from: "incident_view", in: db)
            try IntakeProjectionMigration.rebuild("incident_view", in: db) { table in
                table.primaryKey("incident_id", .text)
                table.column("side_since", .double).notNull()
                table.column("cycles", .integer).notNull().defaults(to: 0)
            }
        }
    }
}
