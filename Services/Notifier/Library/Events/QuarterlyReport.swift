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
        /// One entry of the severity history: the level, from when.
        struct Severity {
            var level: Int32
            var at: Date
            var opened: Bool
        }

        var id: String
        var title: String
        var severities: [Severity]
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
        try Self.compile(certificate: certificate, quarter: quarter, zone: zone, now: now, in: db).report
    }

    /// The report (its Markdown in English, the staff's copy) and its
    /// lines, from which each contact's copy is written in its language.
    static func compile(certificate: Certificate, quarter: String, zone: TimeZone, now: Date, in db: Database) throws -> (report: Report, lines: [Line]) {
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
                if let snapshot = event.incidentSnapshot {
                    line.state = snapshot.state
                    line.severity = snapshot.severity
                    closedBefore = snapshot.state == .closed && !inPeriod
                }
                switch event.payload {
                case .incidentOpened(let opened): line.severities.append(.init(level: opened.incident.severity, at: event.occurredAt.date, opened: true))
                case .severityChanged(let change): line.severities.append(.init(level: change.toSeverity, at: event.occurredAt.date, opened: false))
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
        report.openIncidentCount = UInt32(lines.filter(\.isOpen).count)
        report.markdown = Self.markdown(report, lines: lines, zone: zone, language: Templates.defaultLanguage)
        return (report, lines)
    }

    /// The report as Markdown in `language` ("en", "ja"; R-COM-3): times
    /// in the office's local time, no rule ids.
    static func markdown(_ report: Report, lines: [Line], zone: TimeZone, language: String) -> String {
        let words = Words.of(language)
        let local = { (date: Date) in LocalTime.text(date, zone) }
        var text = [
            words.heading(report.quarter, report.customer),
            "",
            words.period(report.certificateID, local(report.periodStart.date), local(report.periodEnd.date)),
            "",
            "- \(words.incidents): \(report.incidentCount)",
            "- \(words.met): \(report.cyclesMet)",
            "- \(words.breached): \(report.cyclesBreached)",
            "- \(words.escalations): \(report.escalationCount)",
            "- \(words.openAtEnd): \(report.openIncidentCount)",
            "",
            "## \(words.incidentsHeading)",
            "",
            "| \(words.columns.joined(separator: " | ")) |",
            "|---|---|---|---|---|---|---|",
        ]
        for line in lines {
            let title = line.title.replacingOccurrences(of: "|", with: "\\|")
            let history = line.severities.map { "\($0.level) (\($0.opened ? "\(words.opened) " : "")\(local($0.at)))" }.joined(separator: " → ")
            text.append("| \(line.id) | \(title) | \(history) | \(line.met) | \(line.breached) | \(line.escalations) | \(words.state(line.state)) |")
        }
        let open = lines.filter(\.isOpen)
        text += ["", "## \(words.openItems)", ""]
        text += open.isEmpty ? [words.none] : open.map { "- \($0.id) (\(words.severity(Int($0.severity)))\(words.comma)\(words.state($0.state))): \($0.title)" }
        return text.joined(separator: "\n") + "\n"
    }

    /// The report's fixed words in each language notifier writes.
    struct Words: Sendable {
        var heading: @Sendable (String, String) -> String
        var period: @Sendable (String, String, String) -> String
        var incidents, met, breached, escalations, openAtEnd, incidentsHeading, openItems, none, opened, comma: String
        var columns: [String]
        var severity: @Sendable (Int) -> String
        var states: [Support_Common_V1_IncidentState: String]

        func state(_ state: Support_Common_V1_IncidentState) -> String { self.states[state] ?? "-" }

        static func of(_ language: String) -> Words { Templates.language(language) == "ja" ? .japanese : .english }

        static let english = Words(
            heading: { "# Quarterly support report \($0): \($1)" },
            period: { "Certificate \($0); period \($1) to \($2)." },
            incidents: "Incidents", met: "Response cycles met", breached: "Response cycles breached", escalations: "Escalations",
            openAtEnd: "Open at the end of the period", incidentsHeading: "Incidents", openItems: "Open items", none: "None.", opened: "opened", comma: ", ",
            columns: ["Incident", "Title", "Severity history", "Met", "Breached", "Escalations", "State"],
            severity: { "severity \($0)" },
            states: [.new: "new", .inProgress: "in progress", .waitingCustomer: "waiting for you", .resolved: "resolved", .closed: "closed"]
        )

        static let japanese = Words(
            heading: { "# 四半期サポートレポート \($0)（\($1) 様）" },
            period: { "証明書 \($0)、対象期間 \($1) ～ \($2)" },
            incidents: "インシデント数", met: "期限内の回答", breached: "期限を過ぎた回答", escalations: "エスカレーション",
            openAtEnd: "期末時点で対応中", incidentsHeading: "インシデント一覧", openItems: "対応中の案件", none: "ありません。", opened: "受付", comma: "、",
            columns: ["インシデント", "件名", "重要度の推移", "期限内", "期限超過", "エスカレーション", "状態"],
            severity: { "重要度 \($0)" },
            states: [.new: "受付済み", .inProgress: "対応中", .waitingCustomer: "お客様のご回答待ち", .resolved: "解決済み", .closed: "クローズ済み"]
        )
    }
}

extension QuarterlyReport.Line {
    var isOpen: Bool { ![.resolved, .closed].contains(self.state) }
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
        let compiled = try QuarterlyReport.compile(certificate: certificate, quarter: quarter, zone: zone, now: now, in: db)
        var report = try NotifierStore.save(compiled.report, in: db)
        guard send else { return report }
        // Each contact in its language (R-COM-3); the TAM in English.
        var addressees = certificate.contacts.map { Recipients.Addressee(recipient: Recipients.contact($0), language: Templates.language($0.language)) }
        if let tam = self.recipients.person(certificate.tam, role: .tam) { addressees.append(.init(recipient: tam, language: Templates.defaultLanguage)) }
        for addressee in Recipients.unique(addressees) {
            let recipient = addressee.recipient
            let values: [String: Any] = [
                "certificate": id, "quarter": report.quarter, "customer": report.customer, "recipient_name": recipient.name,
                "period_start_local": LocalTime.text(report.periodStart.date, zone), "period_end_local": LocalTime.text(report.periodEnd.date, zone),
                "incident_count": report.incidentCount, "cycles_met": report.cyclesMet, "cycles_breached": report.cyclesBreached,
                "escalation_count": report.escalationCount, "open_count": report.openIncidentCount,
                "markdown": QuarterlyReport.markdown(report, lines: compiled.lines, zone: zone, language: addressee.language),
            ]
            let message = try self.create(
                Draft(template: "quarterly-report", recipient: recipient, values: values, language: addressee.language), incident: "", eventID: "",
                certificate: id, now: now, dedupKey: "report|\(report.id)|\(recipient.email.lowercased())", in: db
            )
            report.messageIds.append(message.id)
        }
        try NotifierStore.update(report, in: db)
        return report
    }
}
