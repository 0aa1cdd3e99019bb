import ArgumentParser
import Foundation

/// `supportbench`: the benchmark suite of issue 9.
///
/// The measuring process starts every server it measures as a child process
/// (`supportbench serve …`), so client and server do not share a thread pool,
/// as in production.
@main
struct SupportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supportbench",
        abstract: "Measures SupportDesk against its physical limits and against grpc-swift-2.",
        subcommands: [Run.self, Serve.self, Drive.self],
        defaultSubcommand: Run.self
    )
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Runs the benchmarks and prints a table (the default).")

    @Flag(help: "About a minute: fewer and shorter runs, 10k timers instead of 100k and 1M.")
    var quick = false

    @Option(help: ArgumentHelp("Also write the results as JSON to this file.", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Run only these benchmarks: rpc, intake, timers, events, attachments (comma-separated).", valueName: "name"))
    var only: String?

    @Option(help: ArgumentHelp("Arm only this many timers (one scale, 10k of them due together), to profile one run.", visibility: .hidden))
    var timers: Int?

    func validate() throws {
        for name in self.selected where !Self.all.contains(name) {
            throw ValidationError("--only: there is no benchmark \(name); choose from \(Self.all.joined(separator: ", "))")
        }
    }

    static let all = ["rpc", "intake", "timers", "events", "attachments"]
    var selected: [String] {
        self.only.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? Self.all
    }

    func run() async throws {
        var scale = Scale(quick: self.quick)
        if let timers { scale.timerScales = [timers] }
        let report = Report()
        print("supportbench \(self.quick ? "--quick" : "(full)"): \(self.selected.joined(separator: ", ")) on \(ProcessInfo.processInfo.activeProcessorCount) CPUs")
        let work = try Workspace()
        defer { work.remove() }
        for name in self.selected {
            print("\n▶ \(name)")
            fflush(nil)
            switch name {
            case "rpc": try await RPCBenchmark(scale: scale, work: work, report: report).run()
            case "intake": try await IntakeBenchmark(scale: scale, work: work, report: report).run()
            case "timers": try await TimerBenchmark(scale: scale, work: work, report: report).run()
            case "events": try await EventPathBenchmark(scale: scale, work: work, report: report).run()
            case "attachments": try await AttachmentBenchmark(scale: scale, work: work, report: report).run()
            default: break
            }
        }
        print("\n" + report.table())
        print(String(format: "\n%.0f s in all", Date().timeIntervalSince(report.started)))
        if let json { try report.writeJSON(to: json, mode: self.quick ? "quick" : "full") }
    }
}

/// How much work each benchmark does: `--quick` is for CI (does it still
/// run?), the full run for numbers.
struct Scale: Sendable {
    let quick: Bool

    init(quick: Bool) {
        self.quick = quick
        self.timerScales = quick ? [10_000] : [100_000, 1_000_000]
    }

    /// Repeated runs of each measurement.
    var repetitions: Int { self.quick ? 3 : 5 }
    /// Calls per latency run.
    var roundTrips: Int { self.quick ? 2_000 : 10_000 }
    /// Length of each throughput run.
    var window: Duration { self.quick ? .milliseconds(1500) : .seconds(4) }
    var timerScales: [Int]
    /// How many timers fall due in the same second for the fire-lag figure.
    var dueTogether: Int { self.quick ? 2_000 : 10_000 }
    var breaches: Int { self.quick ? 20 : 100 }
}

/// A scratch directory on the real disk (fsync must cost what it costs).
struct Workspace: Sendable {
    let path: String

    init() throws {
        let base = ProcessInfo.processInfo.environment["SUPPORTBENCH_DIR"] ?? FileManager.default.temporaryDirectory.path
        self.path = "\(base)/sb-\(getpid())"
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }

    func directory(_ name: String) throws -> String {
        let path = "\(self.path)/\(name)"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Removed unless SUPPORTBENCH_KEEP is set (to read the servers' logs).
    func remove() {
        guard ProcessInfo.processInfo.environment["SUPPORTBENCH_KEEP"] == nil else { return }
        try? FileManager.default.removeItem(atPath: self.path)
    }
}
