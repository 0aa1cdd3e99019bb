import Foundation
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import Intake

/// Attachments live in intake's database, so a backup holds them and a
/// restore brings them back (issue 22).
@Suite("intake: attachments in backups")
struct AttachmentBackupTests {
    @Test("An attachment round-trips byte for byte (SHA-256) through Admin Backup, ReadBackup and a fresh intake started on the copy")
    func backupAndRestore() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = AttachmentFixture.random((3 << 20) + 17)
        try await fixture.upload(data, fixture.begin(data, name: "memory.dmp"))
        // An upload in progress is in the copy too, and can be finished there.
        let pending = Data("half of a log, then the rest".utf8)
        let upload = try await fixture.intake.client.call(IntakeRPC.beginAttachment, fixture.begin(pending, name: "pending.log")).uploadID
        _ = try await fixture.write(pending.prefix(10), at: 0, to: upload)

        // As supportctl backup does: a snapshot, read in chunks to a file.
        let snapshot = try await fixture.intake.client.call(AdminRPC.backup, .init())
        #expect(snapshot.integrity == "ok")
        let restored = try TemporaryDirectory()
        var copy = Data()
        var read = Support_Admin_V1_ReadBackupRequest()
        read.snapshotID = snapshot.snapshotID
        while true {
            read.offset = UInt64(copy.count)
            let chunk = try await fixture.intake.client.call(AdminRPC.readBackup, read)
            copy.append(chunk.data)
            if chunk.end { break }
        }
        #expect(UInt64(copy.count) == snapshot.sizeBytes)
        try copy.write(to: URL(fileURLWithPath: restored.file("intake.sqlite")))
        var release = Support_Admin_V1_ReleaseBackupRequest()
        release.snapshotID = snapshot.snapshotID
        _ = try await fixture.intake.client.call(AdminRPC.releaseBackup, release)
        try await fixture.finish()

        // As deploy/local/restore does: the copy is the new runtime dir's database.
        let fresh = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST, directory: restored)
        let again = AttachmentFixture(intake: fresh, incident: fixture.incident)
        let back = try await again.readAll("memory.dmp")
        #expect(ContentDigest.hex(of: back) == ContentDigest.hex(of: data))
        #expect(back == data)
        #expect(try await again.read("memory.dmp").attachment.sha256 == ContentDigest.hex(of: data))
        try await again.write(pending, to: upload, from: 10)
        _ = try await again.commit(upload)
        #expect(try await again.readAll("pending.log") == pending)
        try await again.finish()
    }
}
