import ServiceKit
import BusinessCalendar
import Foundation
import GRDB
import SupportProto
import SupportRPC

typealias Report = Support_Notifier_V1_Report

/// R-REP-1: the TAM's periodic report of one certificate — every incident of
/// the period with its severity history, response cycles met and breached
/// (from sla-timer's events), escalations and open items — as Markdown.
struct QuarterlyReport {
    /// One incident's line in the report.
    struct Line {
        var id: String
        var title: String
        var severities: [String]
        var met = 0
        var breached = 0
        var escalations = 0
        var state: Support_Common_V1_IncidentState
        var severity: Int32
    }

    /// `[start, end)` of a "YYYYQn" calendar quarter in `zone`.
    static func period(_ quarter: String, zone: TimeZone) -> (Date, Date)? {
        let parts = quarter.uppercased().split(separator: "Q")
        // 9999Q4 would end on 10000-01-01, which LocalDate does not hold:
        // nil, not a trap (issue 21).
        guard parts.count == 2, let year = Int(parts[0]), (1970...9999).contains(year), let q = Int(parts[1]), (1...4).contains(q),
            let start = LocalDate(year: year, month: (q - 1) * 3 + 1, day: 1),
            let end = q == 4 ? LocalDate(year: year + 1, month: 1, day: 1) : LocalDate(year: year, month: q * 3 + 1, day: 1)
        else { return nil }
        return (NotifierEngine.midnight(start, zone), NotifierEngine.midnight(end, zone))
    }

    /// The report of `certificate` for `quarter`, up to `now` for the current one.
    static func build(certificate: Certificate, quarter: String, zone: TimeZone, now: Date, in db: Database) throws -> Report {
        guard let (start, end) = Self.period(quarter, zone: zone) else {
            throw RPCError.invalidArgument(field: "quarter", "quarter must be YYYYQn with n in 1..4, from 1970Q1 to 9999Q3, e.g. 2026Q4, not \"\(quarter)\"")
        }
        guard start <= now else { throw ServiceError(.failedPrecondition, reason: "QUARTER_NOT_STARTED", field: "quarter", "\(quarter) has not started yet; ask for a quarter that has") }
        if certificate.hasValidFrom, certificate.hasValidUntil, end <= certificate.validFrom.date || start >= certificate.validUntil.date {
            throw ServiceError(
                .failedPrecondition, reason: "QUARTER_OUTSIDE_VALIDITY", field: "quarter",
                "\(quarter) lies wholly outside certificate \(certificate.certificateID)'s validity"
            )
        }
        // The period is [start, end); the current quarter's report also
        // counts what happened at `now` itself (a response just recorded).
        let counts = { (date: Date) in date < end && date <= now }
        var lines: [Line] = []
        for (id, latest) in try NotifierStore.incidents(certificate: certificate.certificateID, openedBefore: end, in: db)
        where counts(latest.openedAt.date) {
            let events = try NotifierStore.events(of: id, in: db).filter { counts($0.occurredAt.date) }
            var line = Line(id: id, title: latest.title, severities: [], state: latest.state, severity: latest.severity)
            var closedBefore = false
            // Cycles whose breach sla-timer withdrew (an answer recorded in
            // time reached it late): met, not breached. The withdrawal is
            // dated by the answer, so it sorts before the breach it undoes.
            let withdrawn = Set(events.compactMap { event -> String? in
                guard case .slaMet(let met) = event.payload, met.withdrawsBreach else { return nil }
                return met.cycle.cycleID
            })
            for event in events {
                let inPeriod = event.occurredAt.date >= start
                let local = LocalTime.text(event.occurredAt.date, zone)
                if let snapshot = event.incidentSnapshot {
                    line.state = snapshot.state
                    line.severity = snapshot.severity
                    closedBefore = snapshot.state == .closed && !inPeriod
                }
                switch event.payload {
                case .incidentOpened(let opened): line.severities.append("\(opened.incident.severity) (opened \(local))")
                case .severityChanged(let change): line.severities.append("\(change.toSeverity) (\(local))")
                case .slaMet where inPeriod: line.met += 1
                case .slaBreached(let breach) where inPeriod && !withdrawn.contains(breach.cycle.cycleID): line.breached += 1
                case .escalated where inPeriod: line.escalations += 1
                default: break
                }
            }
            if !closedBefore { lines.append(line) }
        }
        var report = Report()
        report.certificateID = certificate.certificateID
        report.customer = certificate.customer
        report.quarter = quarter.uppercased()
        report.periodStart = .init(date: start)
        report.periodEnd = .init(date: end)
        report.generatedAt = .init(date: now)
        report.incidentCount = UInt32(lines.count)
        report.cyclesMet = UInt32(lines.map(\.met).reduce(0, +))
        report.cyclesBreached = UInt32(lines.map(\.breached).reduce(0, +))
        report.escalationCount = UInt32(lines.map(\.escalations).reduce(0, +))
        let open = lines.filter { ![.resolved, .closed].contains($0.state) }
        report.openIncidentCount = UInt32(open.count)
        report.markdown = Self.markdown(report, lines: lines, open: open, zone: zone)
        return report
    }

