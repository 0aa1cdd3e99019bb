import ArgumentParser
import Foundation
import SupportProto
import SupportRPC

/// `supportctl incident …`: an incident's whole life.
struct IncidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident", abstract: "Open incidents and carry them through their life.",
        subcommands: [
            Open.self, Show.self, List.self, Respond.self, RequestInfo.self, ProvideInfo.self, Resolve.self,
            Reopen.self, Close.self, SetSeverity.self, Workaround.self, Reply.self, Note.self, Cc.self, EscalateCommand.self,
            Attach.self, Attachment.self,
        ]
    )

    static var staff: String { ProcessInfo.processInfo.environment["USER"] ?? "operator" }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open an incident for an authorised contact; prints its id.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var create: CreateOptions
        @Option(help: "The certificate id.") var certificate: String
        @Option(help: "The reporting contact's email.") var contact: String
        @Option(help: "portal, phone, email or tam.") var channel: Choice<Support_Common_V1_Channel>
        @Option(help: "product, outbreak, malware, false-positive, service, definitions-release or patch.") var kind: Choice<Support_Common_V1_IncidentKind>
        @Option(help: "1 (critical) to 4 (low).") var severity: Int32
        @Option(help: "A one-line summary.") var title: String
        @Option(help: "The details.") var description: String = ""

        func run() async throws {
            var request = Support_Intake_V1_OpenIncidentRequest()
            request.certificateID = self.certificate
            request.contactEmail = self.contact
            request.channel = self.channel.value
            request.kind = self.kind.value
            request.severity = self.severity
            request.title = self.title
            request.description_p = self.description
            let incident = try await self.global.call("intake", IntakeRPC.openIncident, request, metadata: self.create.metadata)
            try self.global.show(incident) { incident in
                incident.phoneAdvised
                    ? "\(incident.id)\nnote: severity 1 outside business hours must be phoned in (R-SLA-3); the clock starts at the next opening"
                    : incident.id
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an incident with its histories and its thread, internal notes marked.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id, e.g. INC-000001.") var id: String

        func run() async throws {
            var request = Support_Intake_V1_GetIncidentRequest()
            request.incidentID = self.id
            try self.global.show(try await self.global.call("intake", IntakeRPC.getIncident, request), Render.incident)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The queue: enterprise first, then severity, then age (R-SLA-4).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this certificate's.") var certificate: String = ""
        @Option(help: "Only incidents in this state (repeatable).") var state: [Choice<Support_Common_V1_IncidentState>] = []
        @Option(help: "Only this side: vendor or customer.") var side: Choice<Support_Common_V1_Side>?
        @Option(help: "Only this severity.") var severity: Int32 = 0

        func run() async throws {
            var request = Support_Intake_V1_ListIncidentsRequest()
            request.certificateID = self.certificate
            request.states = self.state.map(\.value)
            request.side = self.side?.value ?? .unspecified
            request.severity = self.severity
            request.pageSize = 1000
            let response = try await self.global.call("intake", IntakeRPC.listIncidents, request)
            try self.global.show(response) { response in
                Output.table(
                    ["ID", "TIER", "SEV", "STATE", "SIDE", "OPENED", "TITLE"],
                    response.incidents.map { [$0.id, $0.tier.label, "\($0.severity)", $0.state.label, $0.side.label, $0.openedAt.text, $0.title] }
                )
            }
        }
    }

    struct Respond: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The vendor's answer (ends the running response cycle).",
            discussion: "An answer given on the phone counts once recorded here with --via phone (R-SLA-1)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The answer.") var message: String
        @Option(help: "How it reached the customer: portal (default), email, phone or tam.") var via: Choice<Support_Common_V1_Channel>?
        @Option(help: "Who answers.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_RespondRequest()
            request.incidentID = self.id
            request.actor = self.actor
            request.text = self.message
            request.via = self.via?.value ?? .unspecified
            try self.global.show(try await self.global.call("intake", IntakeRPC.respond, request), Render.incidentLine)
        }
    }

    struct RequestInfo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "request-info", abstract: "Ask the customer for information: the clock stops (R-SLA-5).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "What the customer must provide.") var message: String
        @Option(help: "Who asks.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_RequestInfoRequest()
            request.incidentID = self.id
            request.actor = self.actor
            request.text = self.message
            try self.global.show(try await self.global.call("intake", IntakeRPC.requestInfo, request), Render.incidentLine)
        }
    }

    struct ProvideInfo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "provide-info", abstract: "The customer's answer: back on the vendor's side.",
            discussion: "With --via phone or email, staff record a message the contact gave them (as --actor)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The authorised contact answering.") var contact: String
        @Option(help: "The information.") var message: String
        @Option(help: "How it came when staff record it: phone or email (default: the contact wrote it on the portal).") var via: Choice<Support_Common_V1_Channel>?
        @Option(help: "Who records it (with --via; default: you).") var actor: String?

        func run() async throws {
            var request = Support_Intake_V1_ProvideInfoRequest()
            request.incidentID = self.id
            request.contactEmail = self.contact
            request.text = self.message
            request.via = self.via?.value ?? .unspecified
            // A phone or mail message is recorded by staff: you, unless --actor says who.
            let recorded = self.via.map { $0.value != .portal } ?? false
            request.actor = self.actor ?? (recorded ? IncidentCommand.staff : "")
            try self.global.show(try await self.global.call("intake", IntakeRPC.provideInfo, request), Render.incidentLine)
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve an incident.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The resolution.") var message: String
        @Option(help: "Who resolves it.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_ResolveRequest()
            request.incidentID = self.id
            request.actor = self.actor
            request.resolution = self.message
            try self.global.show(try await self.global.call("intake", IntakeRPC.resolve, request), Render.incidentLine)
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a resolved incident (a new response cycle).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The authorised contact reopening it (or give --actor for staff).") var contact: String = ""
        @Option(help: "The staff member reopening it.") var actor: String = ""
        @Option(help: "Why.") var reason: String

        func run() async throws {
            var request = Support_Intake_V1_ReopenRequest()
            request.incidentID = self.id
            request.contactEmail = self.contact
            request.actor = self.actor
            request.reason = self.reason
            try self.global.show(try await self.global.call("intake", IntakeRPC.reopen, request), Render.incidentLine)
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close: resolved, not-reproducible or out-of-scope:<reason> (R-SCOPE-3).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "resolved, not-reproducible, or out-of-scope:<already-resolved|previous-solution|hardware-fault|unsupported-platform|third-party-application|information-not-provided|misuse|access-refused|cause-outside-product>.") var reason: ClosureArgument
        @Option(help: "Free text for the record.") var detail: String = ""
        @Option(help: "The authorised contact accepting the resolution (customers close only as resolved).") var contact: String = ""
        @Option(help: "The staff member closing it.") var actor: String = ""

        func run() async throws {
            var request = Support_Intake_V1_CloseRequest()
            request.incidentID = self.id
            request.contactEmail = self.contact
            request.actor = self.contact.isEmpty && self.actor.isEmpty ? IncidentCommand.staff : self.actor
            request.reason = self.reason.reason
            request.reason.detail = self.detail
            try self.global.show(try await self.global.call("intake", IntakeRPC.close, request), Render.incidentLine)
        }
    }

    struct SetSeverity: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-severity", abstract: "Change the severity with a reason (R-SEV-1).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "1 to 4.") var severity: Int32
        @Option(help: "Why.") var reason: String
        @Option(help: "Who changes it.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_SetSeverityRequest()
            request.incidentID = self.id
            request.actor = self.actor
            request.severity = self.severity
            request.reason = self.reason
            try self.global.show(try await self.global.call("intake", IntakeRPC.setSeverity, request), Render.incidentLine)
        }
    }

    struct Workaround: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a workaround; severity 1 becomes 2 (R-SEV-4).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The workaround.") var message: String
        @Option(help: "Who gives it.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_ProvideWorkaroundRequest()
            request.incidentID = self.id
            request.actor = self.actor
            request.text = self.message
            try self.global.show(try await self.global.call("intake", IntakeRPC.provideWorkaround, request), Render.incidentLine)
        }
    }

    struct Reply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write to the customer in the thread (no state change; the customer is mailed it).",
            discussion: "Use respond for the answer that ends a response cycle."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The message.") var message: String
        @Option(help: "How it reached the customer: portal (default), email, phone or tam.") var via: Choice<Support_Common_V1_Channel>?
        @Option(help: "Who writes it.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_ReplyRequest()
            request.incidentID = self.id
            request.actor = self.actor
            request.text = self.message
            request.via = self.via?.value ?? .unspecified
            try self.global.show(try await self.global.call("intake", IntakeRPC.reply, request), Render.incidentLine)
        }
    }

    struct Cc: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set who besides the reporting contact receives the incident's mail.",
            discussion: "Replaces the list: authorised contacts of the certificate, at most 7 (R-ORG-3). --clear removes every cc."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Argument(help: "The contacts' emails.") var emails: [String] = []
        @Flag(help: "Remove every cc (instead of giving emails).") var clear = false
        @Option(help: "Who changes it.") var actor: String = IncidentCommand.staff

        func validate() throws {
            if self.emails.isEmpty && !self.clear { throw ValidationError("give the contacts' emails, or --clear to remove every cc") }
            if !self.emails.isEmpty && self.clear { throw ValidationError("give either emails or --clear, not both") }
        }

        func run() async throws {
            var request = Support_Intake_V1_SetCcRequest()
            request.incidentID = self.id
            request.actor = self.actor
            request.emails = self.emails
            let incident = try await self.global.call("intake", IntakeRPC.setCc, request)
            try self.global.show(incident) { incident in
                Render.incidentLine(incident) + "\ncc: " + (incident.cc.isEmpty ? "none" : incident.cc.map(\.email).joined(separator: ", "))
            }
        }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an internal note (no state change, not shown to the customer).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The note.") var message: String
        @Option(help: "Who writes it.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_AddNoteRequest()
            request.incidentID = self.id
            request.actor = self.actor
            request.text = self.message
            try self.global.show(try await self.global.call("intake", IntakeRPC.addNote, request), Render.incidentLine)
        }
    }
}

