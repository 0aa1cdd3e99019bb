import Foundation
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Attachments through the real executables and supportctl (issue 22,
/// R-SCOPE-1): attach, get, and back again after a backup and a restore.
@Suite("End to end: attachments", .serialized)
struct AttachmentScenarioTests {
    static func sha256(_ path: String) throws -> String {
        ContentDigest.hex(of: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("supportctl incident attach and attachment get move a 5 MiB dump byte for byte (SHA-256), also across supportctl backup and deploy/local/restore")
    func attachBackupRestore() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        let incident = try await SLAScenarioTests.open(cluster, severity: 2)
        let source = cluster.runtime.file("dump.dmp")
        var generator = SystemRandomNumberGenerator()
        try Data((0..<((5 << 20) / 8 + 1)).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } })
            .write(to: URL(fileURLWithPath: source))
        let digest = try Self.sha256(source)

        let attach = try await cluster.supportctl("incident", "attach", incident, source, "--message", "the scanner's crash dump")
        #expect(attach.status == 0, "\(attach.stderr)")
        #expect(attach.stdout.contains("attached dump.dmp: 5242888 bytes, SHA-256 \(digest)"), "\(attach.stdout)")
        #expect(attach.stderr.contains("100%"), "progress on stderr for a big file: \(attach.stderr)")
        let forAnn = try await cluster.supportctl("incident", "attach", incident, source, "--contact", "ann@acme.example", "--name", "again.dmp")
        #expect(forAnn.status == 0, "\(forAnn.stderr)")
        let path = try await cluster.supportctl("incident", "attach", incident, source, "--name", "../../etc/passwd")
        #expect(path.status != 0)
        #expect(path.stderr.contains("INVALID_ARGUMENT") && path.stderr.contains("path"), "\(path.stderr)")

        let copy = cluster.runtime.file("copy.dmp")
        let get = try await cluster.supportctl("incident", "attachment", "get", incident, "dump.dmp", "--to", copy)
        #expect(get.status == 0, "\(get.stderr)")
        #expect(try Self.sha256(copy) == digest)
        let kept = try await cluster.supportctl("incident", "attachment", "get", incident, "dump.dmp", "--to", copy)
        #expect(kept.status != 0 && kept.stderr.contains("--force"), "an existing file is not overwritten: \(kept.stderr)")
        let missing = try await cluster.supportctl("incident", "attachment", "get", incident, "nothing.dmp", "--to", cluster.runtime.file("x"))
        #expect(missing.status != 0 && missing.stderr.contains("NOT_FOUND"))

        let backupDirectory = cluster.runtime.file("backup")
        let backup = try await cluster.supportctl("backup", "--to", backupDirectory)
        #expect(backup.status == 0, "\(backup.stderr)")
        await cluster.stopAll()
        let restore = try await ServiceCluster.run(
            OperateTests.root.appendingPathComponent("deploy/local/restore").path, [backupDirectory, "--runtime-dir", cluster.runtime.path]
        )
        #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
        try await cluster.startAll()
        let restored = cluster.runtime.file("restored.dmp")
        let after = try await cluster.supportctl("incident", "attachment", "get", incident, "dump.dmp", "--to", restored)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try Self.sha256(restored) == digest, "the restored attachment is the same bytes")
        await cluster.shutdown()
    }

    @Test("intake --help documents --max-attachment-bytes and its default of 25 MiB")
    func limitFlag() async throws {
        let help = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/intake", ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--max-attachment-bytes <bytes>"), "\(help.stdout)")
        #expect(help.stdout.contains("26214400"))
        let bad = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/intake", ["--max-attachment-bytes", "0", "--check-config"])
        #expect(bad.status != 0 && bad.stderr.contains("--max-attachment-bytes"))
    }
}
