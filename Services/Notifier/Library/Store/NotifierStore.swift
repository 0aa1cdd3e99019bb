import Foundation
import GRDB
import ServiceKit
import SupportProto
import SwiftProtobuf

typealias Message = Support_Notifier_V1_Message
typealias Recipient = Support_Notifier_V1_Recipient
typealias Snapshot = Support_Events_V1_IncidentSnapshot
typealias Certificate = Support_Events_V1_CertificateChanged

/// Reads and writes notifier's rows inside a caller's transaction.
enum NotifierStore {
    struct IncidentView {
        var snapshot: Snapshot
        var level: Int
        var dueAt: Date?
    }

    // MARK: Views

    /// An incident as notifier sees it: intake's latest snapshot
    /// (``IntakeProjection``) with notifier's own columns.
    static func incident(_ id: String, in db: Database) throws -> IncidentView? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT p.document, v.level, v.due_at FROM incident_view v JOIN incident_projection p USING (incident_id)
                WHERE v.incident_id = ?
                """),
            arguments: [id]
        ) else {
            return nil
        }
        return IncidentView(
            snapshot: try Snapshot(serializedBytes: row["document"] as Data), level: row["level"],
            dueAt: (row["due_at"] as Double?).map { Date(timeIntervalSince1970: $0) }
        )
    }

    /// Keeps the incident's own row in step with the snapshot
    /// ``IntakeProjection`` now holds: the certificate and opening time
    /// ``incidents(certificate:openedBefore:in:)`` selects by.
    static func save(_ snapshot: Snapshot, incidentID: String, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO incident_view (incident_id, certificate_id, opened_at) VALUES (?, ?, ?)
                ON CONFLICT(incident_id) DO UPDATE SET certificate_id = excluded.certificate_id
                """,
            arguments: [incidentID, snapshot.certificateID, snapshot.openedAt.date.timeIntervalSince1970]
        )
    }

    static func setLevel(_ level: Int, incidentID: String, in db: Database) throws {
        try db.executeCached(sql: "UPDATE incident_view SET level = ? WHERE incident_id = ?", arguments: [level, incidentID])
    }

    static func setDue(_ due: Date?, incidentID: String, in db: Database) throws {
        try db.executeCached(sql: "UPDATE incident_view SET due_at = ? WHERE incident_id = ?", arguments: [due?.timeIntervalSince1970, incidentID])
    }

    static func incidents(certificate: String, openedBefore: Date, in db: Database) throws -> [(String, Snapshot)] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT v.incident_id, p.document FROM incident_view v JOIN incident_projection p USING (incident_id)
                WHERE v.certificate_id = ? AND v.opened_at < ? ORDER BY v.opened_at, v.incident_id
                """),
            arguments: [certificate, openedBefore.timeIntervalSince1970]
        ).map { ($0["incident_id"], try Snapshot(serializedBytes: $0["document"] as Data)) }
    }

    static func certificates(in db: Database) throws -> [Certificate] {
        try IntakeProjection.certificates(in: db)
    }

    static func certificate(_ id: String, in db: Database) throws -> Certificate? {
        try IntakeProjection.certificate(id, in: db)
    }

    static func record(_ event: Support_Events_V1_Event, in db: Database) throws {
        try db.executeCached(
            sql: "INSERT OR IGNORE INTO incident_event (event_id, incident_id, occurred_at, document) VALUES (?, ?, ?, ?)",
            arguments: [event.eventID, event.incidentID, event.occurredAt.date.timeIntervalSince1970, try event.serializedBytes() as Data]
        )
    }

    static func events(of incidentID: String, in db: Database) throws -> [Support_Events_V1_Event] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT document FROM incident_event WHERE incident_id = ? ORDER BY occurred_at, rowid"), arguments: [incidentID])
            .map { try Support_Events_V1_Event(serializedBytes: $0) }
    }

    // MARK: What was asked

    /// The vendor's latest request for information on an incident (an
    /// INFO_REQUEST article), which the one-month warning quotes (R-SLA-6).
    struct InfoRequest: Equatable {
        var article: Int
        var text: String
        var askedAt: Date
    }

    /// Keeps `request` unless a later article of the incident is stored.
    static func saveInfoRequest(_ request: InfoRequest, incidentID: String, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO info_request (incident_id, article_number, text, asked_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(incident_id) DO UPDATE SET article_number = excluded.article_number, text = excluded.text, asked_at = excluded.asked_at
                WHERE excluded.article_number >= info_request.article_number
                """,
            arguments: [incidentID, request.article, request.text, request.askedAt.timeIntervalSince1970]
        )
    }

    static func infoRequest(_ incidentID: String, in db: Database) throws -> InfoRequest? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT article_number, text, asked_at FROM info_request WHERE incident_id = ?"), arguments: [incidentID]
        ).map { InfoRequest(article: $0["article_number"], text: $0["text"], askedAt: Date(timeIntervalSince1970: $0["asked_at"])) }
    }

    // MARK: Messages

    /// Inserts `message` unless one with `dedupKey` exists; returns the stored one.
    @discardableResult
    static func insert(_ message: Message, dedupKey: String, reportDay: String? = nil, in db: Database) throws -> Message {
        if let existing = try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM message WHERE dedup_key = ?"), arguments: [dedupKey]) {
            return try Message(serializedBytes: existing)
        }
        let number = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(number), 0) + 1 FROM message"))!
        var message = message
        // Unique even when `number` repeats (a restored or copied database,
        // issue 21): the id names the Maildir file and the Message-ID.
        message.id = numberedUniqueID("MSG-", number, digits: 6)
        // Stable per message: a re-sent copy is recognisably the same mail.
        message.messageIDHeader = "<\(message.id.lowercased()).\(message.incidentID.isEmpty ? "report" : message.incidentID.lowercased())@notifier.supportdesk>"
        if !message.incidentID.isEmpty {
            // Every later mail of the incident answers its acknowledgement, so
            // a mail client shows one thread whichever mails a recipient has.
            if let root = try Self.threadRoot(of: message.incidentID, in: db) {
                message.inReplyTo = root
            } else if message.templateName != Self.rootTemplate {
                message.inReplyTo = Self.threadRoot(message.incidentID)
            }
        }
        try db.executeCached(
            sql: "INSERT INTO message (number, id, dedup_key, incident_id, template, state, due_at, report_day, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                number, message.id, dedupKey, message.incidentID, message.templateName, message.state.rawValue,
                Self.dueAt(message)?.timeIntervalSince1970, reportDay, try message.serializedBytes() as Data,
            ]
        )
        return message
    }

    /// The template whose mail starts an incident's thread: the acknowledgement.
    static let rootTemplate = "incident-opened"

    /// The incident's thread root: the Message-ID of its acknowledgement,
    /// which every other mail of the incident names in `In-Reply-To` and
    /// `References` (issue 22); nil before the acknowledgement exists.
    static func threadRoot(of incidentID: String, in db: Database) throws -> String? {
        try Data.fetchOne(
            db.cachedStatement(sql: "SELECT document FROM message WHERE incident_id = ? AND template = ? ORDER BY number LIMIT 1"),
            arguments: [incidentID, Self.rootTemplate]
        ).map { try Message(serializedBytes: $0).messageIDHeader }
    }

    /// The thread id of an incident without an acknowledgement (one opened
    /// before notifier kept its messages): its mails still share a thread.
    static func threadRoot(_ incidentID: String) -> String { "<\(incidentID.lowercased()).thread@notifier.supportdesk>" }

    static func dueAt(_ message: Message) -> Date? {
        guard message.state == .pending else { return nil }
        return max(message.hasNotBefore ? message.notBefore.date : .distantPast, message.hasNextAttemptAt ? message.nextAttemptAt.date : .distantPast)
    }

    static func update(_ message: Message, in db: Database) throws {
        try db.executeCached(
            sql: "UPDATE message SET state = ?, due_at = ?, document = ? WHERE id = ?",
            arguments: [message.state.rawValue, Self.dueAt(message)?.timeIntervalSince1970, try message.serializedBytes() as Data, message.id]
        )
    }

    static func message(_ id: String, in db: Database) throws -> Message? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM message WHERE id = ?"), arguments: [id]).map { try Message(serializedBytes: $0) }
    }

    static func messages(incident: String, state: Support_Notifier_V1_MessageState, offset: Int, limit: Int, in db: Database) throws -> [Message] {
        try Data.fetchAll(
            db.cachedStatement(sql: "SELECT document FROM message WHERE (? = '' OR incident_id = ?) AND (? = 0 OR state = ?) ORDER BY number LIMIT ? OFFSET ?"),
            arguments: [incident, incident, state.rawValue, state.rawValue, limit, offset]
        ).map { try Message(serializedBytes: $0) }
    }

    /// The oldest pending message due by `now`.
    static func nextDue(by now: Date, in db: Database) throws -> Message? {
        try Data.fetchOne(
            db.cachedStatement(sql: "SELECT document FROM message WHERE state = ? AND due_at <= ? ORDER BY due_at, number LIMIT 1"),
            arguments: [Support_Notifier_V1_MessageState.pending.rawValue, now.timeIntervalSince1970]
        ).map { try Message(serializedBytes: $0) }
    }

    static func nextDueTime(in db: Database) throws -> Date? {
        try Double.fetchOne(
            db.cachedStatement(sql: "SELECT MIN(due_at) FROM message WHERE state = ?"), arguments: [Support_Notifier_V1_MessageState.pending.rawValue]
        ).map { Date(timeIntervalSince1970: $0) }
    }

    /// The office-local days already taken by a status report (sent, pending or deferred) of the incident.
    static func reportDays(of incidentID: String, in db: Database) throws -> Set<String> {
        Set(try String.fetchAll(
            db.cachedStatement(sql: "SELECT report_day FROM message WHERE incident_id = ? AND template = 'status-report' AND state != ? AND report_day IS NOT NULL"),
            arguments: [incidentID, Support_Notifier_V1_MessageState.suppressed.rawValue]
        ))
    }

    /// The office-local days after `day` for which a status report of the
    /// incident is pending (queued or deferred).
    static func reportDays(of incidentID: String, pendingAfter day: String, in db: Database) throws -> [String] {
        try String.fetchAll(
            db.cachedStatement(sql: "SELECT DISTINCT report_day FROM message WHERE incident_id = ? AND template = 'status-report' AND state = ? AND report_day > ?"),
            arguments: [incidentID, Support_Notifier_V1_MessageState.pending.rawValue, day]
        )
    }

    /// Pending status reports due by `now`, oldest first.
    static func dueStatusReports(by now: Date, in db: Database) throws -> [Message] {
        try Data.fetchAll(
            db.cachedStatement(sql: "SELECT document FROM message WHERE template = 'status-report' AND state = ? AND due_at <= ? ORDER BY due_at, number"),
            arguments: [Support_Notifier_V1_MessageState.pending.rawValue, now.timeIntervalSince1970]
        ).map { try Message(serializedBytes: $0) }
    }

    // MARK: Calls and reports

    static func insertCall(_ call: Support_Notifier_V1_CallTask, in db: Database) throws {
        let number = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(number), 0) + 1 FROM call_task"))!
        var call = call
        call.id = numberedID("CALL-", number, digits: 6)
        try db.executeCached(
            sql: "INSERT OR IGNORE INTO call_task (number, id, message_id, incident_id, document) VALUES (?, ?, ?, ?, ?)",
            arguments: [number, call.id, call.messageID, call.incidentID, try call.serializedBytes() as Data]
        )
    }

    static func calls(incident: String, offset: Int, limit: Int, in db: Database) throws -> [Support_Notifier_V1_CallTask] {
        try Data.fetchAll(
            db.cachedStatement(sql: "SELECT document FROM call_task WHERE (? = '' OR incident_id = ?) ORDER BY number LIMIT ? OFFSET ?"),
            arguments: [incident, incident, limit, offset]
        ).map { try Support_Notifier_V1_CallTask(serializedBytes: $0) }
    }

    static func save(_ report: Support_Notifier_V1_Report, in db: Database) throws -> Support_Notifier_V1_Report {
        let number = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(number), 0) + 1 FROM report"))!
        var report = report
        report.id = numberedID("RPT-", number, digits: 6)
        try db.executeCached(
            sql: "INSERT INTO report (number, id, certificate_id, quarter, document) VALUES (?, ?, ?, ?, ?)",
            arguments: [number, report.id, report.certificateID, report.quarter, try report.serializedBytes() as Data]
        )
        return report
    }

    static func update(_ report: Support_Notifier_V1_Report, in db: Database) throws {
        try db.executeCached(sql: "UPDATE report SET document = ? WHERE id = ?", arguments: [try report.serializedBytes() as Data, report.id])
    }

    // MARK: Rosters

    /// Keeps `roster` unless a newer version of it is kept (issue 23).
    /// Returns whether it was kept.
    @discardableResult
    static func save(_ roster: StaffRoster, in db: Database) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT INTO roster (office, certificate_id, version, document) VALUES (?, ?, ?, ?)
                ON CONFLICT(office, certificate_id) DO UPDATE SET version = excluded.version, document = excluded.document
                WHERE excluded.version >= roster.version
                """,
            arguments: [roster.office, roster.certificateID, roster.version, try roster.serializedBytes() as Data]
        )
        return db.changesCount > 0
    }

    static func rosters(in db: Database) throws -> [StaffRoster] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT document FROM roster ORDER BY office, certificate_id"))
            .map { try StaffRoster(serializedBytes: $0) }
    }
}
