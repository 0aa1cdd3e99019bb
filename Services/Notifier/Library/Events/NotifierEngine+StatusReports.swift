import ServiceKit
import BusinessCalendar
import Foundation
import GRDB
import SupportProto
import SupportRPC

typealias StatusReportResponse = Support_Notifier_V1_RequestStatusReportResponse

extension NotifierEngine {
    /// R-REP-2: a status report on an open severity-1 incident, at most one
    /// per calendar day in the office's time zone. A second request that day
    /// is recorded as suppressed with the reason, or deferred to the first
    /// free day when asked.
    func requestStatusReport(_ incident: String, deferIfSuppressed: Bool, now: Date, in db: Database) throws -> StatusReportResponse {
        guard let view = try NotifierStore.incident(incident, in: db) else {
            throw ServiceError(
                .notFound, reason: "INCIDENT_NOT_FOUND", field: "incident_id",
                "notifier knows no incident \(incident); it learns of incidents from intake's events"
            )
        }
        let snapshot = view.snapshot
        guard ![.resolved, .closed].contains(snapshot.state) else {
            throw Self.refusal("INCIDENT_NOT_OPEN", "\(incident) is \(snapshot.state == .closed ? "closed" : "resolved"); status reports are for open incidents (R-REP-2)")
        }
        guard snapshot.severity == 1 else {
            throw Self.refusal(
                "NOT_INDIVIDUALLY_REPORTED",
                "\(incident) is severity \(snapshot.severity): severities 2-4 are not reported individually, their status goes in the quarterly report (R-REP-2); use supportctl report quarterly"
            )
        }
        let office = try self.office(snapshot.office, incident: incident)
        guard let today = office.localDate(at: now) else {
            throw Self.refusal("CLOCK_OUT_OF_RANGE", "notifier's clock (\(now)) is outside the years the calendar handles; set it to a time in 1970-9999")
        }
        let taken = try NotifierStore.reportDays(of: incident, in: db)
        var values = try self.values(incident, snapshot: snapshot, due: view.dueAt)
        values.merge(Self.stateValues(snapshot.state)) { $1 }
        // R-COM-1: the reporting contact and the cc contacts, each in its language.
        let drafts = Self.customerDrafts("status-report", snapshot, values)
        let batch = UUID().uuidString
        var response = StatusReportResponse()
        let create = { (day: LocalDate, notBefore: Date?, state: Support_Notifier_V1_MessageState, reason: String) throws -> [Message] in
            try drafts.map { draft in
                var draft = draft
                draft.values["report_day"] = day.description
                return try self.create(
                    draft, incident: incident, eventID: "", certificate: snapshot.certificateID, now: now,
                    dedupKey: "status|\(incident)|\(batch)|\(draft.recipient.email.lowercased())",
                    notBefore: notBefore, reportDay: day.description, state: state, reason: reason, in: db
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
