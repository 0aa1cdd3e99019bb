import Foundation
import SupportProto
import SupportRPC

#if canImport(Glibc)
import Glibc
#endif

/// A server the benchmark started as a child process of itself.
final class Child: Sendable {
    let process: Process
    let name: String

    /// `deploy/config`, found from this file's path as the tests find it.
    static let configDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("deploy/config/offices.json")
            if FileManager.default.fileExists(atPath: candidate.path) { return url.appendingPathComponent("deploy/config").path }
        }
        return "deploy/config"
    }()

    private init(process: Process, name: String) {
        self.process = process
        self.name = name
    }

    /// Starts `supportbench serve ARGUMENTS…`; its output goes to `log`.
    static func launch(_ name: String, _ arguments: [String], log: String) throws -> Child {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["serve"] + arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return Child(process: process, name: name)
    }

    /// Starts a SupportDesk service on `runtime` with a fake clock.
    static func service(
        _ name: String, runtime: String, fakeClock: String, alone: Bool = false, extra: [String] = []
    ) throws -> Child {
        var arguments = [
            name, "--runtime-dir", runtime, "--fake-clock", fakeClock, "--config-dir", Self.configDirectory, "--log-level", "warning",
        ]
        if alone { arguments.append("--alone") }
        arguments += extra
        return try Self.launch(name, arguments, log: "\(runtime)/\(name).log")
    }

    var pid: Int32 { self.process.processIdentifier }

    /// Resident memory, from /proc.
    var residentBytes: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(self.pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    /// SIGTERM (a graceful drain), then waits for the exit.
    func stop() async {
        guard self.process.isRunning else { return }
        kill(self.pid, SIGTERM)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                self.process.waitUntilExit()
                continuation.resume()
            }.start()
        }
    }

    deinit {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
    }

    /// Waits until the SupportRPC server at `socket` answers Health SERVING.
    static func waitUntilServing(_ socket: String, timeout: Duration = .seconds(120)) async throws {
        let client = RPCClient(socketPath: socket, targetName: socket)
        defer { Task { await client.close() } }
        let answer = try await client.call(HealthRPC.check, .init(), timeout: timeout)
        guard answer.status == .serving else { throw BenchError("\(socket) answered \(answer.status)") }
    }

    /// Waits until something accepts connections at `socket`.
    static func waitUntilListening(_ socket: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let fd = try? RawPingPong.connect(socket) {
                close(fd)
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("nothing listens on \(socket)")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Nanoseconds on the monotonic clock.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Runs `body` on a thread of its own: blocking loops stay off the
/// cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
