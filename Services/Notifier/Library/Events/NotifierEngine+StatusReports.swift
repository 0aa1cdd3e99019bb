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
        var draft = Draft(template: "status-report", recipient: Recipients.contact(snapshot), values: try self.values(incident, snapshot: snapshot, due: view.dueAt))
        draft.values["state"] = Self.stateName(snapshot.state)
        let key = "status|\(incident)|\(UUID().uuidString)"
        var response = StatusReportResponse()
        if !taken.contains(today.description) {
            draft.values["report_day"] = today.description
            response.outcome = .queued
            response.messages = [try self.create(draft, incident: incident, eventID: "", certificate: snapshot.certificateID, now: now, dedupKey: key, reportDay: today.description, in: db)]
        } else if deferIfSuppressed {
            var day = today.adding(days: 1)
            while taken.contains(day.description) { day = day.adding(days: 1) }
            draft.values["report_day"] = day.description
            response.outcome = .deferred
            response.messages = [try self.create(
                draft, incident: incident, eventID: "", certificate: snapshot.certificateID, now: now, dedupKey: key,
                notBefore: Self.midnight(day, office.timeZone), reportDay: day.description, in: db
            )]
        } else {
            draft.values["report_day"] = today.description
            let reason = "a status report was already sent or queued on \(today) (\(office.timeZone.identifier)); severity 1 gets at most one a day (R-REP-2): ask again tomorrow, or with --defer to queue it for then"
            response.outcome = .suppressed
            response.messages = [try self.create(
                draft, incident: incident, eventID: "", certificate: snapshot.certificateID, now: now, dedupKey: key,
                state: .suppressed, reason: reason, in: db
            )]
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
