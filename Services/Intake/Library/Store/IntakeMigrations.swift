import Foundation
import GRDB
import SupportProto

/// intake's schema. Each aggregate (certificate, incident, problem,
/// booking) is one row: the columns queries filter and order by, and the
/// whole protobuf message as `document`, so its histories are written in the
/// same statement as its state. Named migrations are never edited once
/// shipped.
enum IntakeMigrations {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("intake-1-aggregates") { db in
            try db.create(table: "certificate") { table in
                table.primaryKey("id", .text)
                table.column("office", .text).notNull()
                table.column("document", .blob).notNull()
            }
            try db.create(table: "incident") { table in
                table.primaryKey("id", .text)
                table.column("number", .integer).notNull().unique()
                table.column("certificate_id", .text).notNull().references("certificate")
                table.column("office", .text).notNull()
                // R-SLA-4: enterprise (0) is queued before standard (1).
                table.column("tier_rank", .integer).notNull()
                table.column("severity", .integer).notNull()
                table.column("state", .integer).notNull()
                table.column("side", .integer).notNull()
                table.column("opened_at", .double).notNull()
                table.column("document", .blob).notNull()
            }
            try db.create(index: "incident_queue", on: "incident", columns: ["tier_rank", "severity", "opened_at", "number"])
            try db.create(index: "incident_certificate", on: "incident", columns: ["certificate_id"])
            try db.create(table: "problem") { table in
                table.primaryKey("id", .text)
                table.column("number", .integer).notNull().unique()
                table.column("state", .integer).notNull()
                table.column("document", .blob).notNull()
            }
            try db.create(table: "health_check") { table in
                table.primaryKey("id", .text)
                table.column("certificate_id", .text).notNull().references("certificate")
                table.column("certificate_year", .integer).notNull()
                table.column("document", .blob).notNull()
                // R-HC-1: one per certificate year.
                table.uniqueKey(["certificate_id", "certificate_year"])
            }
            try db.create(table: "company_account") { table in
                table.primaryKey("id", .integer).check { $0 == 1 }
                table.column("document", .blob).notNull()
            }
            try db.create(table: "counter") { table in
                table.primaryKey("name", .text)
                table.column("value", .integer).notNull()
            }
            // Calls that create something, by idempotency key: the first
            // answer is returned again and nothing new is created.
            try db.create(table: "idempotency") { table in
                table.column("method", .text).notNull()
                table.column("key", .text).notNull()
                table.column("response", .blob).notNull()
                table.column("created_at", .double).notNull()
                table.primaryKey(["method", "key"])
            }
        }
        migrator.registerMigration("intake-2-numbers-from-max") { db in
            // Incident and problem numbers are the highest stored plus one
            // (IntakeStore.nextNumber): an index seek, where the counter
            // row was an upsert in every open (issue 9). Nothing is ever
            // deleted, so the two agree on every database written so far.
            try db.drop(table: "counter")
        }
        migrator.registerMigration("intake-3-idempotency-in-servicekit") { db in
            // Idempotency records moved to ServiceKit's table, scoped by
            // caller and checked against the request (issue 20). The old
            // rows had neither, so they cannot answer under the new rules;
            // they answered retries for seven days at most.
            try db.drop(table: "idempotency")
        }
        migrator.registerMigration("intake-4-number-floor") { db in
            // The highest number another service's copy has seen, written by
            // deploy/local/restore (which creates the table itself when it
            // restores an older intake): numbers continue above it, so a
            // restored intake never gives a lost incident's number to a new
            // one (issue 21, finding 8).
            try db.create(table: "number_floor", ifNotExists: true) { table in
                table.primaryKey("kind", .text)
                table.column("floor", .integer).notNull()
            }
        }
        migrator.registerMigration("intake-5-thread") { db in
            // Issue 22: an incident's thread of articles, a row each, so an
            // article (or an attachment's) is appended without rewriting
            // the incident's document.
            try db.create(table: "article", options: .withoutRowID) { table in
                table.column("incident_id", .text).notNull().references("incident")
                // 1, 2, 3... within the incident; 1 is the description.
                table.column("number", .integer).notNull()
                table.column("kind", .integer).notNull()  // support.common.v1.ArticleKind
                table.column("author", .text).notNull()
                table.column("direction", .integer).notNull()  // support.common.v1.Direction
                table.column("channel", .integer).notNull()  // support.common.v1.Channel
                table.column("visibility", .integer).notNull()  // support.common.v1.Visibility
                // The Timestamp exactly: seconds since 1970 and nanoseconds.
                table.column("at", .integer).notNull()
                table.column("at_nanos", .integer).notNull()
                table.column("text", .text).notNull()
                table.column("closure", .blob)  // support.common.v1.ClosureReason, for a closure
                table.column("entered_by", .text).notNull()
                table.primaryKey(["incident_id", "number"])
            }
            try Self.moveConversations(in: db)
        }
        migrator.registerMigration("intake-6-attachments") { db in
            // Attachments (issue 22, R-SCOPE-1): AttachmentStore reads and
            // writes these. An upload is kept after its commit until it
            // expires, so that a second CommitAttachment answers OK.
            try db.create(table: "attachment_upload") { table in
                table.primaryKey("upload_id", .text)
                table.column("incident_id", .text).notNull().references("incident")
                // The contact's email (by_contact) or the staff id.
                table.column("who", .text).notNull()
                table.column("by_contact", .boolean).notNull()
                table.column("name", .text).notNull()
                table.column("media_type", .text).notNull()
                table.column("size", .integer).notNull()
                table.column("sha256", .text).notNull()
                table.column("text", .text).notNull()
                table.column("visibility", .integer).notNull()
                table.column("received", .integer).notNull()
                table.column("created_at", .double).notNull()
                table.column("expires_at", .double).notNull()
                // The name it was stored under, once committed.
                table.column("committed_name", .text)
            }
            try db.create(index: "attachment_upload_expiry", on: "attachment_upload", columns: ["expires_at"])
            // An incident's attachments; name is unique within the incident.
            try db.create(table: "attachment") { table in
                table.column("incident_id", .text).notNull().references("incident")
                table.column("name", .text).notNull()
                table.column("media_type", .text).notNull()
                table.column("size", .integer).notNull()
                table.column("sha256", .text).notNull()
                // Internal ones are never read by a contact.
                table.column("visibility", .integer).notNull()
                table.column("article_number", .integer).notNull()
                // The upload whose bytes these are (attachment_chunk).
                table.column("content_id", .text).notNull().unique()
                table.column("added_at", .double).notNull()
                table.column("added_by", .text).notNull()
                table.primaryKey(["incident_id", "name"])
            }
            // Bytes in rows of at most 1 MiB, by upload id and start offset:
            // an upload's rows become its attachment's without a copy.
            try db.create(table: "attachment_chunk") { table in
                table.column("content_id", .text).notNull()
                table.column("start", .integer).notNull()
                table.column("data", .blob).notNull()
                table.primaryKey(["content_id", "start"])
            }
        }
    }

    /// Carries every incident written before issue 22 over to the thread:
    /// its description becomes article 1 and its conversation entries the
    /// articles after it, in order; the document then drops the
    /// conversation (it is derived from the thread from now on). A
    /// thousand incidents at a time, by number.
    ///
    /// Part of the shipped migration intake-5-thread: a change must keep
    /// what it does.
    static func moveConversations(in db: Database) throws {
        var after: Int64 = 0
        while true {
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, number, document FROM incident WHERE number > ? ORDER BY number LIMIT 1000", arguments: [after]
            )
            guard let last = rows.last else { return }
            after = last["number"]
            for row in rows {
                let id: String = row["id"]
                var incident = try Incident(serializedBytes: row["document"] as Data)
                var description = IncidentThread.article(
                    .description_, author: incident.contact.email, direction: .fromCustomer, channel: incident.channel,
                    text: incident.description_p, at: incident.openedAt.date, enteredBy: incident.enteredBy
                )
                description.at = incident.openedAt  // to the nanosecond
                let thread = [description] + incident.conversation.map(IncidentThread.article(from:))
                // The row as this migration defines it (not through the
                // store, whose rows later migrations may change).
                for (index, article) in thread.enumerated() {
                    try db.execute(
                        sql: """
                            INSERT INTO article (incident_id, number, kind, author, direction, channel, visibility, at, at_nanos, text, closure, entered_by)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
                            """,
                        arguments: [
                            id, index + 1, article.kind.rawValue, article.author, article.direction.rawValue, article.channel.rawValue,
                            article.visibility.rawValue, article.at.seconds, article.at.nanos, article.text, article.enteredBy,
                        ]
                    )
                }
                incident.conversation = []
                try db.execute(sql: "UPDATE incident SET document = ? WHERE id = ?", arguments: [try incident.serializedBytes() as Data, id])
            }
        }
    }
}