/// `supportctl problem …`: problems and known errors.
struct ProblemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "problem", abstract: "Problems and known errors (R-SEV-4).",
        subcommands: [Create.self, Link.self, KnownError.self, Show.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a problem, optionally linking incidents.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var create: CreateOptions
        @Option(help: "What the problem is.") var title: String
        @Option(help: "Details.") var description: String = ""
        @Option(help: "An incident to link (repeatable).") var incident: [String] = []
        @Option(help: "Who records it.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_CreateProblemRequest()
            request.actor = self.actor
            request.title = self.title
            request.description_p = self.description
            request.incidentIds = self.incident
            try self.global.show(try await self.global.call("intake", IntakeRPC.createProblem, request, metadata: self.create.metadata), Render.problem)
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Link an incident to a problem.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The problem id.") var problem: String
        @Option(help: "The incident id.") var incident: String
        @Option(help: "Who links it.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_LinkIncidentRequest()
            request.actor = self.actor
            request.problemID = self.problem
            request.incidentID = self.incident
            let response = try await self.global.call("intake", IntakeRPC.linkIncident, request)
            try self.global.show(response) { Render.problem($0.problem) + ($0.reclassified ? "\n\(self.incident) reclassified to severity 2 (R-SEV-4)" : "") }
        }
    }

    struct KnownError: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "known-error", abstract: "Record root cause and workaround or fix: a known error.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The problem id.") var problem: String
        @Option(help: "The root cause.") var rootCause: String
        @Option(help: "The workaround.") var workaround: String = ""
        @Option(help: "The permanent fix.") var fix: String = ""
        @Option(help: "Who records it.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_RecordKnownErrorRequest()
            request.actor = self.actor
            request.problemID = self.problem
            request.rootCause = self.rootCause
            request.workaround = self.workaround
            request.permanentFix = self.fix
            let response = try await self.global.call("intake", IntakeRPC.recordKnownError, request)
            try self.global.show(response) { response in
                Render.problem(response.problem)
                    + (response.reclassifiedIncidentIds.isEmpty ? "" : "\nreclassified to severity 2 (R-SEV-4): \(response.reclassifiedIncidentIds.joined(separator: ", "))")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a problem.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The problem id.") var problem: String

        func run() async throws {
            var request = Support_Intake_V1_GetProblemRequest()
            request.problemID = self.problem
            try self.global.show(try await self.global.call("intake", IntakeRPC.getProblem, request), Render.problem)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List problems, newest first.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            var request = Support_Intake_V1_ListProblemsRequest()
            request.pageSize = 1000
            let response = try await self.global.call("intake", IntakeRPC.listProblems, request)
            try self.global.show(response) { response in
                Output.table(["ID", "STATE", "INCIDENTS", "TITLE"], response.problems.map {
                    [$0.id, $0.state == .knownError ? "known-error" : "open", $0.incidentIds.joined(separator: ","), $0.title]
                })
            }
        }
    }
}
