import Foundation
import GRDB
import ServiceKit
import SupportProto
import SwiftProtobuf
import Synchronization

typealias Certificate = Support_Intake_V1_Certificate
typealias Incident = Support_Intake_V1_Incident
typealias Problem = Support_Intake_V1_Problem
typealias HealthCheckBooking = Support_Intake_V1_HealthCheckBooking
typealias CompanyAccount = Support_Intake_V1_CompanyAccountAvailability

/// Reads and writes intake's aggregates inside a caller's transaction.
enum IntakeStore {
    // MARK: Certificates

    static func certificate(_ id: String, in db: Database) throws -> Certificate? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM certificate WHERE id = ?"), arguments: [id])
            .map { try Self.certificates.decode($0, key: id) }
    }

    /// Every OpenIncident reads its certificate in the one writer; decoding
    /// it each time was 5% of the writer's time (issue 9).
    static let certificates = DecodedDocuments<Certificate>(limit: 4096)
    static let companyAccounts = DecodedDocuments<CompanyAccount>(limit: 1)

    /// Writes `certificate`; only inside ``AccountCache/changing(_:)``.
    static func save(_ certificate: Certificate, in db: Database, during _: AccountCache.Change) throws {
        try db.executeCached(
            sql: """
                INSERT INTO certificate (id, office, document) VALUES (?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET office = excluded.office, document = excluded.document
                """,
            arguments: [certificate.id, certificate.office, try certificate.serializedBytes() as Data]
        )
    }

    /// The ids of the certificates that list `email` as a contact now.
    static func certificates(withContact email: String, in db: Database) throws -> Set<String> {
        let all = try Data.fetchAll(db.cachedStatement(sql: "SELECT document FROM certificate")).map { try Certificate(serializedBytes: $0) }
        return Set(all.filter { $0.contacts.contains { $0.email.lowercased() == email } }.map(\.id))
    }

    static func certificates(office: String, offset: Int, limit: Int, in db: Database) throws -> [Certificate] {
        try Data.fetchAll(
            db.cachedStatement(sql: "SELECT document FROM certificate WHERE (? = '' OR office = ?) ORDER BY id LIMIT ? OFFSET ?"),
            arguments: [office, office, limit, offset]
        ).map { try Certificate(serializedBytes: $0) }
    }

    // MARK: Incidents

    /// The incident with its whole thread (issue 22), internal notes
    /// included: what a life-cycle step needs. What a caller is shown of it
    /// is ``IncidentView``'s.
    static func incident(_ id: String, in db: Database) throws -> Incident? {
        guard let document = try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM incident WHERE id = ?"), arguments: [id]) else {
            return nil
        }
        var incident = try Incident(serializedBytes: document)
        incident.thread = try Self.thread(of: id, in: db)
        return incident
    }

    /// Inserts a new incident and its thread (its description).
    ///
    /// - Returns: The incident's stored document (its encoding, without the
    ///   thread).
    @discardableResult
    static func insert(_ incident: Incident, number: Int64, in db: Database) throws -> Data {
        let document = try Self.document(incident)
        try db.executeCached(
            sql: """
                INSERT INTO incident (id, number, certificate_id, office, tier_rank, severity, state, side, opened_at, document)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                incident.id, number, incident.certificateID, incident.office, tierRank(incident.tier),
                incident.severity, incident.state.rawValue, incident.side.rawValue,
                incident.openedAt.date.timeIntervalSince1970, document,
            ]
        )
        for article in incident.thread {
            try Self.appendArticle(article, to: incident.id, in: db)
        }
        return document
    }

    /// Writes the incident's document; its new articles are appended
    /// apart (``update(_:adding:in:)``).
    static func update(_ incident: Incident, in db: Database) throws {
        try db.executeCached(
            sql: "UPDATE incident SET severity = ?, state = ?, side = ?, document = ? WHERE id = ?",
            arguments: [
                incident.severity, incident.state.rawValue, incident.side.rawValue,
                try Self.document(incident), incident.id,
            ]
        )
    }

    struct QueueFilter {
        var certificateID = ""
        var office = ""
        var states: [Support_Common_V1_IncidentState] = []
        var side: Support_Common_V1_Side = .unspecified
        var severity: Int32 = 0
    }

    /// The queue in R-SLA-4 order: enterprise first, then severity 1 first,
    /// then oldest first. `offset` pages through it. The incidents come
    /// without their threads.
    static func queue(_ filter: QueueFilter, offset: Int, limit: Int, in db: Database) throws -> [Incident] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if !filter.certificateID.isEmpty {
            clauses.append("certificate_id = ?")
            _ = arguments.append(contentsOf: [filter.certificateID])
        }
        if !filter.office.isEmpty {
            clauses.append("office = ?")
            _ = arguments.append(contentsOf: [filter.office])
        }
        if !filter.states.isEmpty {
            clauses.append("state IN (\(filter.states.map { _ in "?" }.joined(separator: ",")))")
            _ = arguments.append(contentsOf: StatementArguments(filter.states.map(\.rawValue)))
        }
        if filter.side != .unspecified {
            clauses.append("side = ?")
            _ = arguments.append(contentsOf: [filter.side.rawValue])
        }
        if filter.severity != 0 {
            clauses.append("severity = ?")
            _ = arguments.append(contentsOf: [filter.severity])
        }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        _ = arguments.append(contentsOf: [limit, offset])
        return try Data.fetchAll(
            db.cachedStatement(sql: "SELECT document FROM incident \(whereClause) ORDER BY tier_rank, severity, opened_at, number LIMIT ? OFFSET ?"),
            arguments: arguments
        ).map { try Incident(serializedBytes: $0) }
    }

    static func tierRank(_ tier: Support_Common_V1_Tier) -> Int {
        tier == .enterprise ? 0 : 1
    }

    // MARK: Problems

    static func problem(_ id: String, in db: Database) throws -> Problem? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM problem WHERE id = ?"), arguments: [id])
            .map { try Problem(serializedBytes: $0) }
    }

    static func save(_ problem: Problem, number: Int64? = nil, in db: Database) throws {
        if let number {
            try db.executeCached(
                sql: "INSERT INTO problem (id, number, state, document) VALUES (?, ?, ?, ?)",
                arguments: [problem.id, number, problem.state.rawValue, try problem.serializedBytes() as Data]
            )
        } else {
            try db.executeCached(
                sql: "UPDATE problem SET state = ?, document = ? WHERE id = ?",
                arguments: [problem.state.rawValue, try problem.serializedBytes() as Data, problem.id]
            )
        }
    }

    static func problems(state: Support_Intake_V1_ProblemState, offset: Int, limit: Int, in db: Database) throws -> [Problem] {
        try Data.fetchAll(
            db.cachedStatement(sql: "SELECT document FROM problem WHERE (? = 0 OR state = ?) ORDER BY number DESC LIMIT ? OFFSET ?"),
            arguments: [state.rawValue, state.rawValue, limit, offset]
        ).map { try Problem(serializedBytes: $0) }
    }

    // MARK: Health checks, Company Account, numbers

    /// Writes `booking`: a new one, a change, or a year booked again
    /// after its check was cancelled (the id is the year's).
    static func save(_ booking: HealthCheckBooking, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO health_check (id, certificate_id, certificate_year, document) VALUES (?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET document = excluded.document
                """,
            arguments: [booking.id, booking.certificateID, booking.certificateYear, try booking.serializedBytes() as Data]
        )
    }

    static func healthCheck(_ id: String, in db: Database) throws -> HealthCheckBooking? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM health_check WHERE id = ?"), arguments: [id])
            .map { try HealthCheckBooking(serializedBytes: $0) }
    }

    /// A certificate's bookings by year, or every certificate's for an
    /// empty id.
    static func healthChecks(certificateID: String, in db: Database) throws -> [HealthCheckBooking] {
        let rows =
            certificateID.isEmpty
            ? try Data.fetchAll(db.cachedStatement(sql: "SELECT document FROM health_check ORDER BY certificate_id, certificate_year"))
            : try Data.fetchAll(
                db.cachedStatement(sql: "SELECT document FROM health_check WHERE certificate_id = ? ORDER BY certificate_year"), arguments: [certificateID]
            )
        return try rows.map { try HealthCheckBooking(serializedBytes: $0) }
    }

    /// R-CH-3: the portal is available unless an operator said otherwise.
    static func companyAccount(in db: Database) throws -> CompanyAccount {
        if let stored = try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM company_account WHERE id = 1")) {
            return try Self.companyAccounts.decode(stored, key: "")
        }
        var available = CompanyAccount()
        available.available = true
        return available
    }

    /// Writes `account`; only inside ``AccountCache/changing(_:)``.
    static func save(_ account: CompanyAccount, in db: Database, during _: AccountCache.Change) throws {
        try db.executeCached(
            sql: "INSERT INTO company_account (id, document) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET document = excluded.document",
            arguments: [try account.serializedBytes() as Data]
        )
    }

    /// The tables whose rows are numbered 1, 2, 3...
    enum Numbered: String {
        case incident
        case problem
    }

    /// The number after the highest one stored, or after the floor a
    /// restore set (the highest another service's copy has seen), starting
    /// at 1. Rows are never deleted, so a number is never given twice; two
    /// opens in one batch see each other (the same transaction), and the
    /// `number` column's unique index and the floor's key make this two
    /// seeks.
    static func nextNumber(_ table: Numbered, in db: Database) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(sql: """
                SELECT MAX(COALESCE(MAX(number), 0), COALESCE((SELECT floor FROM number_floor WHERE kind = ?), 0)) + 1
                FROM \(table.rawValue)
                """),
            arguments: [table.rawValue]
        ) ?? 1
    }
}

/// The last message decoded from each key's document, given again while the
/// stored bytes are the same ones. Keyed by the bytes themselves, it cannot
/// go stale: a change, a rolled-back change or another database's row has
/// other bytes and is decoded afresh. Comparing the bytes costs a fraction
/// of decoding them.
final class DecodedDocuments<Document: SwiftProtobuf.Message & Sendable>: Sendable {
    private let entries = Mutex<[String: (bytes: Data, document: Document)]>([:])
    private let limit: Int

    /// - Parameter limit: Keys kept; past it the cache starts over.
    init(limit: Int) {
        self.limit = limit
    }

    func decode(_ bytes: Data, key: String) throws -> Document {
        if let entry = self.entries.withLock({ $0[key] }), entry.bytes == bytes { return entry.document }
        let document = try Document(serializedBytes: bytes)
        self.entries.withLock { entries in
            if entries.count >= self.limit && entries[key] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key] = (bytes, document)
        }
        return document
    }
}
