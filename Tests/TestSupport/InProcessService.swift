import Foundation
import Logging
import ServiceKit
import SupportRPC

/// A service built exactly as its executable builds it (ServiceHost), run in
/// the test process on a temporary runtime dir, with a fake clock.
public final class InProcessService: Sendable {
    public let process: ServiceProcess
    public let running: RunningServer
    public let directory: TemporaryDirectory
    public let client: RPCClient
    public let logs: LogRecorder

    /// The repository's `deploy/config`, found from this file's path.
    public static let configDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("deploy/config/offices.json")
            if FileManager.default.fileExists(atPath: candidate.path) { return url.appendingPathComponent("deploy/config").path }
        }
        return "deploy/config"
    }()

    public static func start(
        _ definition: ServiceDefinition, fakeClock: String = "2026-12-04T01:00:00Z", directory: TemporaryDirectory? = nil
    ) async throws -> InProcessService {
        let directory = try directory ?? TemporaryDirectory()
        let options = try ServiceOptions.parse([
            "--runtime-dir", directory.path, "--fake-clock", fakeClock, "--config-dir", Self.configDirectory,
        ])
        let logs = LogRecorder()
        let process = try ServiceHost.build(definition, options: options, logger: logs.logger(label: definition.name))
        let socket = options.socketPath(for: definition.name)
        let running = try await RunningServer(adopting: process.server, socketPath: socket)
        return InProcessService(
            process: process, running: running, directory: directory,
            client: RPCClient(socketPath: socket, targetName: definition.name), logs: logs
        )
    }

    private init(process: ServiceProcess, running: RunningServer, directory: TemporaryDirectory, client: RPCClient, logs: LogRecorder) {
        self.process = process
        self.running = running
        self.directory = directory
        self.client = client
        self.logs = logs
    }

    /// The service's controllable clock.
    public var clock: ManualClock { self.process.environment.clock as! ManualClock }

    public func stop() async throws {
        try await self.running.stop()
    }

    /// Stops the server and removes the runtime directory.
    public func finish() async throws {
        try await self.stop()
        self.directory.remove()
    }
}
