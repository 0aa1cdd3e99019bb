import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC
import SwiftProtobuf

/// escalation owns the roster, the escalation records and each incident's
/// level: TAM → support lead → business account manager (R-ESC-1).
public enum EscalationService {
    public static let definition = ServiceDefinition(
        name: "escalation",
        subscribers: ["notifier"],
        migrations: { EscalationStore.register(in: &$0) },
        make: { environment in
            let offices: OfficeDirectory
            do {
                offices = try OfficeDirectory.load(configDirectory: environment.configDirectory)
                try RosterSeed.seed(from: environment.configDirectory, into: environment.database, at: environment.clock.now())
            } catch let error as RuntimeError {
                throw error
            } catch {
                throw RuntimeError("escalation cannot load its configuration from \(environment.configDirectory.path): \(error)")
            }
            let engine = EscalationEngine(offices: offices, outbox: environment.outbox, logger: environment.logger)
            let database = environment.database
            // By trigger: an SLA breach (R-ESC-3), a request (R-ESC-2), or
            // a breach's withdrawal undoing its escalation.
            environment.metrics.onCollect("escalations") {
                let (breach, requested, withdrawn) = try await Blocking.run {
                    try database.writer.read { db in
                        (
                            try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM escalation WHERE sla_cycle_id IS NOT NULL")) ?? 0,
                            try Int.fetchOne(db.cachedStatement(
                                sql: "SELECT COUNT(*) FROM escalation WHERE sla_cycle_id IS NULL AND withdrawn_cycle_id IS NULL"
                            )) ?? 0,
                            try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM escalation WHERE withdrawn_cycle_id IS NOT NULL")) ?? 0
                        )
                    }
                }
                environment.metrics.gauge("supportdesk_escalations", [("trigger", "breach")]).record(breach)
                environment.metrics.gauge("supportdesk_escalations", [("trigger", "request")]).record(requested)
                environment.metrics.gauge("supportdesk_escalations", [("trigger", "breach_withdrawn")]).record(withdrawn)
            }
            return ServiceParts(
                rpc: [EscalationRPCService(environment: environment, engine: engine)],
                applyEvent: { db, event in try engine.apply(event, in: db) }
            )
        },
        checkConfig: { directory in
            let offices = try OfficeDirectory.load(configDirectory: directory)
            return ["\(OfficeDirectory.fileName): offices \(offices.ids.joined(separator: ", "))"] + (try RosterSeed.check(directory))
        }
    )
}

extension EscalationService {
    /// The rosters in the bytes of a `roster.json`, validated exactly as
    /// start-up does (the configuration fuzz harness of issue 10 calls it).
    public static func parseRosterSeed(_ data: Data) throws -> [Support_Escalation_V1_Roster] {
        try RosterSeed.parse(data)
    }
}

/// The rosters an office starts with, from `deploy/config/roster.json`:
/// applied once per office; later changes go through SetRoster.
enum RosterSeed {
    static let fileName = "roster.json"

    static func seed(from directory: URL, into database: ServiceDatabase, at now: Date) throws {
        let url = directory.appendingPathComponent(Self.fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return }
        let parsed = try Self.parse(data)
        try database.writer.write { db in
            for var roster in parsed where try EscalationStore.roster(office: roster.office, certificate: roster.certificateID, in: db) == nil {
                roster.version = 1
                roster.updatedBy = "deploy/config/\(Self.fileName)"
                roster.updatedAt = .init(date: now)
                try EscalationStore.save(roster, in: db)
            }
        }
    }

    /// Validates the file without touching a database (`--check-config`).
    static func check(_ directory: URL) throws -> [String] {
        let url = directory.appendingPathComponent(Self.fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        let rosters = try Self.parse(data)
        return ["\(Self.fileName): \(rosters.count) office roster(s)"]
    }

    static func parse(_ data: Data) throws -> [Roster] {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw RuntimeError("\(Self.fileName): expected {\"rosters\": [...]}")
            }
            root = object
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError("\(Self.fileName) is not valid JSON: \(error)")
        }
        if let unknown = root.keys.sorted().first(where: { !["formatVersion", "comment", "rosters"].contains($0) }) {
            throw RuntimeError("\(Self.fileName): \(unknown): unknown key (allowed: formatVersion, comment, rosters)")
        }
        guard let rosters = root["rosters"] as? [Any] else {
            throw RuntimeError("\(Self.fileName): rosters is required: a list of office rosters")
        }
        var parsed: [Roster] = []
        for (index, entry) in rosters.enumerated() {
            // JSONSerialization.data(withJSONObject:) stops the process
            // (fatalError) on anything but an array or an object (issue 10,
            // found by the config fuzz harness).
            guard entry is [String: Any] else {
                throw RuntimeError("\(Self.fileName): rosters[\(index)] must be an object (a support.escalation.v1.Roster)")
            }
            let json = try JSONSerialization.data(withJSONObject: entry)
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = false
            do {
                parsed.append(try Roster(jsonUTF8Data: json, options: options))
            } catch JSONDecodingError.unknownField(let name) {
                throw RuntimeError("\(Self.fileName): rosters[\(index)].\(name): unknown key (the fields are support.escalation.v1.Roster's, in the protobuf JSON mapping)")
            } catch {
                throw RuntimeError("\(Self.fileName): rosters[\(index)]: \(error)")
            }
            do {
                try RosterRules.validate(parsed[index])
            } catch let error as ServiceError {
                throw RuntimeError("\(Self.fileName): rosters[\(index)]: \(error.rpcError.message) (\(error.rpcError.details.first?.field ?? ""))")
            }
        }
        return parsed
    }
}
