import ArgumentParser
import Foundation
import SupportProto
import SupportRPC
import SwiftProtobuf

/// `supportctl incident escalate`: a customer's or staff member's escalation.
struct EscalateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "escalate",
        abstract: "Escalate one level (TAM → support lead → business account manager); staff may also de-escalate.",
        discussion: "A customer may escalate only an unresolved incident on the vendor's side (R-ESC-2)."
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "The authorised contact escalating (or give --actor for staff).") var contact: String = ""
    @Option(help: "The staff member escalating.") var actor: String = ""
    @Option(help: "Why.") var reason: String = ""
    @Flag(help: "De-escalate one level (staff only).") var down = false

    func run() async throws {
        var request = Support_Escalation_V1_EscalateRequest()
        request.incidentID = self.id
        request.contactEmail = self.contact
        request.actor = self.contact.isEmpty && self.actor.isEmpty ? IncidentCommand.staff : self.actor
        request.reason = self.reason
        request.direction = self.down ? .down : .up
        let record = try await self.global.call("escalation", EscalationRPC.escalate, request)
        try self.global.show(record, Render.escalation)
    }
}

/// `supportctl escalation show|list`.
struct EscalationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "escalation", abstract: "Escalation levels and records.",
        subcommands: [Show.self, List.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An incident's level, who is responsible now, and every escalation.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String

        func run() async throws {
            var request = Support_Escalation_V1_GetEscalationsRequest()
            request.incidentID = self.id
            let response = try await self.global.call("escalation", EscalationRPC.getEscalations, request)
            try self.global.show(response) { response in
                let status = response.status
                var lines = [
                    "\(status.incidentID): level \(status.currentLevel.rawValue) (\(Render.level(status.currentLevel))) since \(status.levelSince.text)",
                    "responsible now: \(Render.person(status.responsible))",
                ]
                if !status.unstaffedReason.isEmpty { lines.append("NOT FULLY STAFFED now: \(status.unstaffedReason)") }
                lines += response.records.map { Render.escalation($0) }
                return lines.joined(separator: "\n")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open escalated incidents, highest level first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this level (1-3).") var level: Int = 0

        func run() async throws {
            var request = Support_Escalation_V1_ListOpenEscalationsRequest()
            request.level = Support_Common_V1_EscalationLevel(rawValue: self.level) ?? .unspecified
            request.pageSize = 1000
            let response = try await self.global.call("escalation", EscalationRPC.listOpenEscalations, request)
            try self.global.show(response) { response in
                Output.table(
                    ["INCIDENT", "LEVEL", "SINCE", "SEV", "RESPONSIBLE"],
                    response.escalations.map { [$0.incidentID, "\($0.currentLevel.rawValue)", $0.levelSince.text, "\($0.severity)", Render.person($0.responsible)] }
                )
            }
        }
    }
}

/// `supportctl responsible INC`.
struct ResponsibleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "responsible", abstract: "Who is responsible for an incident now (or --at): the level's owner, or the duty manager for an absent TAM (R-ORG-4)."
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "ISO 8601 time (default: the service's now).") var at: String?

    func run() async throws {
        var request = Support_Escalation_V1_ResponsibleRequest()
        request.incidentID = self.id
        if let at { request.at = .init(date: try Times.parse(at, option: "--at")) }
        let response = try await self.global.call("escalation", EscalationRPC.responsible, request)
        try self.global.show(response) { response in
            var text = "\(response.incidentID) at \(response.at.text): level \(response.level.rawValue) (\(Render.level(response.level))), owner \(Render.person(response.levelOwner)); responsible \(Render.person(response.responsible))"
            if response.dutyManagerReplacedTam { text += "\nthe TAM is out of hours: \(Render.person(response.tamContact)) (duty manager) takes the TAM's part (R-ORG-4)" }
            return text
        }
    }
}

