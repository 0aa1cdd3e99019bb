import ArgumentParser
import Foundation
import SupportProto
import SupportRPC

/// `supportctl notifications …`: the messages notifier created and their deliveries.
struct NotificationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifications", abstract: "Who was told what: messages, their delivery attempts, retries.",
        subcommands: [List.self, Show.self, Retry.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Messages, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this incident's.") var incident: String = ""
        @Option(help: "pending, sent, failed or suppressed.") var state: Choice<Support_Notifier_V1_MessageState>?

        func run() async throws {
            var request = Support_Notifier_V1_ListMessagesRequest()
            request.incidentID = self.incident
            request.state = self.state?.value ?? .unspecified
            request.pageSize = 1000
            let response = try await self.global.call("notifier", NotifierRPC.listMessages, request)
            try self.global.show(response) { Render.messages($0.messages) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One message with its body and delivery attempts.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The message id (MSG-…).") var id: String

        func run() async throws {
            var request = Support_Notifier_V1_GetMessageRequest()
            request.messageID = self.id
            try self.global.show(try await self.global.call("notifier", NotifierRPC.getMessage, request), Render.message)
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Puts a failed message back to pending for a fresh round of attempts.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The message id (MSG-…).") var id: String
        @Option(help: "Who retries it.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Notifier_V1_RetryRequest()
            request.messageID = self.id
            request.actor = self.actor
            try self.global.show(try await self.global.call("notifier", NotifierRPC.retry, request), Render.message)
        }
    }
}

/// `supportctl status-report INC`: the severity-1 daily status report (R-REP-2).
struct StatusReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status-report", abstract: "Send today's status report on an open severity-1 incident (at most one a day, R-REP-2)."
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The incident id.") var incident: String
    @Option(help: "What you tell the customer: progress, findings, what was tried (required).") var text: String
    @Option(help: "What happens next; default: the step the incident's state implies.") var nextAction: String = ""
    @Flag(name: .customLong("defer"), help: "If today's was already sent, queue this one for the first free day instead of suppressing it.") var deferIfSuppressed = false
    @Option(help: "Who asks.") var actor: String = IncidentCommand.staff

    /// A suppressed report was not sent: the command fails with the reason
    /// on stderr (issue 23, finding 7), after showing the recorded message.
    func run() async throws {
        var request = Support_Notifier_V1_RequestStatusReportRequest()
        request.incidentID = self.incident
        request.actor = self.actor
        request.text = self.text
        request.nextAction = self.nextAction
        request.deferIfSuppressed = self.deferIfSuppressed
        let response = try await self.global.call("notifier", NotifierRPC.requestStatusReport, request)
        let message = response.messages.first
        if response.outcome == .suppressed {
            if self.global.json { try self.global.show(response) { _ in "" } }
            throw CommandFailure(message: "suppressed \(message?.id ?? ""): \(message?.suppressedReason ?? "")")
        }
        try self.global.show(response) { response in
            switch response.outcome {
            case .deferred: "deferred \(message?.id ?? "") until \(message?.notBefore.text ?? "")"
            default: "queued \(message?.id ?? "")"
            }
        }
    }
}

/// `supportctl report quarterly …`: the TAM's periodic report (R-REP-1).
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Periodic reports.", subcommands: [Quarterly.self]
    )

    struct Quarterly: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A certificate's quarterly TAM report as Markdown (R-REP-1), sent to its contacts and TAM.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The certificate id.") var certificate: String
        @Option(help: "YYYYQn, e.g. 2026Q4.") var quarter: String
        @Flag(help: "Only show it; do not mail it.") var noSend = false
        @Option(help: "Who asks.") var actor: String = IncidentCommand.staff

        func run() async throws {
            var request = Support_Notifier_V1_GenerateReportRequest()
            request.certificateID = self.certificate
            request.quarter = self.quarter
            request.actor = self.actor
            request.send = !self.noSend
            try self.global.show(try await self.global.call("notifier", NotifierRPC.generateReport, request)) { $0.markdown }
        }
    }
}

/// `supportctl calls list`: phone call tasks (the phone transport).
struct CallsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calls", abstract: "Phone calls the TAM or duty manager must make.", subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Call tasks, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this incident's.") var incident: String = ""

        func run() async throws {
            var request = Support_Notifier_V1_ListCallsRequest()
            request.incidentID = self.incident
            request.pageSize = 1000
            let response = try await self.global.call("notifier", NotifierRPC.listCalls, request)
            try self.global.show(response) { response in
                Output.table(
                    ["CALL", "INCIDENT", "WHO", "PHONE", "SUBJECT"],
                    response.calls.map { [$0.id, $0.incidentID, $0.callee.name, $0.callee.phone, $0.subject] }
                )
            }
        }
    }
}

extension Support_Notifier_V1_MessageState: Labelled {
    static let labels: [(Self, String)] = [(.pending, "pending"), (.sent, "sent"), (.failed, "failed"), (.suppressed, "suppressed")]
}

extension Render {
    static func messages(_ messages: [Support_Notifier_V1_Message]) -> String {
        Output.table(
            ["MESSAGE", "INCIDENT", "TEMPLATE", "VIA", "TO", "STATE", "SUBJECT"],
            messages.map {
                [$0.id, $0.incidentID, $0.templateName, $0.transport.label, $0.recipients.map(\.email).joined(separator: ","), $0.state.label, $0.subject]
            }
        )
    }

    static func message(_ message: Support_Notifier_V1_Message) -> String {
        var lines = [
            "\(message.id) \(message.state.label) via \(message.transport.label)",
            "To: \(message.recipients.map { "\($0.name) <\($0.email)>" }.joined(separator: ", "))",
            "Subject: \(message.subject)",
            "Message-ID: \(message.messageIDHeader)",
        ]
        if !message.suppressedReason.isEmpty { lines.append("Suppressed: \(message.suppressedReason)") }
        if message.hasNotBefore { lines.append("Not before: \(message.notBefore.text)") }
        for attempt in message.attempts {
            lines.append("attempt \(attempt.number) at \(attempt.at.text): \(attempt.ok ? "ok" : attempt.error)")
        }
        return (lines + ["", message.body]).joined(separator: "\n")
    }
}

extension Support_Notifier_V1_Transport {
    /// How the message goes out: a mail (maildir or sendmail) or a call task.
    var label: String {
        switch self {
        case .phone: "phone"
        case .sendmail: "sendmail"
        default: "maildir"
        }
    }
}
