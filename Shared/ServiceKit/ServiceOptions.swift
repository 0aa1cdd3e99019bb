import ArgumentParser
import Foundation
import Logging
import SupportRPC

/// The flags every service takes.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("Directory for the socket and database (default: $SUPPORTDESK_RUNTIME_DIR, else ./.run).", valueName: "dir"))
    public var runtimeDir: String?

    @Option(help: ArgumentHelp("Unix socket to listen on (default: <runtime-dir>/<service>.sock).", valueName: "path"))
    public var socket: String?

    @Option(help: ArgumentHelp("SQLite database file (default: <runtime-dir>/<service>.sqlite).", valueName: "path"))
    public var database: String?

    @Option(help: ArgumentHelp("Directory of the shared configuration: offices.json, holidays, access.json (default: $SUPPORTDESK_CONFIG_DIR, else ./deploy/config). Without access.json every local process that can open the socket is trusted as staff.", valueName: "dir"))
    public var configDir: String?

    @Option(help: ArgumentHelp("Run on a controllable clock starting at this ISO 8601 time (e.g. 2026-12-04T08:00:00Z); supportctl clock moves it.", valueName: "time"))
    public var fakeClock: String?

    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    public var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp("Largest frame accepted, in bytes.", valueName: "bytes"))
    public var maxFrameBytes: Int = 4 * 1024 * 1024

    @Option(help: ArgumentHelp("Connections open at once; one more is refused with RESOURCE_EXHAUSTED. The last sixteenth are kept for the services' own user.", valueName: "n"))
    public var maxConnections: Int = 512

    @Option(help: ArgumentHelp("Connections one user (other than the services' own) may hold at once.", valueName: "n"))
    public var maxConnectionsPerPeer: Int = 64

    @Option(help: ArgumentHelp("Calls in flight on one connection; one more is refused with RESOURCE_EXHAUSTED.", valueName: "n"))
    public var maxCallsPerConnection: Int = 1024

    @Option(help: ArgumentHelp("Seconds after which a connection with no call in flight and no traffic is closed.", valueName: "seconds"))
    public var idleTimeout: Int = 300

    @Option(help: ArgumentHelp("Also write the metrics to this file every --metrics-interval seconds, for node_exporter's textfile collector (a .prom file; replaced atomically).", valueName: "path"))
    public var metricsTextfile: String?

    @Option(help: ArgumentHelp("Seconds between writes of --metrics-textfile.", valueName: "seconds"))
    public var metricsInterval: Int = 5

    @Flag(help: "Validate the configuration files (offices.json and the service's own) and exit: 0 when valid, 1 naming the file and key at fault. Opens no socket or database.")
    public var checkConfig = false

    public init() {}

    public mutating func validate() throws {
        // A clock outside 1970-9999 would date events no service accepts (issue 21).
        if let start = self.fakeClockStart, !RequestLimits.supportedTimes.contains(start) {
            throw ValidationError("--fake-clock must lie in the years 1970 to 9999 (UTC), not '\(self.fakeClock ?? "")'")
        }
        if let fakeClock, Self.parseTime(fakeClock) == nil {
            throw ValidationError("--fake-clock wants an ISO 8601 time such as 2026-12-04T08:00:00Z or 2026-12-04T17:00:00+09:00, not '\(fakeClock)'")
        }
        guard self.maxConnections >= 1, self.maxCallsPerConnection >= 1, self.maxConnectionsPerPeer >= 1 else {
            throw ValidationError("--max-connections, --max-connections-per-peer and --max-calls-per-connection must be at least 1")
        }
        guard self.idleTimeout >= 1 else {
            throw ValidationError("--idle-timeout must be at least 1 second")
        }
        guard self.metricsInterval >= 1 else {
            throw ValidationError("--metrics-interval must be at least 1 second")
        }
        guard self.maxFrameBytes >= 1024 else {
            throw ValidationError("--max-frame-bytes must be at least 1024")
        }
    }

    public var layout: RuntimeLayout { RuntimeLayout(directory: self.runtimeDir) }

    public func socketPath(for service: String) -> String { self.socket ?? self.layout.socketPath(for: service) }
    public func databasePath(for service: String) -> String { self.database ?? self.layout.databasePath(for: service) }

    /// Where the configuration every service shares is read from.
    public var configDirectory: URL {
        let chosen = self.configDir
            ?? ProcessInfo.processInfo.environment["SUPPORTDESK_CONFIG_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "deploy/config"
        return URL(fileURLWithPath: chosen).standardizedFileURL
    }

    public var fakeClockStart: Date? { self.fakeClock.flatMap(Self.parseTime) }

    /// Parses ISO 8601 with or without fractional seconds.
    public static func parseTime(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
