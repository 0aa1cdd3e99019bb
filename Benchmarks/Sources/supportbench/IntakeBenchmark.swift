import Foundation
import GRDB
import Intake
import ServiceKit
import SupportProto
import SupportRPC

/// (2) Durable intake: OpenIncident under `synchronous=FULL` from 1, 16 and
/// 64 concurrent callers, against the same rows written by a plain SQLite
/// loop (one fsync'd transaction per incident, and all in one transaction)
/// and against the RPC ceiling (Health at the same concurrency).
struct IntakeBenchmark {
    let scale: Scale
    let work: Workspace
    let report: Report

    /// Friday 10:00 in Tokyo: every channel is open.
    static let fridayTenJST = "2026-12-04T01:00:00Z"

    func run() async throws {
        let runtime = try self.work.directory("intake")
        let intake = try Child.service("intake", runtime: runtime, fakeClock: Self.fridayTenJST, alone: true)
        defer { kill(intake.pid, SIGKILL) }
        try await Child.waitUntilServing("\(runtime)/intake.sock")
        let client = RPCClient(socketPath: "\(runtime)/intake.sock", targetName: "intake")
        _ = try await client.call(IntakeRPC.registerCertificate, Self.certificate())

        let (perIncident, oneTransaction) = try await self.sqliteBaselines()
        let open = { @Sendable (caller: Int, index: Int) in
            var metadata = Metadata()
            metadata[Metadata.idempotencyKey] = "bench-\(caller)-\(index)-\(UInt32.random(in: 0 ... .max))"
            _ = try await client.call(IntakeRPC.openIncident, Self.open(), timeout: .seconds(30), metadata: metadata)
        }
        _ = try await load(concurrency: 4, window: .milliseconds(300), open)
        for concurrency in [1, 16, 64] {
            var rates: [Double] = []
            var latencies: [Double] = []
            var ceiling: [Double] = []
            for _ in 0..<self.scale.repetitions {
                let run = try await load(concurrency: concurrency, window: self.scale.window, open)
                rates.append(run.rate)
                latencies += run.latencies.map { $0 / 1000 }
                ceiling.append(try await load(concurrency: concurrency, window: self.scale.window / 2) { _, _ in
                    _ = try await client.call(HealthRPC.check, .init())
                }.rate)
            }
            let ours = Figure.rates(rates)
            let name = "intake.open c=\(concurrency)"
            let at64 = concurrency == 64
            self.report.add(Row(name, "OpenIncident, durable", unit: "incidents/s", ours: ours,
                                baseline: "SQLite, 1 fsync'd txn/incident", perIncident,
                                target: at64 ? "≥ 3× per-incident" : nil, met: at64 ? { $0 >= 3 } : nil))
            self.report.add(Row(name, "OpenIncident, durable", unit: "incidents/s", ours: ours,
                                baseline: "RPC ceiling (Health, c=\(concurrency))", .rates(ceiling),
                                target: at64 ? "≥ 0.5× RPC ceiling" : nil, met: at64 ? { $0 >= 0.5 } : nil))
            if at64 {
                self.report.add(Row(name, "OpenIncident, durable", unit: "incidents/s", ours: ours,
                                    baseline: "SQLite, all rows in 1 txn", oneTransaction))
                // Where the 0.5× target stands against storage itself: the
                // rows alone, in one transaction, against the same ceiling.
                self.report.add(Row(name, "SQLite, all rows in 1 txn", unit: "incidents/s", ours: oneTransaction,
                                    baseline: "RPC ceiling (Health, c=\(concurrency))", .rates(ceiling)))
            }
            let latency = Figure.latencies(latencies)
            self.report.add(Row(name, "latency", unit: "ms", ours: latency,
                                target: at64 ? "p99 ≤ 20 ms" : nil, met: at64 ? { _ in latency.p99 <= 20 } : nil))
        }
        await client.close()
        await intake.stop()
    }

    // MARK: Baselines

    /// The rows one OpenIncident writes (incident numbered from the highest,
    /// outbox event, idempotency record) by a single-threaded loop on intake's own schema
    /// and pragmas: one durable transaction per incident, and all of them in
    /// one transaction.
    private func sqliteBaselines() async throws -> (perIncident: Figure, oneTransaction: Figure) {
        let directory = try self.work.directory("intake-sqlite")
        let scale = self.scale
        return try await onThread { try Self.plainLoop(path: "\(directory)/plain.sqlite", scale: scale) }
    }

