import Foundation
import GRDB
import SupportProto
import SupportRPC

/// `support.admin.v1.Admin` on every service: metrics, and online backups of
/// the service's database that a client reads back in chunks.
///
/// A snapshot is written beside the database (the one directory the service
/// may always write, also under systemd's `ProtectSystem=strict`) and sent
/// over the socket, so the operator's backup directory needs no permission
/// for the service's user.
struct AdminService: RPCService {
    let serviceName: String
    let database: ServiceDatabase
    let clock: any ServiceClock
    let metrics: ServiceMetrics
    /// With an idempotency key, a retried Backup answers the snapshot the
    /// first call took instead of taking another.
    let writes: ServiceWriter
    /// Applies a parked event again (RetryParkedEvent).
    let inbox: EventInbox
    /// Runs after a parked event applied: its own events go out now.
    let afterEvents: @Sendable () -> Void

    static let defaultChunk = 1 << 20
    static let maximumChunk = 2 << 20

    func register(into router: inout RPCRouter) {
        self.registerParkedEvents(into: &router)
        router.register(AdminRPC.metrics, defaultTimeout: .seconds(10)) { _, _ in
            var response = Support_Admin_V1_MetricsResponse()
            response.text = await self.metrics.exposition()
            return response
        }
        router.register(AdminRPC.backup, defaultTimeout: .seconds(600)) { _, context in
            try await self.writes.recorded(context) {
                let snapshot = try await self.takeSnapshot()
                context.logger.notice("backup snapshot taken", metadata: ["snapshot": "\(snapshot.snapshotID)", "bytes": "\(snapshot.sizeBytes)"])
                return snapshot
            }
        }
        router.register(AdminRPC.readBackup, defaultTimeout: .seconds(30)) { request, _ in
            try self.read(request)
        }
        router.register(AdminRPC.releaseBackup) { request, context in
            // Releasing is idempotent by itself (a released snapshot is
            // gone); the record keeps the answer the same for a retry.
            try await self.writes.recorded(context) {
                let url = try self.snapshotURL(request.snapshotID)
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    try? FileManager.default.removeItem(atPath: url.path + suffix)
                }
                return Support_Admin_V1_ReleaseBackupResponse()
            }
        }
    }

    /// ListParkedEvents, RetryParkedEvent, DropParkedEvent (see EventInbox).
    private func registerParkedEvents(into router: inout RPCRouter) {
        router.register(AdminRPC.listParkedEvents) { request, context in
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            return try await self.writes.read(context) { db in
                var response = Support_Admin_V1_ListParkedEventsResponse()
                (response.events, response.nextPageToken) = paging.page(
                    try EventInbox.parked(offset: paging.offset, limit: paging.fetchLimit, in: db)
                )
                return response
            }
        }
        router.register(AdminRPC.retryParkedEvent) { request, context in
            let id = try Field.required(request.eventID, "event_id", "the parked event to apply again")
            let actor = try Field.required(request.actor, "actor", "the staff id retrying it")
            let apply = self.inbox.apply
            let parked = try await self.writes.write(context) { db, _ -> Written<Support_Admin_V1_ParkedEvent> in
                guard var parked = try EventInbox.parked(id, in: db) else { throw Self.notParked(id) }
                let event = try Event(serializedBytes: try EventInbox.payload(ofParked: id, in: db))
                do {
                    try EventInbox.checkedApply(apply, event, in: db)
                } catch {
                    guard db.isInsideTransaction else { throw error }
                    throw ServiceError(
                        .failedPrecondition, reason: "EVENT_STILL_FAILS", field: "event_id",
                        "event \(id) still cannot be applied: \(EventInbox.describe(error)). Fix the cause and retry it, or drop it"
                    )
                }
                try EventInbox.unpark(id, in: db)
                parked.applied = true
                return Written(parked)
            }
            context.logger.notice("parked event applied", metadata: ["event": "\(id)", "actor": "\(actor)", "kind": "\(parked.kind)"])
            self.afterEvents()
            return parked
        }
        router.register(AdminRPC.dropParkedEvent) { request, context in
            let id = try Field.required(request.eventID, "event_id", "the parked event to give up on")
            let actor = try Field.required(request.actor, "actor", "the staff id dropping it")
            let parked = try await self.writes.write(context) { db, _ -> Written<Support_Admin_V1_ParkedEvent> in
                guard let parked = try EventInbox.parked(id, in: db) else { throw Self.notParked(id) }
                try EventInbox.unpark(id, in: db)
                return Written(parked)
            }
            context.logger.notice("parked event dropped", metadata: ["event": "\(id)", "actor": "\(actor)", "kind": "\(parked.kind)"])
            return parked
        }
    }

    private static func notParked(_ id: String) -> ServiceError {
        ServiceError(.notFound, reason: "EVENT_NOT_PARKED", field: "event_id", "no parked event \(id) on this service; ListParkedEvents lists them")
    }

    /// `<database>.backup-<id>`: beside the database, so the same
    /// filesystem, permissions and clean-up on start apply.
    static func snapshotPrefix(for databasePath: String) -> String { "\(databasePath).backup-" }

    /// Deletes snapshots a previous run took and nobody released.
    static func removeStaleSnapshots(of databasePath: String) {
        let url = URL(fileURLWithPath: databasePath)
        let directory = url.deletingLastPathComponent()
        let prefix = url.lastPathComponent + ".backup-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(prefix) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    private func snapshotURL(_ id: String) throws -> URL {
        // The id is ours (hex); refusing anything else keeps a caller from
        // naming another file.
        guard id.count == 32, id.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw RPCError.invalidArgument(field: "snapshot_id", "snapshot_id is the 32-character id Backup returned")
        }
        return URL(fileURLWithPath: Self.snapshotPrefix(for: self.database.path) + id)
    }

    private func takeSnapshot() async throws -> Support_Admin_V1_BackupResponse {
        let id = (0..<4).map { _ in String(format: "%08x", UInt32.random(in: .min ... .max)) }.joined()
        let url = try self.snapshotURL(id)
        let serviceTime = self.clock.now()
        let database = self.database
        do {
            try await Blocking.run {
                let destination = try DatabaseQueue(path: url.path)
                // A read transaction on the pool: one consistent state, while
                // writers go on (WAL).
                try database.writer.backup(to: destination)
                // The copy inherits WAL mode from the page header; one
                // self-contained file is what a backup should be.
                try destination.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
                try destination.close()
            }
        } catch {
            try? FileManager.default.removeItem(at: url)
            if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL {
                throw RPCError(.resourceExhausted, "\(self.serviceName) has no disk space for a backup beside \(database.path); free some and retry")
            }
            throw RPCError(.unavailable, "\(self.serviceName) could not take a backup: \(error)")
        }
        var response = Support_Admin_V1_BackupResponse()
        response.snapshotID = id
        response.service = self.serviceName
        response.takenAt = .init(date: Date())
        response.serviceTime = .init(date: serviceTime)
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value ?? 0
        response.sizeBytes = size
        do {
            let check = try await Blocking.run { try DatabaseSnapshot.inspect(path: url.path) }
            response.integrity = check.integrity
            response.schemaVersion = Int64(check.migrations.count)
            response.schemaMigration = check.migrations.last ?? ""
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw RPCError(.dataLoss, "\(self.serviceName)'s backup snapshot does not open as a database: \(error)")
        }
        return response
    }

    private func read(_ request: Support_Admin_V1_ReadBackupRequest) throws -> Support_Admin_V1_ReadBackupResponse {
        let url = try self.snapshotURL(request.snapshotID)
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw RPCError(.notFound, "no backup snapshot \(request.snapshotID) on \(self.serviceName); it was released or the service restarted. Take a new one with Backup")
        }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        guard request.offset <= size else {
            throw RPCError(.outOfRange, "offset \(request.offset) is past the snapshot's end (\(size) bytes)")
        }
        try handle.seek(toOffset: request.offset)
        let limit = request.maxBytes == 0 ? Self.defaultChunk : min(Int(request.maxBytes), Self.maximumChunk)
        var response = Support_Admin_V1_ReadBackupResponse()
        response.data = try handle.read(upToCount: limit) ?? Data()
        response.end = request.offset + UInt64(response.data.count) >= size
        return response
    }
}

/// A copy of a service database taken by `Admin/Backup`.
public enum DatabaseSnapshot {
    /// What SQLite's integrity check and the migrations table say of a
    /// database file, opened read-only (the service checks its snapshot, and
    /// supportctl its copy, the same way).
    public static func inspect(path: String) throws -> (integrity: String, migrations: [String]) {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
            let migrations = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
            return (integrity, migrations)
        }
    }
}

/// Runs blocking work (SQLite's backup, file I/O) on a Dispatch thread so it
/// never holds one of the few cooperative threads that serve calls.
public enum Blocking {
    public static func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try body() })
            }
        }
    }
}
