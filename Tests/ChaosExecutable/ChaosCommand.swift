import ArgumentParser
import Foundation
import TestSupport

/// `scripts/chaos`: issue 10's fault run on the four real executables
/// (Tests/TestSupport/Chaos.swift has the plan and the invariants).
@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supportdesk-chaos",
        abstract: "Drive incidents through their lives on a fake clock while SIGKILLing a random service; check the invariants.",
        discussion: "Exits 0 when every invariant holds, 1 otherwise. The seed is printed first: --seed replays the same plan."
    )

    @Option(help: "How many incidents to open.")
    var incidents = 1000

    @Option(help: ArgumentHelp("How long to drive and kill: 90s, 5m, 1h.", valueName: "duration"))
    var duration = "5m"

    @Option(name: .customLong("kill-every"), help: ArgumentHelp("How often a random service is SIGKILLed (±30%).", valueName: "duration"))
    var killEvery = "3s"

    @Option(help: "The seed of every random choice; random when omitted.")
    var seed: UInt64?

    @Option(help: "Incidents whose lives run at the same time.")
    var concurrency = 8

    @Flag(help: "Keep the runtime directory (databases, logs) even when every invariant holds.")
    var keep = false

    func validate() throws {
        guard Duration.parse(self.duration) != nil else { throw ValidationError("--duration '\(self.duration)' is not like 90s, 5m or 1h") }
        guard Duration.parse(self.killEvery) != nil else { throw ValidationError("--kill-every '\(self.killEvery)' is not like 3s or 1m") }
        guard self.incidents > 0, self.concurrency > 0 else { throw ValidationError("--incidents and --concurrency must be positive") }
    }

    func run() async throws {
        let options = Chaos.Options(
            incidents: self.incidents, duration: Duration.parse(self.duration)!, killEvery: Duration.parse(self.killEvery)!,
            seed: self.seed ?? UInt64.random(in: 1...999_999_999), concurrency: self.concurrency, keep: self.keep
        )
        // Unbuffered lines, so a run piped into tee shows its progress.
        let report = try await Chaos(options) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }.run()
        if !report.passed { throw ExitCode.failure }
    }
}
