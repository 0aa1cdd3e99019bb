import BusinessCalendar
import Foundation

/// Response-time targets per tier and severity, and when to warn (R-SLA-2).
///
/// Read from `deploy/config/sla-policy.json` when present; otherwise the
/// program's table. Each cycle records the policy's ``version`` so a later
/// change of targets never rewrites a cycle that ran under the old ones.
public struct SLAPolicy: Sendable, Equatable {
    public struct Target: Sendable, Equatable {
        public var seconds: TimeInterval
        public var businessHours: Bool
    }

    /// Targets by tier ("enterprise", "standard"), then severity 1…4.
    public var targets: [String: [Int: Target]]
    /// Warn when this share of the target has passed (default 75%).
    public var warnAtPercent: [Int]
    /// Warn this long before due (default 15 minutes), in the cycle's time.
    public var warnBefore: [TimeInterval]
    public var version: String

    public static let fileName = "sla-policy.json"

    /// R-SLA-2 for both tiers: 30 min and 4 h around the clock, 6 and 8
    /// business hours.
    public static let program: SLAPolicy = {
        var table: [Int: Target] = [:]
        for severity in 1...4 {
            let target = ResponseTimeTarget(severity: severity)!
            table[severity] = Target(seconds: target.duration, businessHours: target.clockKind == .businessHours)
        }
        return SLAPolicy(targets: ["enterprise": table, "standard": table], warnAtPercent: [75], warnBefore: [15 * 60], version: "R-SLA-2")
    }()

    public func target(tier: String, severity: Int) -> Target? {
        (self.targets[tier] ?? self.targets["enterprise"])?[severity]
    }

    /// Loads the policy file from `directory`, or the program's table when
    /// there is none. Errors name the bad key.
    public static func load(configDirectory directory: URL) throws -> SLAPolicy {
        let url = directory.appendingPathComponent(Self.fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return .program }
        return try Self.parse(data)
    }

    /// The policy in the bytes of a `sla-policy.json`, validated as
    /// ``load(configDirectory:)`` does (the fuzz harnesses of issue 10 call
    /// it directly). Errors name the bad key.
    public static func parse(_ data: Data) throws -> SLAPolicy {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw SLAPolicyError("\(Self.fileName): the top level must be an object")
            }
            root = object
        } catch let error as SLAPolicyError {
            throw error
        } catch {
            throw SLAPolicyError("\(Self.fileName) is not valid JSON: \(error)")
        }
        try Self.refuseUnknownKeys(root, allowed: ["version", "targets", "warnings", "comment"], at: "")
        var policy = SLAPolicy(targets: [:], warnAtPercent: [], warnBefore: [], version: "")
        guard let version = root["version"] as? String, !version.isEmpty else {
            throw SLAPolicyError("\(Self.fileName): version is required (a string recorded with every cycle)")
        }
        policy.version = version
        guard let tiers = root["targets"] as? [String: Any], !tiers.isEmpty else {
            throw SLAPolicyError("\(Self.fileName): targets is required, e.g. {\"enterprise\": {\"1\": {\"minutes\": 30, \"clock\": \"24x7\"}}}")
        }
        for (tier, value) in tiers {
            guard ["enterprise", "standard"].contains(tier) else {
                throw SLAPolicyError("\(Self.fileName): targets.\(tier): the tiers are enterprise and standard")
            }
            guard let severities = value as? [String: Any] else { throw SLAPolicyError("\(Self.fileName): targets.\(tier) must be an object") }
            try Self.refuseUnknownKeys(severities, allowed: ["1", "2", "3", "4"], at: "targets.\(tier)")
            var table: [Int: Target] = [:]
            for severity in 1...4 {
                let key = "targets.\(tier).\(severity)"
                guard let entry = severities["\(severity)"] as? [String: Any] else {
                    throw SLAPolicyError("\(Self.fileName): \(key) is missing; every severity 1–4 needs a target")
                }
                try Self.refuseUnknownKeys(entry, allowed: ["minutes", "clock"], at: key)
                guard let minutes = entry["minutes"] as? Double, minutes > 0 else {
                    throw SLAPolicyError("\(Self.fileName): \(key).minutes must be a positive number")
                }
                guard let clock = entry["clock"] as? String, ["24x7", "business"].contains(clock) else {
                    throw SLAPolicyError("\(Self.fileName): \(key).clock must be \"24x7\" or \"business\"")
                }
                table[severity] = Target(seconds: minutes * 60, businessHours: clock == "business")
            }
            policy.targets[tier] = table
        }
        let warnings = root["warnings"] as? [String: Any] ?? [:]
        try Self.refuseUnknownKeys(warnings, allowed: ["percentOfTarget", "minutesBeforeDue"], at: "warnings")
        policy.warnAtPercent = (warnings["percentOfTarget"] as? [Int]) ?? [75]
        policy.warnBefore = ((warnings["minutesBeforeDue"] as? [Double]) ?? [15]).map { $0 * 60 }
        guard policy.warnAtPercent.allSatisfy({ (1...99).contains($0) }) else {
            throw SLAPolicyError("\(Self.fileName): warnings.percentOfTarget values must be 1–99")
        }
        return policy
    }

    /// A key the file does not know is most likely a typo that would
    /// otherwise be silently ignored.
    private static func refuseUnknownKeys(_ object: [String: Any], allowed: [String], at path: String) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            let key = path.isEmpty ? unknown : "\(path).\(unknown)"
            throw SLAPolicyError("\(Self.fileName): \(key): unknown key (allowed: \(allowed.joined(separator: ", ")))")
        }
    }
}

public struct SLAPolicyError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
