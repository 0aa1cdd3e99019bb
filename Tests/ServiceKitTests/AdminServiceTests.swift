import Foundation
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// `support.admin.v1.Admin` on a bare ServiceKit service: snapshots read in
/// chunks, and the refusals a client can meet.
@Suite("Admin service")
struct AdminServiceTests {
    @Test("A snapshot reads back in chunks to exactly its size, opens as a database, and is gone once released")
    func snapshotChunks() async throws {
        let service = try await InProcessService.start(ServiceDefinition(name: "plain"))
        let snapshot = try await service.client.call(AdminRPC.backup, .init())
        #expect(snapshot.integrity == "ok")
        #expect(snapshot.service == "plain")
        #expect(snapshot.schemaVersion >= 2, "ServiceKit's own migrations are in it")
        #expect(snapshot.serviceTime.date == ISO8601DateFormatter().date(from: "2026-12-04T01:00:00Z"))

        var bytes = Data()
        var request = Support_Admin_V1_ReadBackupRequest()
        request.snapshotID = snapshot.snapshotID
        request.maxBytes = 4096
        var chunks = 0
        while true {
            request.offset = UInt64(bytes.count)
            let chunk = try await service.client.call(AdminRPC.readBackup, request)
            bytes.append(chunk.data)
            chunks += 1
            if chunk.end { break }
        }
        #expect(UInt64(bytes.count) == snapshot.sizeBytes)
        #expect(chunks == Int((snapshot.sizeBytes + 4095) / 4096))
        let copy = service.directory.file("copy.sqlite")
        try bytes.write(to: URL(fileURLWithPath: copy))
        #expect(try DatabaseSnapshot.inspect(path: copy).integrity == "ok")

        request.offset = snapshot.sizeBytes + 1
        await #expect(throws: RPCError.self) { try await service.client.call(AdminRPC.readBackup, request) }
        var release = Support_Admin_V1_ReleaseBackupRequest()
        release.snapshotID = snapshot.snapshotID
        _ = try await service.client.call(AdminRPC.releaseBackup, release)
        request.offset = 0
        do {
            _ = try await service.client.call(AdminRPC.readBackup, request)
            Issue.record("a released snapshot must not be readable")
        } catch let error as RPCError {
            #expect(error.code == .notFound)
        }
        try await service.finish()
    }

    @Test("A snapshot id that is not one Backup issued is INVALID_ARGUMENT, so no other file can be named")
    func snapshotIDIsChecked() async throws {
        let service = try await InProcessService.start(ServiceDefinition(name: "plain"))
        for id in ["", "../plain.sqlite", String(repeating: "A", count: 32), "/etc/passwd"] {
            var request = Support_Admin_V1_ReadBackupRequest()
            request.snapshotID = id
            do {
                _ = try await service.client.call(AdminRPC.readBackup, request)
                Issue.record("\(id) was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.details.first?.field == "snapshot_id")
            }
        }
        let metrics = try await service.client.call(AdminRPC.metrics, .init())
        #expect(metrics.text.contains(#"supportdesk_rpc_calls_total{method="/support.admin.v1.Admin/ReadBackup",code="INVALID_ARGUMENT"} 4"#))
        try await service.finish()
    }

    @Test("Callers that make their first calls together share one connection")
    func firstCallsShareOneConnection() async throws {
        let service = try await InProcessService.start(ServiceDefinition(name: "plain"))
        _ = try await service.client.call(HealthRPC.check, .init())  // the harness's own connection
        let client = RPCClient(socketPath: service.running.socketPath, targetName: "plain")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 { group.addTask { _ = try await client.call(HealthRPC.check, .init()) } }
            try await group.waitForAll()
        }
        // Each caller once claimed its own connection attempt when none was
        // open; the extra connections stayed open until the idle timeout
        // (300 s). On a starved machine one attempt may time out (1 s) after
        // the server accepted it: the client closes it, and the server counts
        // it until it reads the close. So the gauge gets 10 s to settle, far
        // less than the idle timeout a regression would show.
        var metrics = ""
        try await eventually("two connections open, the harness's and this client's, no more: \(metrics)", timeout: .seconds(10)) {
            metrics = try await client.call(AdminRPC.metrics, .init()).text
            return metrics.contains("supportdesk_rpc_connections 2")
        }
        try await service.finish()
    }
}
