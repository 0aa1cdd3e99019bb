import ServiceKit
import BusinessCalendar
import Foundation
import GRDB
import SupportProto
import SupportRPC

typealias StatusReportResponse = Support_Notifier_V1_RequestStatusReportResponse
typealias StatusReportContent = Support_Notifier_V1_StatusReportContent

extension NotifierEngine {
    /// R-REP-2: a status report on an open severity-1 incident, at most one
    /// per calendar day in the office's time zone, carrying the TAM's `text`
    /// and `nextAction`. A second request that day is recorded as suppressed
    /// with the reason, or deferred to the first free day when asked.
    ///
    /// Each message keeps the TAM's part (``StatusReportContent``) so that
    /// ``renderDueStatusReports(now:in:)`` renders it again with the
    /// incident's state when it is sent (issue 23, finding 7: a deferred
    /// report showed the state of the day it was asked for).
    func requestStatusReport(
        _ incident: String, text: String, nextAction: String = "", deferIfSuppressed: Bool, now: Date, in db: Database
    ) throws -> StatusReportResponse {
        guard let view = try NotifierStore.incident(incident, in: db) else {
            throw ServiceError(
                .notFound, reason: "INCIDENT_NOT_FOUND", field: "incident_id",
                "notifier knows no incident \(incident); it learns of incidents from intake's events"
            )
        }
        let snapshot = view.snapshot
        if let refusal = Self.notReported(incident, snapshot) { throw Self.refusal(refusal.reason, refusal.message) }
        let office = try self.office(snapshot.office, incident: incident)
        guard let today = office.localDate(at: now) else {
            throw Self.refusal("CLOCK_OUT_OF_RANGE", "notifier's clock (\(now)) is outside the years the calendar handles; set it to a time in 1970-9999")
        }
        let taken = try NotifierStore.reportDays(of: incident, in: db)
        let batch = UUID().uuidString
        var response = StatusReportResponse()
        let create = { (day: LocalDate, notBefore: Date?, state: Support_Notifier_V1_MessageState, reason: String) throws -> [Message] in
            // R-COM-1: the reporting contact and the cc contacts, each in its language.
            try Recipients.customer(snapshot).map { addressee in
                var content = StatusReportContent()
                content.text = text
                content.nextAction = nextAction
                content.reportDay = day.description
                content.language = addressee.language
                let draft = try self.statusReportDraft(view, incident: incident, recipient: addressee.recipient, content: content, in: db)
                return try self.create(
                    draft, incident: incident, eventID: "", certificate: snapshot.certificateID, now: now,
                    dedupKey: "status|\(incident)|\(batch)|\(draft.recipient.email.lowercased())",
                    notBefore: notBefore, reportDay: day.description, state: state, reason: reason, statusReport: content, in: db
                )
            }
        }
        if !taken.contains(today.description) {
            response.outcome = .queued
            response.messages = try create(today, nil, .pending, "")
        } else if deferIfSuppressed {
            var day = today.adding(days: 1)
            while taken.contains(day.description) { day = day.adding(days: 1) }
            response.outcome = .deferred
            response.messages = try create(day, Self.midnight(day, office.timeZone), .pending, "")
        } else {
            let reason = "a status report was already sent or queued on \(today) (\(office.timeZone.identifier)); severity 1 gets at most one a day (R-REP-2): ask again tomorrow, or with --defer to queue it for then"
            response.outcome = .suppressed
            response.messages = try create(today, nil, .suppressed, reason)
        }
        return response
    }

    /// Renders every pending status report due by `now` that has not been
    /// attempted yet from the incident as it is now, just before the
    /// delivery round sends it (R-REP-2: the state at send time). One whose
    /// incident is no longer reported on individually (resolved, closed, or
    /// lowered from severity 1) is suppressed with the reason instead.
    func renderDueStatusReports(now: Date, in db: Database) throws {
        for var message in try NotifierStore.dueStatusReports(by: now, in: db) where message.attempts.isEmpty && message.hasStatusReport {
            guard let view = try NotifierStore.incident(message.incidentID, in: db) else { continue }
            if let refusal = Self.notReported(message.incidentID, view.snapshot) {
                message.state = .suppressed
                message.suppressedReason = "not sent on its day: \(refusal.message)"
                message.clearNextAttemptAt()
            } else {
                let draft = try self.statusReportDraft(
                    view, incident: message.incidentID, recipient: message.recipients.first ?? Recipient(), content: message.statusReport, in: db
                )
                let rendered: Templates.Rendered
                do { rendered = try self.templates.render(draft.template, language: draft.language, draft.values) } catch { throw EngineError.render("\(error)") }
                (message.subject, message.body) = (rendered.subject, rendered.body)
            }
            try NotifierStore.update(message, in: db)
        }
    }

    /// One recipient's status report from the TAM's `content` and the
    /// incident as notifier sees it now.
    func statusReportDraft(
        _ view: NotifierStore.IncidentView, incident: String, recipient: Recipient, content: StatusReportContent, in db: Database
    ) throws -> Draft {
        var values = try self.values(incident, snapshot: view.snapshot, due: view.dueAt)
        values.merge(Self.stateValues(view.snapshot.state)) { $1 }
        values["report_day"] = content.reportDay
        values["text"] = content.text
        if !content.nextAction.isEmpty { values["next_action"] = content.nextAction }
        // Another report is promised only when one is queued for a later
        // day: notifier schedules none of its own (issue 23, finding 7).
        if let next = try NotifierStore.reportDays(of: incident, pendingAfter: content.reportDay, in: db).min() {
            values["next_report_day"] = next
        }
        var draft = Self.customerDraft("status-report", .init(recipient: recipient, language: content.language), values)
        draft.recipient = recipient
        return draft
    }

    /// Why `snapshot` gets no individual status report now, if it does not (R-REP-2).
    static func notReported(_ incident: String, _ snapshot: Snapshot) -> (reason: String, message: String)? {
        if [.resolved, .closed].contains(snapshot.state) {
            return ("INCIDENT_NOT_OPEN", "\(incident) is \(snapshot.state == .closed ? "closed" : "resolved"); status reports are for open incidents (R-REP-2)")
        }
        if snapshot.severity != 1 {
            return (
                "NOT_INDIVIDUALLY_REPORTED",
                "\(incident) is severity \(snapshot.severity): severities 2-4 are not reported individually, their status goes in the quarterly report (R-REP-2); use supportctl report quarterly"
            )
        }
        return nil
    }

    static func refusal(_ reason: String, _ message: String) -> ServiceError {
        ServiceError(.failedPrecondition, reason: reason, message)
    }

    /// The first instant of `day` in `zone`.
    /// (Gregorian components of a real date always make a Date, whatever
    /// the year; the unwrap holds for every LocalDate.)
    static func midnight(_ day: LocalDate, _ zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day))!
    }

    /// The flag of `state` the status report template words in its language.
    static func stateValues(_ state: Support_Common_V1_IncidentState) -> [String: Any] {
        let key =
            switch state {
            case .new: "state_new"
            case .inProgress: "state_in_progress"
            case .waitingCustomer: "state_waiting_customer"
            case .resolved: "state_resolved"
            case .closed: "state_closed"
            default: "state_unknown"
            }
        return [key: true]
    }

    static func stateName(_ state: Support_Common_V1_IncidentState) -> String {
        switch state {
        case .new: "new"
        case .inProgress: "in progress"
        case .waitingCustomer: "waiting for you"
        case .resolved: "resolved"
        case .closed: "closed"
        default: "unknown"
        }
    }
}