    static func markdown(_ report: Report, lines: [Line], open: [Line], zone: TimeZone) -> String {
        var text = [
            "# Quarterly support report \(report.quarter): \(report.customer)",
            "",
            "Certificate \(report.certificateID); period \(LocalTime.text(report.periodStart.date, zone)) to \(LocalTime.text(report.periodEnd.date, zone)) (R-REP-1).",
            "",
            "- Incidents: \(report.incidentCount)",
            "- Response cycles met: \(report.cyclesMet)",
            "- Response cycles breached: \(report.cyclesBreached)",
            "- Escalations: \(report.escalationCount)",
            "- Open at the end of the period: \(report.openIncidentCount)",
            "",
            "## Incidents",
            "",
            "| Incident | Title | Severity history | Met | Breached | Escalations | State |",
            "|---|---|---|---|---|---|---|",
        ]
        for line in lines {
            let title = line.title.replacingOccurrences(of: "|", with: "\\|")
            text.append("| \(line.id) | \(title) | \(line.severities.joined(separator: " → ")) | \(line.met) | \(line.breached) | \(line.escalations) | \(NotifierEngine.stateName(line.state)) |")
        }
        text += ["", "## Open items", ""]
        text += open.isEmpty ? ["None."] : open.map { "- \($0.id) (severity \($0.severity), \(NotifierEngine.stateName($0.state))): \($0.title)" }
        return text.joined(separator: "\n") + "\n"
    }
}

extension NotifierEngine {
    /// Builds, stores and, with `send`, mails the report to the
    /// certificate's contacts and its TAM.
    func generateReport(certificate id: String, quarter: String, send: Bool, now: Date, in db: Database) throws -> Report {
        guard let certificate = try NotifierStore.certificate(id, in: db) else {
            throw ServiceError(
                .notFound, reason: "CERTIFICATE_NOT_FOUND", field: "certificate_id",
                "notifier knows no certificate \(id); it learns of certificates from intake's events"
            )
        }
        let zone = self.offices[certificate.office]?.timeZone ?? TimeZone(identifier: "UTC")!
        var report = try NotifierStore.save(QuarterlyReport.build(certificate: certificate, quarter: quarter, zone: zone, now: now, in: db), in: db)
        guard send else { return report }
        var recipients = certificate.contacts.map { Recipients.recipient(name: $0.name, email: $0.email, phone: $0.phone, role: .contact) }
        if let tam = self.recipients.person(certificate.tam, role: .tam) { recipients.append(tam) }
        for recipient in recipients {
            let values: [String: Any] = [
                "certificate": id, "quarter": report.quarter, "customer": report.customer, "recipient_name": recipient.name,
                "period_local": "\(LocalTime.text(report.periodStart.date, zone)) to \(LocalTime.text(report.periodEnd.date, zone))",
                "incident_count": report.incidentCount, "cycles_met": report.cyclesMet, "cycles_breached": report.cyclesBreached,
                "escalation_count": report.escalationCount, "open_count": report.openIncidentCount, "markdown": report.markdown,
            ]
            let message = try self.create(
                Draft(template: "quarterly-report", recipient: recipient, values: values), incident: "", eventID: "", certificate: id, now: now,
                dedupKey: "report|\(report.id)|\(recipient.email.lowercased())", in: db
            )
            report.messageIds.append(message.id)
        }
        try NotifierStore.update(report, in: db)
        return report
    }
}
