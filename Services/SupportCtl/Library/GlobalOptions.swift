import ArgumentParser
import Foundation
import ServiceKit
import SupportRPC

/// The options every supportctl command takes, before or after the
/// subcommand's name.
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("The services' runtime directory (default: $SUPPORTDESK_RUNTIME_DIR, else ./.run).", valueName: "dir"))
    public var runtimeDir: String?

    @Flag(help: "Print one JSON document instead of a table.")
    public var json = false

    @Option(help: ArgumentHelp("How long to wait for each service, e.g. 2s, 500ms.", valueName: "duration"))
    public var timeout: DurationArgument = DurationArgument(.seconds(5))

    public init() {}

    public var layout: RuntimeLayout { RuntimeLayout(directory: self.runtimeDir) }

    /// A client for one of the four services, by name.
    public func client(for service: String) -> RPCClient {
        RPCClient(socketPath: self.layout.socketPath(for: service), targetName: service)
    }

    /// Moves the global options to the end, where ArgumentParser looks for a
    /// subcommand's options: `supportctl --json clock show` and
    /// `supportctl clock show --json` mean the same.
    public static func hoist(_ arguments: [String]) -> [String] {
        var rest: [String] = []
        var globals: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" {
                rest.append(contentsOf: arguments[index...])
                break
            }
            if argument == "--json" || argument.hasPrefix("--runtime-dir=") || argument.hasPrefix("--timeout=") {
                globals.append(argument)
            } else if ["--runtime-dir", "--timeout"].contains(argument), index + 1 < arguments.endIndex {
                globals.append(contentsOf: [argument, arguments[index + 1]])
                index += 1
            } else {
                rest.append(argument)
            }
            index += 1
        }
        if let separator = rest.firstIndex(of: "--") {
            rest.insert(contentsOf: globals, at: separator)
            return rest
        }
        return rest + globals
    }
}

/// A duration as operators type it: `90m`, `2h`, `3d`, `45s`, `500ms`, or
/// several together such as `1h30m`.
public struct DurationArgument: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    public let duration: Duration

    public init(_ duration: Duration) { self.duration = duration }

    public init?(argument: String) {
        guard let duration = Self.parse(argument) else { return nil }
        self.duration = duration
    }

    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Duration)] = [
            ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)),
            ("h", .seconds(3600)), ("d", .seconds(86400)), ("w", .seconds(7 * 86400)),
        ]
        var total = Duration.zero
        var rest = Substring(text.trimmingCharacters(in: .whitespaces).lowercased())
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isNumber })
            guard let value = Int64(digits), value <= 10_000_000 else { return nil }
            rest = rest.dropFirst(digits.count)
            let unitText = rest.prefix(while: { $0.isLetter })
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += unit.1 * value
        }
        return total
    }

    public static var defaultCompletionKind: CompletionKind { .default }

    public var description: String {
        let seconds = self.duration.components.seconds
        if seconds == 0 { return "\(self.duration.components.attoseconds / 1_000_000_000_000_000)ms" }
        var parts: [String] = []
        var remaining = seconds
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where remaining >= size {
            parts.append("\(remaining / size)\(unit)")
            remaining %= size
        }
        return parts.joined()
    }
}
