import ArgumentParser
import Foundation
import ServiceKit
import SupportProto
import SupportRPC

/// `supportctl clock show|set|advance`: the clock of all four services.
struct ClockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock",
        abstract: "Show or move the services' clocks (moving needs services started with --fake-clock).",
        subcommands: [Show.self, Set.self, Advance.self],
        defaultSubcommand: Show.self
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each service's time.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await ClockCommand.apply(self.global) { client, timeout, connect in
                try await client.call(ClockRPC.get, .init(), timeout: timeout, connectTimeout: connect)
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move every service's fake clock to TIME (forward only).",
            discussion: "Timers that came due fire, in order, before the command returns."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("An ISO 8601 time, e.g. 2026-12-05T03:00:00+09:00.", valueName: "time"))
        var time: String

        func validate() throws {
            guard ServiceOptions.parseTime(self.time) != nil else {
                throw ValidationError("'\(self.time)' is not an ISO 8601 time such as 2026-12-05T03:00:00+09:00")
            }
        }

        func run() async throws {
            var request = Support_Clock_V1_SetClockRequest()
            request.time = .init(date: ServiceOptions.parseTime(self.time)!)
            try await ClockCommand.apply(self.global) { client, timeout, connect in
                try await client.call(ClockRPC.set, request, timeout: timeout, connectTimeout: connect)
            }
        }
    }

    struct Advance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move every service's fake clock forward by DURATION (90m, 2h, 3d, 1h30m).",
            discussion: "Timers that came due fire, in order, before the command returns."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("How far: 45s, 90m, 2h, 3d, 1w or combinations like 1h30m.", valueName: "duration"))
        var duration: DurationArgument

        func run() async throws {
            var request = Support_Clock_V1_AdvanceClockRequest()
            request.by = .init(seconds: self.duration.duration.components.seconds)
            try await ClockCommand.apply(self.global) { client, timeout, connect in
                try await client.call(ClockRPC.advance, request, timeout: timeout, connectTimeout: connect)
            }
        }
    }

    /// Runs one clock call on every service, in start order, and prints the
    /// clocks; fails when any service refused or could not be reached.
    static func apply(
        _ global: GlobalOptions,
        _ call: (RPCClient, _ timeout: Duration, _ connectTimeout: Duration) async throws -> Support_Clock_V1_ClockState
    ) async throws {
        var results: [(String, Result<Support_Clock_V1_ClockState, any Error>)] = []
        for name in RuntimeLayout.services {
            do {
                // Moving the clock fires what came due: give that time, but
                // give up on a service that is down after --timeout.
                let state = try await call(global.client(for: name), max(global.timeout.duration, .seconds(60)), global.timeout.duration)
                results.append((name, .success(state)))
            } catch {
                results.append((name, .failure(error)))
            }
        }
        if global.json {
            let services = try results.map { name, result -> [String: Any] in
                switch result {
                case .success(let state): return try Output.jsonObject(state) as! [String: Any]
                case .failure(let error): return ["service": name, "error": CommandFailure(error).description]
                }
            }
            try Output.printJSON(["clocks": services])
        } else {
            let rows = results.map { name, result -> [String] in
                switch result {
                case .success(let state):
                    return [name, state.now.date.rfc3339, state.controllable ? "fake" : "wall"]
                case .failure(let error):
                    return [name, "-", CommandFailure(error).description]
                }
            }
            print(Output.table(["SERVICE", "NOW (UTC)", "CLOCK"], rows))
        }
        let failed = results.filter { if case .failure = $0.1 { true } else { false } }
        if !failed.isEmpty {
            throw CommandFailure(message: "the clock of \(failed.map(\.0).joined(separator: ", ")) was not changed")
        }
    }
}
