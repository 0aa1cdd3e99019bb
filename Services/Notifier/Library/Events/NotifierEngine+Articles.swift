import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto

typealias Article = Support_Common_V1_Article

extension NotifierEngine {
    /// The template of each article kind the vendor writes to the customer;
    /// nil for the customer's own articles and for notes.
    static func articleTemplate(_ kind: Support_Common_V1_ArticleKind) -> String? {
        switch kind {
        case .response: "article-response"
        case .infoRequest: "article-info-request"
        case .workaround: "article-workaround"
        case .reply: "article-reply"
        case .resolution: "article-resolution"
        case .closure: "article-closure"
        case .reopen: "article-reopen"
        case .statusReport: "article-status-report"
        case .specialistProgress: "article-specialist-progress"
        default: nil
        }
    }

    /// R-COM-1: a public vendor article, with the text staff wrote, to the
    /// reporting contact and every cc contact, each in its language
    /// (R-COM-3). A customer's own message mails nothing, and an internal
    /// article never leaves notifier (R-COM-2): intake sends none, and one
    /// that came anyway is dropped here too.
    func articleDrafts(_ added: Support_Events_V1_ArticleAdded, incident: String, at: Date, in db: Database) throws -> [Draft] {
        let article = added.article
        guard article.direction == .toCustomer, article.visibility == .public, article.kind != .note,
            let template = Self.articleTemplate(article.kind)
        else { return [] }
        let snapshot = added.incident
        let zone = try self.office(snapshot.office, incident: incident).timeZone
        let written = article.hasAt ? article.at.date : at
        if article.kind == .infoRequest {
            // R-SLA-6: the one-month warning will quote it.
            try NotifierStore.saveInfoRequest(.init(article: Int(article.number), text: article.text, askedAt: written), incidentID: incident, in: db)
        }
        var values = try self.values(incident, snapshot: snapshot, due: nil)
        // The customer-timeout closure's text is intake's English note for
        // the record; the template explains the timeout in the reader's words.
        let machineWritten = article.kind == .closure && article.closure.kind == .customerTimeout
        values["text"] = article.text
        values["has_text"] = !machineWritten && !article.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        values["at_local"] = LocalTime.text(written, zone)
        // Said on the phone and recorded by staff (R-SLA-1): the mail confirms it.
        values["by_phone"] = article.channel == .phone
        if let author = self.recipients.person(article.author, role: .tam) { values["author_name"] = author.name }
        if !article.attachments.isEmpty {
            // Names and sizes only: the bytes stay in intake, behind the portal.
            values["has_attachments"] = true
            values["attachments"] = article.attachments.map { ["name": $0.name, "size": Self.size($0.sizeBytes)] as [String: Any] }
        }
        if article.kind == .closure {
            values.merge(Self.closureValues(article.closure, text: machineWritten ? "" : article.text)) { $1 }
            if machineWritten { values["detail"] = nil }
        }
        return Self.customerDrafts(template, snapshot, values)
    }

    /// Flags the closure template explains in its language, without rule
    /// ids: the kind, and for out-of-scope which reason (R-SCOPE-2,
    /// R-SCOPE-3); the customer timeout is R-SLA-6. `detail` when staff
    /// recorded one that the article's text does not already say.
    static func closureValues(_ reason: Support_Common_V1_ClosureReason, text: String) -> [String: Any] {
        var values: [String: Any] = [:]
        switch reason.kind {
        case .resolved: values["closure_resolved"] = true
        case .customerTimeout: values["closure_customer_timeout"] = true
        case .notReproducible: values["closure_not_reproducible"] = true
        case .outOfScope:
            values["closure_out_of_scope"] = true
            let key =
                switch reason.outOfScopeReason {
                case .alreadyResolved: "oos_already_resolved"
                case .previousSolution: "oos_previous_solution"
                case .hardwareFault: "oos_hardware_fault"
                case .unsupportedPlatform: "oos_unsupported_platform"
                case .thirdPartyApplication: "oos_third_party_application"
                case .informationNotProvided: "oos_information_not_provided"
                case .misuse: "oos_misuse"
                case .accessRefused: "oos_access_refused"
                case .causeOutsideProduct: "oos_cause_outside_product"
                default: "oos_other"
                }
            values[key] = true
        default: values["closure_other"] = true
        }
        let detail = reason.detail.trimmingCharacters(in: .whitespacesAndNewlines)
        if !detail.isEmpty, !text.contains(detail) { values["detail"] = detail }
        return values
    }

    /// R-ESC-2: the customer's escalation was received; who owns the
    /// incident now. To the incident's customer addressees and the contact
    /// who asked, if another one; an address that is no contact of the
    /// certificate is not written to.
    func escalationReceived(
        _ escalated: Support_Events_V1_Escalated, incident: String, view: NotifierStore.IncidentView, level: Int, at: Date, in db: Database
    ) throws -> [Draft] {
        let snapshot = view.snapshot
        var addressees = Recipients.customer(snapshot)
        let requester = escalated.requestedBy.lowercased()
        if requester.contains("@") {
            let contacts = (try NotifierStore.certificate(snapshot.certificateID, in: db)?.contacts ?? []) + snapshot.cc
            if let contact = contacts.first(where: { $0.email.lowercased() == requester }) {
                addressees = Recipients.unique(addressees + [.init(recipient: Recipients.contact(contact), language: Templates.language(contact.language))])
            }
        }
        let zone = try self.office(snapshot.office, incident: incident).timeZone
        var values = try self.values(incident, snapshot: snapshot, due: view.dueAt)
        values["level"] = level
        values["at_local"] = LocalTime.text(at, zone)
        // Who owns it now: the roster's person for the new level (R-ESC-1).
        let owner = [escalated.levelOwner.name, escalated.responsible.name].first { !$0.isEmpty }
            ?? self.recipients.levelOwner(level, tam: snapshot.tam, office: snapshot.office, at: at)?.recipient.name
        if let owner { values["owner_name"] = owner }
        values[level == 3 ? "owner_account_manager" : level == 2 ? "owner_support_lead" : "owner_tam"] = true
        // The customer's own words; escalation's English stand-in for none is left out.
        if !escalated.reason.isEmpty, escalated.reason != Self.escalationDefaultReason {
            values["reason"] = Self.localisingTimestamps(escalated.reason, zone)
        }
        return addressees.map { Self.customerDraft("escalation-received", $0, values) }
    }

    /// The reason escalation records for a customer's escalation that gave none.
    static let escalationDefaultReason = "escalated by the customer"

    /// "2.4 MB": an attachment's size as the mail lists it.
    static func size(_ bytes: UInt64) -> String {
        guard bytes >= 1024 else { return "\(bytes) B" }
        let units = ["KB", "MB", "GB", "TB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return "\(String(format: value < 10 ? "%.1f" : "%.0f", value)) \(units[unit])"
    }

    /// `text` with each UTC instant written as RFC 3339 by another service
    /// ("2026-12-07T06:00:00Z") replaced by the office's local time.
    static func localisingTimestamps(_ text: String, _ zone: TimeZone) -> String {
        guard let pattern = try? NSRegularExpression(pattern: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"#) else { return text }
        var result = text
        let parser = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            guard let range = Range(match.range, in: result) else { continue }
            let stamp = String(result[range])
            guard let date = parser.date(from: stamp) ?? fractional.date(from: stamp) else { continue }
            result.replaceSubrange(range, with: LocalTime.text(date, zone))
        }
        return result
    }
}