    /// Blocking, on a thread of its own, as a plain program would write.
    private static func plainLoop(path: String, scale: Scale) throws -> (perIncident: Figure, oneTransaction: Figure) {
        let database = try ServiceDatabase(path: path, synchronous: .full, migrations: IntakeService.definition.migrations)
        try database.writer.write { db in
            try db.execute(sql: "INSERT INTO certificate (id, office, document) VALUES ('C-1', 'tokyo', ?)", arguments: [Data(count: 200)])
        }
        let incident = try Self.incidentDocument()
        let event = try Self.eventDocument()
        let request: Data = try Self.open().serializedBytes()
        // Prepared once per connection, as a plain program would.
        func insert(_ db: Database) throws {
            let number = try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT MAX(COALESCE(MAX(number), 0), COALESCE((SELECT floor FROM number_floor WHERE kind = 'incident'), 0)) + 1 FROM incident
                """)) ?? 1
            let id = String(format: "INC-%07d", number)
            try db.cachedStatement(sql: """
                INSERT INTO incident (id, number, certificate_id, office, tier_rank, severity, state, side, opened_at, document)
                VALUES (?, ?, 'C-1', 'tokyo', 0, 3, 1, 1, ?, ?)
                """).execute(arguments: [id, number, Date().timeIntervalSince1970, incident])
            let last = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT MAX(stream_sequence) FROM outbox_event WHERE stream = ?"), arguments: [id]
            ) ?? 0
            try db.cachedStatement(sql: "INSERT INTO outbox_event (event_id, stream, stream_sequence, payload, created_at) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [UUID().uuidString.lowercased(), id, last + 1, event, Date().timeIntervalSince1970])
            try db.cachedStatement(sql: """
                INSERT INTO idempotency_record (caller, method, key, request, response, created_at)
                VALUES ('', '/support.intake.v1.Intake/OpenIncident', ?, ?, ?, ?)
                """).execute(arguments: ["plain-\(number)", request, incident, Date().timeIntervalSince1970])
        }
        var perIncident: [Double] = []
        var oneTransaction: [Double] = []
        let window = Double(scale.window.components.seconds) + Double(scale.window.components.attoseconds) / 1e18
        for _ in 0..<scale.repetitions {
            let start = monotonicNanoseconds()
            var written = 0
            while Double(monotonicNanoseconds() - start) / 1e9 < window {
                try database.writer.write { db in try insert(db) }
                written += 1
            }
            perIncident.append(Double(written) / (Double(monotonicNanoseconds() - start) / 1e9))

            let batch = max(1000, written * 4)
            let began = monotonicNanoseconds()
            try database.writer.write { db in for _ in 0..<batch { try insert(db) } }
            oneTransaction.append(Double(batch) / (Double(monotonicNanoseconds() - began) / 1e9))
        }
        return (.rates(perIncident), .rates(oneTransaction))
    }

    /// An incident document the size OpenIncident stores.
    private static func incidentDocument() throws -> Data {
        var incident = Support_Intake_V1_Incident()
        incident.id = "INC-0000001"
        incident.certificateID = "C-1"
        incident.customer = "Acme C-1"
        incident.tier = .enterprise
        incident.office = "tokyo"
        incident.tam = "tam.sato"
        incident.contact.name = "Person 1"
        incident.contact.email = "p1@c-1.example"
        incident.channel = .portal
        incident.kind = .product
        incident.severity = 3
        incident.title = "scanner crashes"
        incident.state = .new
        incident.side = .vendor
        incident.openedAt = .init(date: Date())
        incident.updatedAt = incident.openedAt
        incident.sideSince = incident.openedAt
        incident.enteredBy = "p1@c-1.example"
        var first = Support_Intake_V1_SeverityChange()
        first.toSeverity = 3
        first.changedBy = "p1@c-1.example"
        first.at = incident.openedAt
        first.reason = "reported"
        incident.severityHistory = [first]
        return try incident.serializedBytes()
    }

    private static func eventDocument() throws -> Data {
        var event = Support_Events_V1_Event()
        event.eventID = UUID().uuidString.lowercased()
        event.producer = "intake"
        event.incidentID = "INC-0000001"
        event.occurredAt = .init(date: Date())
        event.payload = .incidentOpened(.init())
        event.incidentSnapshot = Self.snapshot(severity: 3)
        return try event.serializedBytes()
    }

    static func snapshot(severity: Int32, openedAt: Date = Date()) -> Support_Events_V1_IncidentSnapshot {
        var snapshot = Support_Events_V1_IncidentSnapshot()
        snapshot.certificateID = "C-1"
        snapshot.customer = "Acme C-1"
        snapshot.tier = .enterprise
        snapshot.office = "tokyo"
        snapshot.tam = "tam.sato"
        snapshot.severity = severity
        snapshot.state = .new
        snapshot.side = .vendor
        snapshot.channel = .portal
        snapshot.kind = .product
        snapshot.contactEmail = "p1@c-1.example"
        snapshot.contactName = "Person 1"
        snapshot.title = "scanner crashes"
        snapshot.openedAt = .init(date: openedAt)
        return snapshot
    }

    // MARK: Requests

    static func certificate() -> Support_Intake_V1_RegisterCertificateRequest {
        var request = Support_Intake_V1_RegisterCertificateRequest()
        request.actor = "ops"
        request.certificateID = "C-1"
        request.customer = "Acme C-1"
        request.tier = .enterprise
        request.office = "tokyo"
        request.validFrom = .init(date: ISO8601DateFormatter().date(from: "2026-01-01T00:00:00Z")!)
        request.validUntil = .init(date: ISO8601DateFormatter().date(from: "2027-12-31T00:00:00Z")!)
        request.tam = "tam.sato"
        var contact = Support_Common_V1_Contact()
        contact.name = "Person 1"
        contact.email = "p1@c-1.example"
        request.contacts = [contact]
        return request
    }

    static func open(severity: Int32 = 3) -> Support_Intake_V1_OpenIncidentRequest {
        var request = Support_Intake_V1_OpenIncidentRequest()
        request.certificateID = "C-1"
        request.contactEmail = "p1@c-1.example"
        request.channel = .portal
        request.kind = .product
        request.severity = severity
        request.title = "scanner crashes"
        return request
    }
}
