import Foundation
import SupportProto

/// Human renderings of the contract's messages.
enum Render {
    static func certificate(_ certificate: Support_Intake_V1_Certificate) -> String {
        var lines = [
            "\(certificate.id)  \(certificate.customer)  (\(certificate.tier.label), office \(certificate.office), revision \(certificate.revision))",
            certificate.validFromDate.isEmpty
                ? "valid \(certificate.validFrom.text(office: certificate.office)) to \(certificate.validUntil.text(office: certificate.office)); TAM \(certificate.tam)"
                : "valid \(certificate.validFromDate) through \(certificate.validUntilDate) (\(certificate.office) days); TAM \(certificate.tam)",
            "contacts (\(certificate.contacts.count) of 8):",
        ]
        if !certificate.language.isEmpty { lines[1] += "; mail in \(certificate.language)" }
        lines += certificate.contacts.map {
            "  \($0.name) <\($0.email)>\($0.phone.isEmpty ? "" : " \($0.phone)")\($0.language.isEmpty ? "" : " (\($0.language))")"
        }
        if !certificate.history.isEmpty {
            lines.append("revisions:")
            lines += certificate.history.map { "  \($0.revision)  \($0.at.text(office: certificate.office))  \($0.actor): \($0.summary)" }
        }
        return lines.joined(separator: "\n")
    }

    static func incidentLine(_ incident: Support_Intake_V1_Incident) -> String {
        "\(incident.id)  severity \(incident.severity)  \(incident.state.label)  (\(incident.side.label)'s side)"
    }

    static func incident(_ incident: Support_Intake_V1_Incident) -> String {
        var lines = [
            "\(incident.id)  \(incident.title)",
            "certificate \(incident.certificateID) (\(incident.customer), \(incident.tier.label), office \(incident.office), TAM \(incident.tam))",
            "reported by \(incident.contact.name) <\(incident.contact.email)>\(incident.contact.language.isEmpty ? "" : " (\(incident.contact.language))") via \(incident.channel.label)"
                + (incident.enteredBy.isEmpty ? "" : ", entered by \(incident.enteredBy)") + "; kind \(Self.kind(incident.kind))",
            "severity \(incident.severity)  state \(incident.state.label)  on the \(incident.side.label)'s side since \(incident.sideSince.text(office: incident.office))",
            "opened \(incident.openedAt.text(office: incident.office))" + (incident.phoneAdvised ? "  (phone advised, R-SLA-3)" : ""),
        ]
        if !incident.cc.isEmpty { lines.append("cc: " + incident.cc.map { "\($0.name) <\($0.email)> (\($0.language))" }.joined(separator: ", ")) }
        // The thread shows the description as its first article.
        if incident.thread.isEmpty && !incident.description_p.isEmpty { lines.append("description: \(incident.description_p)") }
        if !incident.problemID.isEmpty { lines.append("problem \(incident.problemID)") }
        if !incident.resolution.isEmpty { lines.append("resolution: \(incident.resolution)") }
        if incident.state == .closed { lines.append("closed \(incident.closedAt.text(office: incident.office)): \(Self.closure(incident.closureReason))") }
        lines.append("severity history:")
        lines += incident.severityHistory.map {
            "  \($0.at.text(office: incident.office))  \($0.fromSeverity == 0 ? "" : "\($0.fromSeverity) → ")\($0.toSeverity)  by \($0.changedBy): \($0.reason)"
        }
        if !incident.thread.isEmpty {
            lines.append("thread:")
            lines += incident.thread.flatMap { Self.article($0, office: incident.office) }
        } else if !incident.conversation.isEmpty {
            // A service from before the thread (issue 22).
            lines.append("conversation:")
            lines += incident.conversation.map { "  \($0.at.text(office: incident.office))  \(Self.entry($0.kind)) by \($0.author): \($0.text)" }
        }
        return lines.joined(separator: "\n")
    }

    /// One article of the thread: a heading (number, time as the office
    /// reads it, what, who, how; internal notes marked `[internal]`), then
    /// its text indented.
    static func article(_ article: Support_Common_V1_Article, office: String) -> [String] {
        var heading = "  #\(article.number)  \(article.at.text(office: office))  "
        if article.visibility != .public { heading += "[internal] " }
        heading += article.kind.label
        if article.direction != .internal { heading += " \(article.direction.label)" }
        heading += " by \(article.author)"
        if article.channel != .unspecified { heading += " via \(article.channel.label)" }
        if !article.enteredBy.isEmpty { heading += " (entered by \(article.enteredBy))" }
        if article.hasClosure {
            var reason = article.closure
            reason.detail = ""  // it is the article's text
            heading += ": \(Self.closure(reason))"
        }
        var lines = [heading]
        if !article.text.isEmpty {
            lines += article.text.split(separator: "\n", omittingEmptySubsequences: false).map { "      \($0)" }
        }
        lines += article.attachments.map { "      [attachment] \($0.name) (\($0.mediaType), \($0.sizeBytes) bytes, sha256 \($0.sha256))" }
        return lines
    }

    static func problem(_ problem: Support_Intake_V1_Problem) -> String {
        var lines = ["\(problem.id)  \(problem.title)  (\(problem.state == .knownError ? "known error" : "open"))"]
        if !problem.incidentIds.isEmpty { lines.append("incidents: \(problem.incidentIds.joined(separator: ", "))") }
        if !problem.rootCause.isEmpty { lines.append("root cause: \(problem.rootCause)") }
        if !problem.workaround.isEmpty { lines.append("workaround: \(problem.workaround)") }
        if !problem.permanentFix.isEmpty { lines.append("permanent fix: \(problem.permanentFix)") }
        return lines.joined(separator: "\n")
    }

    static func portal(_ account: Support_Intake_V1_CompanyAccountAvailability) -> String {
        let state = account.available ? "available (email is closed, R-CH-3)" : "unavailable (email is open, R-CH-3)"
        return "portal \(state)" + (account.hasSince ? " since \(account.since.text) by \(account.changedBy)" : "")
    }

    static func kind(_ kind: Support_Common_V1_IncidentKind) -> String { kind.label }

    static func closure(_ reason: Support_Common_V1_ClosureReason) -> String {
        let kind: String
        switch reason.kind {
        case .resolved: kind = "resolved"
        case .customerTimeout: kind = "customer-timeout"
        case .notReproducible: kind = "not-reproducible"
        case .outOfScope: kind = "out-of-scope:\(reason.outOfScopeReason.label)"
        default: kind = "unspecified"
        }
        return reason.detail.isEmpty ? kind : "\(kind) (\(reason.detail))"
    }

    static func entry(_ kind: Support_Intake_V1_ConversationEntry.Kind) -> String {
        switch kind {
        case .response: "response"
        case .infoRequest: "info request"
        case .infoProvided: "info provided"
        case .workaround: "workaround"
        case .note: "note"
        default: "entry"
        }
    }
}
