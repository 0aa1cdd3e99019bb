import Foundation
import SupportProto

/// Human renderings of the contract's messages.
enum Render {
    static func certificate(_ certificate: Support_Intake_V1_Certificate) -> String {
        var lines = [
            "\(certificate.id)  \(certificate.customer)  (\(certificate.tier.label), office \(certificate.office), revision \(certificate.revision))",
            "valid \(certificate.validFrom.text(office: certificate.office)) to \(certificate.validUntil.text(office: certificate.office)); TAM \(certificate.tam)",
            "contacts (\(certificate.contacts.count) of 8):",
        ]
        lines += certificate.contacts.map { "  \($0.name) <\($0.email)>\($0.phone.isEmpty ? "" : " \($0.phone)")" }
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
            "reported by \(incident.contact.name) <\(incident.contact.email)> via \(incident.channel.label); kind \(Self.kind(incident.kind))",
            "severity \(incident.severity)  state \(incident.state.label)  on the \(incident.side.label)'s side since \(incident.sideSince.text(office: incident.office))",
            "opened \(incident.openedAt.text(office: incident.office))" + (incident.phoneAdvised ? "  (phone advised, R-SLA-3)" : ""),
        ]
        if !incident.description_p.isEmpty { lines.append("description: \(incident.description_p)") }
        if !incident.problemID.isEmpty { lines.append("problem \(incident.problemID)") }
        if !incident.resolution.isEmpty { lines.append("resolution: \(incident.resolution)") }
        if incident.state == .closed { lines.append("closed \(incident.closedAt.text(office: incident.office)): \(Self.closure(incident.closureReason))") }
        lines.append("severity history:")
        lines += incident.severityHistory.map {
            "  \($0.at.text(office: incident.office))  \($0.fromSeverity == 0 ? "" : "\($0.fromSeverity) → ")\($0.toSeverity)  by \($0.changedBy): \($0.reason)"
        }
        if !incident.conversation.isEmpty {
            lines.append("conversation:")
            lines += incident.conversation.map { "  \($0.at.text(office: incident.office))  \(Self.entry($0.kind)) by \($0.author): \($0.text)" }
        }
        return lines.joined(separator: "\n")
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
