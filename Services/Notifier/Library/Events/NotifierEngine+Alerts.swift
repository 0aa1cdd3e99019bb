import BusinessCalendar
import Foundation
import GRDB
import SupportProto

extension NotifierEngine {
    /// The staff kind that tells the responsible person of a severity-1 or
    /// 2 incident the moment it arrives or is raised (issue 23, finding 3).
    static let alertTemplate = "incident-alert"

    /// R-ORG-4, R-SLA-3: a new severity-1 or 2 incident, or one raised to 1
    /// or 2 from a lower-priority severity, alerts whoever is responsible at
    /// the event's time at once: the owner of the incident's escalation
    /// level and the TAM, or out of the TAM's hours the duty manager on
    /// shift, each once. Severity 1 is also a call task for each of them,
    /// whatever `phoneTemplates` says: waiting for the first warning (75 %
    /// of 30 minutes) would leave a phoned-in outbreak unattended.
    ///
    /// - Parameters:
    ///   - raisedFrom: The severity before a raise; nil for an opening.
    func arrivalAlert(incident: String, raisedFrom: Int?, at: Date, in db: Database) throws -> [Draft] {
        guard let view = try NotifierStore.incident(incident, in: db) else { return [] }
        let snapshot = view.snapshot
        let severity = Int(snapshot.severity)
        guard Self.alerts(severity: severity, raisedFrom: raisedFrom) else { return [] }
        let zone = try self.office(snapshot.office, incident: incident).timeZone
        var values = try self.values(incident, snapshot: snapshot, due: view.dueAt)
        values["opened_local"] = LocalTime.text(snapshot.openedAt.date, zone)
        values["at_local"] = LocalTime.text(at, zone)
        values["channel"] = Self.channelName(snapshot.channel)
        if let raisedFrom { values["raised_from"] = raisedFrom }
        values["phone"] = severity == 1
        // R-SLA-3: the customer was told to call the priority line; the clock
        // waits for the opening unless they do.
        values["phone_advised"] = snapshot.phoneAdvised
        values["priority_line"] = self.config.priorityLine
        return self.levelOwnerAndTAM(view, at: at).flatMap { staff -> [Draft] in
            let mail = self.staffDraft(Self.alertTemplate, staff, values)
            guard severity == 1, !staff.recipient.phone.isEmpty else { return [mail] }
            var call = mail
            call.transport = .phone
            return [mail, call]
        }
    }

    /// Severity 1 and 2 are alerted on arrival; a change alerts only when it
    /// raises the priority (a lower number) into 1 or 2.
    static func alerts(severity: Int, raisedFrom: Int?) -> Bool {
        guard (1...2).contains(severity) else { return false }
        guard let raisedFrom else { return true }
        return raisedFrom <= 0 || raisedFrom > severity
    }

    static func channelName(_ channel: Support_Common_V1_Channel) -> String {
        switch channel {
        case .portal: "portal"
        case .phone: "priority phone line"
        case .email: "email"
        case .tam: "the TAM directly"
        default: "\(channel)"
        }
    }
}
