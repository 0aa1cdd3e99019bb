import Foundation

/// Where a service's files live: `DIR/<name>.sock` and `DIR/<name>.sqlite`
/// under the runtime directory, which is `--runtime-dir`, else
/// `$SUPPORTDESK_RUNTIME_DIR`, else `./.run`.
public struct RuntimeLayout: Sendable, Equatable {
    public static let environmentVariable = "SUPPORTDESK_RUNTIME_DIR"
    public static let defaultDirectory = ".run"
    /// The four services, in the order they start.
    public static let services = ["intake", "sla-timer", "escalation", "notifier"]

    public let directory: String

    public init(directory: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let chosen = directory ?? environment[Self.environmentVariable].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultDirectory
        self.directory = URL(fileURLWithPath: chosen).standardizedFileURL.path
    }

    public func socketPath(for service: String) -> String { "\(self.directory)/\(service).sock" }
    public func databasePath(for service: String) -> String { "\(self.directory)/\(service).sqlite" }

    /// Creates the directory (mode 0750) when it does not exist.
    public func create() throws {
        try FileManager.default.createDirectory(
            atPath: self.directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o750]
        )
    }
}
