import Foundation
import SupportProto
import SupportRPC
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built executables (`intake`, …, `supportctl`) run as real processes
/// on a temporary runtime directory, for the end-to-end tests.
public final class ServiceCluster: Sendable {
    public static let services = ["intake", "sla-timer", "escalation", "notifier"]

    public let runtime: TemporaryDirectory
    public let fakeClock: String?
    /// The `--config-dir` every service is started with.
    public let configDirectory: String
    private let processes = Mutex<[String: Process]>([:])
    /// How each process ended, and the signal ``stop(_:signal:)`` sent it
    /// (by pid), for ``terminations()``.
    let exits = Mutex<(ended: [Termination], requested: [Int32: Int32])>(([], [:]))

    /// `configDirectory`: a configuration other than the shipped
    /// deploy/config (a test's edited copy).
    public init(fakeClock: String? = nil, configDirectory: String = InProcessService.configDirectory) throws {
        self.runtime = try TemporaryDirectory(prefix: "sdc")
        self.fakeClock = fakeClock
        self.configDirectory = configDirectory
    }

    /// Where `swift build` put the executables: `$SUPPORTDESK_BIN_DIR`, else
    /// the directory of the running test bundle.
    public static let binDirectory: String = {
        if let configured = ProcessInfo.processInfo.environment["SUPPORTDESK_BIN_DIR"] { return configured }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        // Inside an .xctest bundle on some platforms: walk up to the products.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("intake").path),
            directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory.path
    }()

    /// A test that fails before ``shutdown()`` must not leave its services
    /// running: kill whatever is left.
    deinit {
        for process in self.processes.withLock({ Array($0.values) }) where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }

    public func socketPath(_ service: String) -> String { self.runtime.file("\(service).sock") }
    public func logPath(_ service: String) -> String { self.runtime.file("\(service).log") }

    public func client(_ service: String) -> RPCClient {
        RPCClient(socketPath: self.socketPath(service), targetName: service)
    }

    /// Starts every service and waits until each answers Health SERVING.
    public func startAll() async throws {
        for service in Self.services { try self.launch(service) }
        for service in Self.services { try await self.waitUntilServing(service) }
    }

    /// Starts one service and waits until it serves.
    public func start(_ service: String, fakeClock: String? = nil, extraArguments: [String] = []) async throws {
        try self.launch(service, fakeClock: fakeClock, extraArguments: extraArguments)
        try await self.waitUntilServing(service)
    }

    /// Launches a service without waiting; returns the process.
    @discardableResult
    public func launch(_ service: String, fakeClock: String? = nil, extraArguments: [String] = []) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(Self.binDirectory)/\(service)")
        var arguments = ["--runtime-dir", self.runtime.path, "--log-level", "debug", "--config-dir", self.configDirectory]
        if let clock = fakeClock ?? self.fakeClock { arguments += ["--fake-clock", clock] }
        process.arguments = arguments + extraArguments
        if !FileManager.default.fileExists(atPath: self.logPath(service)) {
            _ = FileManager.default.createFile(atPath: self.logPath(service), contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: self.logPath(service)))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        // Recorded by the kernel's account of the exit, not by log text
        // (issue 21): a precondition failure or a signal shows here.
        process.terminationHandler = { [weak self] ended in self?.recordExit(of: ended, service: service) }
        try process.run()
        self.processes.withLock { $0[service] = process }
        return process
    }

    public func waitUntilServing(_ service: String, timeout: Duration = .seconds(60)) async throws {
        let status = try await self.client(service).call(HealthRPC.check, .init(), timeout: timeout)
        guard status.status == .serving else {
            throw RPCError(.unavailable, "\(service) answered \(status.status)")
        }
    }

    /// Sends `signal` to a service and waits for it to exit.
    /// - Returns: the process's exit status (or signal number when killed).
    @discardableResult
    public func stop(_ service: String, signal: Int32 = SIGTERM) async -> Int32 {
        guard let process = self.processes.withLock({ $0.removeValue(forKey: service) }) else { return -1 }
        self.exits.withLock { $0.requested[process.processIdentifier] = signal }
        kill(process.processIdentifier, signal)
        return await Self.waitForExit(process)
    }

    /// Polls `probe` until it returns a value, for up to `timeout`; on
    /// timeout the test fails and this throws (see TestSupport's
    /// `eventually`). The optional result keeps the call sites' `#require`.
    public func eventually<T: Sendable>(
        _ description: @autoclosure () -> String = "the awaited state of the services",
        timeout: Duration = .seconds(60),
        sourceLocation: SourceLocation = #_sourceLocation,
        _ probe: () async throws -> T?
    ) async throws -> T? {
        try await TestSupport.eventually(description(), timeout: timeout, pollingEvery: .milliseconds(50), sourceLocation: sourceLocation, probe)
    }

    /// Waits until every outbox of `services` is empty: Health/Status
    /// reports `outbox_depth` 0 on each, in two sweeps in a row.
    ///
    /// Call it before asserting that something did *not* happen ("still one
    /// escalation", "no second message"): until every event was delivered,
    /// an absence proves nothing. One sweep is not enough: a delivery to a
    /// service queried earlier in the sweep can make it write events of its
    /// own (intake's answer becomes sla-timer's cycle, escalation's
    /// notice…), which the second sweep sees. An outbox row counts until
    /// every subscriber accepted it (`OutboxRelay.depth()`), and a
    /// subscriber accepts only after applying it, so an empty sweep means
    /// nothing is on its way.
    public func drained(
        _ services: [String] = ServiceCluster.services,
        timeout: Duration = .seconds(120),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var emptySweeps = 0
        var depths: [String: Int64] = [:]
        try await TestSupport.eventually(
            "every outbox drained twice in a row (outbox_depth: \(depths))", timeout: timeout, pollingEvery: .milliseconds(50),
            sourceLocation: sourceLocation
        ) {
            let before = emptySweeps
            emptySweeps = 0
            depths = [:]
            for service in services {
                depths[service] = try await self.client(service).call(HealthRPC.status, .init(), timeout: .seconds(5)).outboxDepth
            }
            emptySweeps = depths.values.allSatisfy { $0 == 0 } ? before + 1 : 0
            return emptySweeps >= 2
        }
    }

    /// Stops every running service (SIGTERM: each drains) and keeps the
    /// runtime directory.
    public func stopAll() async {
        for service in self.processes.withLock({ Array($0.keys) }) {
            await self.stop(service)
        }
    }

    public func pid(_ service: String) -> Int32? {
        self.processes.withLock { $0[service]?.processIdentifier }
    }

    /// Stops every service and removes the runtime directory.
    public func shutdown() async {
        await self.stopAll()
        self.runtime.remove()
    }

    /// Runs `supportctl --runtime-dir <runtime> ARGS…`.
    public func supportctl(_ arguments: String...) async throws -> CommandResult {
        try await Self.run("\(Self.binDirectory)/supportctl", arguments + ["--runtime-dir", self.runtime.path])
    }

    public struct CommandResult: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs a program to completion, reading its output on threads of their
    /// own so neither a full pipe nor the cooperative pool can deadlock.
    public static func run(_ executable: String, _ arguments: [String]) async throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        async let stdout = Self.readAll(out.fileHandleForReading)
        async let stderr = Self.readAll(err.fileHandleForReading)
        let status = await Self.waitForExit(process)
        return CommandResult(status: status, stdout: await stdout, stderr: await stderr)
    }

    private static func readAll(_ handle: FileHandle) async -> String {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)) }.start()
        }
    }

    private static func waitForExit(_ process: Process) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread {
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }.start()
        }
    }
}
