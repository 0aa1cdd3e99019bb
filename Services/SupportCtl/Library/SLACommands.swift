import ArgumentParser
import Foundation
import SupportProto
import SupportRPC

/// `supportctl sla …`: response cycles and their timers.
struct SLACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sla", abstract: "Response-time clocks: an incident's cycles, what is due, what breached.",
        subcommands: [Show.self, Due.self, Breaches.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An incident's response cycles with their event logs and timers.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String

        func run() async throws {
            var request = Support_Sla_V1_GetClockRequest()
            request.incidentID = self.id
            let clock = try await self.global.call("sla-timer", SLATimerRPC.getClock, request)
            try self.global.show(clock, Render.clock)
        }
    }

    struct Due: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Running cycles due before a time.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "ISO 8601 time (default: any).") var before: String?
        @Option(help: "Only this office's.") var office: String = ""

        func run() async throws {
            var request = Support_Sla_V1_ListDueRequest()
            if let before { request.before = .init(date: try Times.parse(before, option: "--before")) }
            request.office = self.office
            request.pageSize = 1000
            let response = try await self.global.call("sla-timer", SLATimerRPC.listDue, request)
            try self.global.show(response) { Render.cycles($0.cycles) }
        }
    }

    struct Breaches: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Breached cycles, by due time.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "From this time (ISO 8601).") var from: String?
        @Option(help: "Until this time (ISO 8601).") var to: String?
        @Option(help: "Only this certificate's.") var certificate: String = ""

        func run() async throws {
            var request = Support_Sla_V1_ListBreachesRequest()
            if let from { request.from = .init(date: try Times.parse(from, option: "--from")) }
            if let to { request.to = .init(date: try Times.parse(to, option: "--to")) }
            request.certificateID = self.certificate
            request.pageSize = 1000
            let response = try await self.global.call("sla-timer", SLATimerRPC.listBreaches, request)
            try self.global.show(response) { Render.cycles($0.cycles) }
        }
    }
}

/// `supportctl calendar …`: an office's business hours.
struct CalendarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar", abstract: "Business calendars: is an office open, and when is a response due.",
        subcommands: [Show.self, Due.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Whether an office is open now (or at --at) and when that changes.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The office id, e.g. tokyo.") var office: String
        @Option(help: "ISO 8601 time (default: the service's now).") var at: String?

        func run() async throws {
            var request = Support_Sla_V1_IsOpenRequest()
            request.office = self.office
            if let at { request.at = .init(date: try Times.parse(at, option: "--at")) }
            let response = try await self.global.call("sla-timer", SLATimerRPC.isOpen, request)
            try self.global.show(response) { response in
                "\(self.office): \(response.open ? "open" : "closed") at \(response.localTime) (\(response.reason))"
                    + (response.hasChangesAt ? "; \(response.open ? "closes" : "opens") at \(response.changesAt.text(office: self.office))" : "")
                    + "\ncalendar \(response.calendarVersion)"
            }
        }
    }

    struct Due: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "When a response is due for a severity received at --start (R-SLA-2, R-SLA-3).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The office id.") var office: String
        @Option(help: "1 to 4.") var severity: Int32
        @Option(help: "When the request arrived (ISO 8601).") var start: String
        @Option(help: "portal, phone, email or tam.") var channel: Choice<Support_Common_V1_Channel>?
        @Option(help: "enterprise or standard.") var tier: Choice<Support_Common_V1_Tier>?

        func run() async throws {
            var request = Support_Sla_V1_ComputeDueRequest()
            request.office = self.office
            request.severity = self.severity
            request.start = .init(date: try Times.parse(self.start, option: "--start"))
            request.channel = self.channel?.value ?? .portal
            request.tier = self.tier?.value ?? .enterprise
            let response = try await self.global.call("sla-timer", SLATimerRPC.computeDue, request)
            try self.global.show(response) { response in
                var lines = ["due \(response.dueLocal)  (\(response.dueAt.text))"]
                lines.append("clock starts \(response.startedAt.text(office: self.office)); target \(Output.duration(seconds: response.target.seconds)) on the \(response.clockKind == .business ? "business-hours" : "24×7") clock")
                if response.phoneAdvised { lines.append("severity 1 out of hours by \(request.channel.label): the clock starts at the next opening; advise calling the priority line (R-SLA-3)") }
                lines.append("policy \(response.policyVersion), calendar \(response.calendarVersion)")
                return lines.joined(separator: "\n")
            }
        }
    }
}

extension Render {
    static func clock(_ clock: Support_Sla_V1_GetClockResponse) -> String {
        // The office of the incident's latest cycle: its local time.
        let office = clock.history.last?.office ?? clock.current.office
        var lines = ["\(clock.incidentID): on the \(clock.side.label)'s side since \(clock.sideSince.text(office: office))"]
        if clock.current.state == .running {
            lines.append("current cycle \(clock.current.number) due \(clock.current.dueAt.text(office: office)); \(Output.duration(seconds: clock.remaining.seconds)) of its clock left")
        }
        if clock.hasCustomerTimeoutAt { lines.append("closes for customer timeout at \(clock.customerTimeoutAt.text(office: office)) unless the customer answers (R-SLA-6)") }
        for cycle in clock.history {
            lines.append("cycle \(cycle.number): severity \(cycle.severity), \(Self.cycleState(cycle.state)), due \(cycle.dueAt.text(office: cycle.office)) (\(cycle.clockKind == .business ? "business hours" : "24×7"), policy \(cycle.policyVersion))")
            for event in cycle.events {
                lines.append("  \(event.at.text(office: cycle.office))  \(Self.cycleEvent(event.kind))\(event.detail.isEmpty ? "" : ": \(event.detail)")")
            }
        }
        let armed = clock.timers.filter { $0.state == .armed }
        if !armed.isEmpty {
            lines.append("armed timers:")
            lines += armed.map { "  \($0.dueAt.text(office: office))  \(Self.timerKind($0.kind))" }
        }
        return lines.joined(separator: "\n")
    }

    static func cycles(_ cycles: [Support_Sla_V1_Cycle]) -> String {
        Output.table(
            ["INCIDENT", "CYCLE", "SEV", "STATE", "DUE", "OFFICE"],
            cycles.map { [$0.incidentID, "\($0.number)", "\($0.severity)", Self.cycleState($0.state), $0.dueAt.text(office: $0.office), $0.office] }
        )
    }

    static func cycleState(_ state: Support_Sla_V1_CycleState) -> String {
        switch state {
        case .running: "running"
        case .paused: "paused"
        case .met: "met"
        case .breached: "breached"
        case .cancelled: "cancelled"
        default: "unspecified"
        }
    }

    static func cycleEvent(_ kind: Support_Sla_V1_CycleEvent.Kind) -> String {
        switch kind {
        case .started: "started"
        case .paused: "paused"
        case .resumed: "resumed"
        case .retargeted: "re-targeted"
        case .warned: "warned"
        case .met: "met"
        case .breached: "breached"
        case .breachWithdrawn: "breach withdrawn"
        case .cancelled: "cancelled"
        default: "event"
        }
    }

    static func timerKind(_ kind: Support_Sla_V1_TimerKind) -> String {
        switch kind {
        case .warning: "warning"
        case .breach: "breach"
        case .customerTimeoutWarning: "customer-timeout warning"
        case .customerTimeout: "customer timeout"
        default: "timer"
        }
    }
}