/// `supportctl roster set|show`.
struct RosterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roster", abstract: "Who owns each escalation level per office, and the duty managers' shifts.",
        subcommands: [Set.self, Show.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace an office's roster (or a certificate's override) from a JSON file; bumps its version.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "A support.escalation.v1.Roster in the protobuf JSON mapping (see deploy/config/roster.json).") var file: String
        @Option(help: "Who changes it.") var actor: String = IncidentCommand.staff
        @Option(help: "Refuse unless the roster is at this version.") var expectedVersion: UInt32 = 0

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: self.file) else { throw ValidationError("cannot read \(self.file)") }
            var request = Support_Escalation_V1_SetRosterRequest()
            do {
                request.roster = try Support_Escalation_V1_Roster(jsonUTF8Data: data)
            } catch {
                throw CommandFailure(message: "INVALID_ARGUMENT: \(self.file) is not a roster in the protobuf JSON mapping (\(error))")
            }
            request.actor = self.actor
            request.expectedVersion = self.expectedVersion
            try self.global.show(try await self.global.call("escalation", EscalationRPC.setRoster, request), Render.roster)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An office's roster, or what applies to a certificate.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The office id, or '*' for the fallback roster.") var office: String
        @Option(help: "A certificate id: show what applies to it.") var certificate: String = ""

        func run() async throws {
            var request = Support_Escalation_V1_GetRosterRequest()
            request.office = self.office
            request.certificateID = self.certificate
            request.effective = !self.certificate.isEmpty
            try self.global.show(try await self.global.call("escalation", EscalationRPC.getRoster, request), Render.roster)
        }
    }
}

extension Render {
    static func person(_ person: Support_Common_V1_Person) -> String {
        person.id.isEmpty ? "-" : "\(person.name.isEmpty ? person.id : person.name) <\(person.email.isEmpty ? person.id : person.email)>"
    }

    static func level(_ level: Support_Common_V1_EscalationLevel) -> String {
        switch level {
        case .tam: "TAM"
        case .supportLead: "support lead"
        case .businessAccountManager: "business account manager"
        default: "unspecified"
        }
    }

    static func escalation(_ record: Support_Escalation_V1_EscalationRecord) -> String {
        let trigger: String
        switch record.trigger {
        case .customer: trigger = "customer"
        case .slaBreach: trigger = "sla-breach"
        case .slaBreachWithdrawn: trigger = "sla-breach withdrawn"
        case .staff: trigger = "staff"
        default: trigger = "unspecified"
        }
        var text = "\(record.at.text)  \(record.id): level \(record.fromLevel.rawValue) → \(record.toLevel.rawValue) (\(trigger), by \(record.requestedBy)): \(record.reason)\n"
            + "  owner \(Self.person(record.levelOwner)); notified \(Self.person(record.responsible))"
        if record.dutyManagerReplacedTam { text += "; TAM's part to duty manager \(Self.person(record.tamContact)) (R-ORG-4)" }
        if !record.unstaffedReason.isEmpty { text += "\n  NOT FULLY STAFFED (fallback duty alerted): \(record.unstaffedReason)" }
        return text
    }

    static func roster(_ roster: Support_Escalation_V1_Roster) -> String {
        let name = roster.office == "*" ? "fallback" : roster.office
        var lines = [
            "\(name)\(roster.certificateID.isEmpty ? "" : " / \(roster.certificateID)") roster, version \(roster.version)",
            "  1 TAMs: \(roster.tams.isEmpty ? Self.person(roster.tam) : roster.tams.map(Self.person).joined(separator: ", "))",
            "  2 support lead: \(Self.person(roster.supportLead))",
            "  3 business account manager: \(Self.person(roster.businessAccountManager))",
        ]
        for manager in roster.dutyManagers {
            let shifts = manager.shifts.map { "\(String(describing: $0.weekday).prefix(3)) \($0.startMinute / 60):\(String(format: "%02d", $0.startMinute % 60))-\($0.endMinute / 60):\(String(format: "%02d", $0.endMinute % 60))" }
            lines.append("  duty manager \(Self.person(manager.person)): \(shifts.joined(separator: ", "))")
        }
        for group in roster.specialistGroups {
            let hours = group.hours == .roundTheClock ? "24x7" : group.hours == .business ? "business hours" : "hours unset"
            lines.append("  specialist group \(group.id): \(group.name) <\(group.email)>, \(hours)")
        }
        if roster.hasFallbackDuty { lines.append("  fallback duty (alerted when staff is missing): \(Self.person(roster.fallbackDuty))") }
        return lines.joined(separator: "\n")
    }
}
