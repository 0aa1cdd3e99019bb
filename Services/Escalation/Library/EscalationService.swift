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
                try RosterSeed.seed(
                    from: environment.configDirectory, into: environment.database, outbox: environment.outbox, at: environment.clock.now()
                )
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
                // Issue 23: escalations made without full staff (no roster,
                // an unknown TAM, nobody on shift); only ever grows.
                let unstaffed = try await Blocking.run {
                    try database.writer.read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM escalation WHERE unstaffed")) ?? 0 }
                }
                environment.metrics.gauge("supportdesk_escalation_unstaffed_total", []).record(unstaffed)
            }
            return ServiceParts(
                rpc: [EscalationRPCService(environment: environment, engine: engine)],
                applyEvent: { db, event in try engine.apply(event, in: db) }
            )
        },
        checkConfig: { directory in
            let offices = try OfficeDirectory.load(configDirectory: directory)
            return ["\(OfficeDirectory.fileName): offices \(offices.ids.joined(separator: ", "))"] + (try RosterSeed.check(directory, offices: offices.ids))
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

    /// Seeds each roster of roster.json not stored yet, and publishes every
    /// stored roster notifier has not been sent (seeded now, or stored
    /// before escalation published rosters), in one transaction with the
    /// outbox (R-ORG-4, issue 23).
    static func seed(from directory: URL, into database: ServiceDatabase, outbox: EventOutbox, at now: Date) throws {
        let url = directory.appendingPathComponent(Self.fileName)
        let parsed = try FileManager.default.contents(atPath: url.path).map(Self.parse) ?? []
        try database.writer.write { db in
            for var roster in parsed where try EscalationStore.roster(office: roster.office, certificate: roster.certificateID, in: db) == nil {
                roster.version = 1
                roster.updatedBy = "deploy/config/\(Self.fileName)"
                roster.updatedAt = .init(date: now)
                try EscalationStore.save(roster, in: db)
            }
            for roster in try EscalationStore.unpublishedRosters(in: db) {
                try outbox.append(try EscalationStore.published(roster, in: db), in: db)
            }
        }
    }

    /// Validates the file without touching a database (`--check-config`),
    /// and names every office of offices.json with neither a roster nor a
    /// fallback roster to use (R-ORG-4, issue 23).
    static func check(_ directory: URL, offices: [String]) throws -> [String] {
        let url = directory.appendingPathComponent(Self.fileName)
        let rosters = try FileManager.default.contents(atPath: url.path).map(Self.parse) ?? []
        let staffed = Set(rosters.filter { $0.certificateID.isEmpty }.map(\.office))
        let fallback = staffed.contains(RosterRules.fallbackOffice)
        let bare = offices.filter { !staffed.contains($0) }
        if !fallback, !bare.isEmpty {
            throw RuntimeError(
                "\(Self.fileName): office(s) \(bare.joined(separator: ", ")) of \(OfficeDirectory.fileName) have no roster and there is no fallback roster; "
                    + "add a roster for each, or a \"fallback\" roster with its fallbackDuty (R-ORG-4)"
            )
        }
        let officeCount = rosters.filter { $0.certificateID.isEmpty && $0.office != RosterRules.fallbackOffice }.count
        var lines = ["\(Self.fileName): \(officeCount) office roster(s)\(fallback ? " and a fallback roster" : "")"]
        if !bare.isEmpty { lines.append("\(Self.fileName): office(s) \(bare.joined(separator: ", ")) use the fallback roster") }
        return lines
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
        if let unknown = root.keys.sorted().first(where: { !["formatVersion", "comment", "rosters", "fallback"].contains($0) }) {
            throw RuntimeError("\(Self.fileName): \(unknown): unknown key (allowed: formatVersion, comment, rosters, fallback)")
        }
        guard let rosters = root["rosters"] as? [Any] else {
            throw RuntimeError("\(Self.fileName): rosters is required: a list of office rosters")
        }
        var parsed: [Roster] = []
        // The fallback roster: what any office without its own uses, with
        // the duty address alerted when staff is missing (issue 23).
        var entries = rosters.enumerated().map { ("rosters[\($0.offset)]", $0.element) }
        if let fallback = root["fallback"] {
            guard var object = fallback as? [String: Any] else {
                throw RuntimeError("\(Self.fileName): fallback must be an object (a support.escalation.v1.Roster without office)")
            }
            if let office = object["office"], office as? String != RosterRules.fallbackOffice {
                throw RuntimeError("\(Self.fileName): fallback.office: leave it out (the fallback roster's office is \"\(RosterRules.fallbackOffice)\")")
            }
            object["office"] = RosterRules.fallbackOffice
            entries.append(("fallback", object))
        }
        for (index, (path, entry)) in entries.enumerated() {
            // JSONSerialization.data(withJSONObject:) stops the process
            // (fatalError) on anything but an array or an object (issue 10,
            // found by the config fuzz harness).
            guard entry is [String: Any] else {
                throw RuntimeError("\(Self.fileName): \(path) must be an object (a support.escalation.v1.Roster)")
            }
            let json = try JSONSerialization.data(withJSONObject: entry)
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = false
            do {
                parsed.append(try Roster(jsonUTF8Data: json, options: options))
            } catch JSONDecodingError.unknownField(let name) {
                throw RuntimeError("\(Self.fileName): \(path).\(name): unknown key (the fields are support.escalation.v1.Roster's, in the protobuf JSON mapping)")
            } catch {
                throw RuntimeError("\(Self.fileName): \(path): \(error)")
            }
            do {
                try RosterRules.validate(parsed[index])
            } catch let error as ServiceError {
                throw RuntimeError("\(Self.fileName): \(path): \(error.rpcError.message) (\(error.rpcError.details.first?.field ?? ""))")
            }
            parsed[index] = RosterRules.normalised(parsed[index])
        }
        return parsed
    }
}
