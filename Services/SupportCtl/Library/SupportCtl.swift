import ArgumentParser
import Foundation
import SupportRPC

/// The operator's and internal clients' command line for SupportDesk.
public struct SupportCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "supportctl",
        abstract: "Operate SupportDesk: health, clocks, and any RPC.",
        discussion: "Global options (--runtime-dir, --json, --timeout) may come before or after the subcommand.",
        version: "supportctl \(SupportDeskVersion.current)",
        subcommands: [
            HealthCommand.self, ClockCommand.self, CallCommand.self, MethodsCommand.self, CertificateCommand.self, ContactCommand.self,
            IncidentCommand.self, ProblemCommand.self, HealthCheckCommand.self, PortalCommand.self, SLACommand.self,
            CalendarCommand.self, EscalationCommand.self, ResponsibleCommand.self, RosterCommand.self,
            NotificationsCommand.self, StatusReportCommand.self, ReportCommand.self, CallsCommand.self,
            MetricsCommand.self, BackupCommand.self, EventsCommand.self,
        ]
    )

    public init() {}

    /// Runs supportctl on the process's arguments and exits.
    public static func runMain() async {
        let arguments = GlobalOptions.hoist(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try Self.parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("supportctl: \(failure.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            Self.exit(withError: error)
        }
    }
}
