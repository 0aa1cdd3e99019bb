import GRDB
import ServiceKit

/// notifier's schema: its own columns of each incident (beside
/// ``IntakeProjection``'s snapshot and certificates, from intake's events),
/// the events a quarterly report needs, the messages
/// with their delivery state, call tasks and generated reports.
enum NotifierMigrations {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("notifier-1-messages") { db in
            try db.create(table: "incident_view") { table in
                table.primaryKey("incident_id", .text)
                table.column("certificate_id", .text).notNull()
                table.column("opened_at", .double).notNull()
                table.column("level", .integer).notNull().defaults(to: 1)  // R-ESC-1, from Escalated events
                table.column("due_at", .double)  // the running cycle's due time, as last heard
                table.column("document", .blob).notNull()  // support.events.v1.IncidentSnapshot
            }
            try db.create(table: "certificate_view") { table in
                table.primaryKey("certificate_id", .text)
                table.column("revision", .integer).notNull()
                table.column("document", .blob).notNull()  // support.events.v1.CertificateChanged, contacts kept current
            }
            // What happened to each incident, for the quarterly report (R-REP-1).
            try db.create(table: "incident_event") { table in
                table.primaryKey("event_id", .text)
                table.column("incident_id", .text).notNull().indexed()
                table.column("occurred_at", .double).notNull()
                table.column("document", .blob).notNull()  // support.events.v1.Event
            }
            try db.create(table: "message") { table in
                table.autoIncrementedPrimaryKey("number")
                table.column("id", .text).notNull().unique()
                // (event, template, recipient, transport): a redelivered event creates nothing twice.
                table.column("dedup_key", .text).notNull().unique()
                table.column("incident_id", .text).notNull()
                table.column("template", .text).notNull()
                table.column("state", .integer).notNull()
                // When the next attempt is due (or not_before) while pending.
                table.column("due_at", .double)
                // The office-local day a status report counts for (R-REP-2).
                table.column("report_day", .text)
                table.column("document", .blob).notNull()  // support.notifier.v1.Message
            }
            try db.create(index: "message_pending_due", on: "message", columns: ["state", "due_at"])
            try db.create(index: "message_incident", on: "message", columns: ["incident_id", "template"])
            try db.create(table: "call_task") { table in
                table.autoIncrementedPrimaryKey("number")
                table.column("id", .text).notNull().unique()
                table.column("message_id", .text).notNull().unique()
                table.column("incident_id", .text).notNull()
                table.column("document", .blob).notNull()  // support.notifier.v1.CallTask
            }
            try db.create(table: "report") { table in
                table.autoIncrementedPrimaryKey("number")
                table.column("id", .text).notNull().unique()
                table.column("certificate_id", .text).notNull()
                table.column("quarter", .text).notNull()
                table.column("document", .blob).notNull()  // support.notifier.v1.Report
            }
        }
        migrator.registerMigration("notifier-2-report-schedule") { db in
            // R-REP-1: how many three-month periods of each certificate have
            // had their periodic report sent.
            try db.create(table: "report_schedule") { table in
                table.primaryKey("certificate_id", .text)
                table.column("periods_done", .integer).notNull()
            }
        }
        migrator.registerMigration("notifier-3-intake-projection") { db in
            // Issue 20: snapshots and certificates move to ServiceKit's
            // projection, shared with the other subscribers; notifier keeps
            // its own columns, and what its queries select incidents by.
            try IntakeProjectionMigration.moveSnapshots(from: "incident_view", in: db)
            try IntakeProjectionMigration.moveCertificates(from: "certificate_view", idColumn: "certificate_id", in: db)
            try db.drop(table: "certificate_view")
            try IntakeProjectionMigration.rebuild("incident_view", in: db) { table in
                table.primaryKey("incident_id", .text)
                table.column("certificate_id", .text).notNull()
                table.column("opened_at", .double).notNull()
                table.column("level", .integer).notNull().defaults(to: 1)  // R-ESC-1, from Escalated events
                table.column("due_at", .double)  // the running cycle's due time, as last heard
            }
        }
        migrator.registerMigration("notifier-4-info-requests") { db in
            // Issue 22, R-SLA-6: the latest request for information of each
            // incident (from ArticleAdded), quoted by the one-month warning.
            try db.create(table: "info_request") { table in
                table.primaryKey("incident_id", .text)
                table.column("article_number", .integer).notNull()
                table.column("text", .text).notNull()
                table.column("asked_at", .double).notNull()
            }
        }
        migrator.registerMigration("notifier-5-roster") { db in
            // Issue 23, R-ORG-4: escalation's rosters, from RosterChanged,
            // the one source of every staff recipient (notifier.json's
            // people and offices are gone). office "*" is the fallback.
            try db.create(table: "roster") { table in
                table.column("office", .text).notNull()
                table.column("certificate_id", .text).notNull()  // '' for the office's own roster
                table.column("version", .integer).notNull()
                table.column("document", .blob).notNull()  // support.escalation.v1.Roster
                table.primaryKey(["office", "certificate_id"])
            }
        }
    }
}
