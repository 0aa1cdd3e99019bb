import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import Intake

/// WriteAttachment and CommitAttachment as intake.proto promises them:
/// offsets, retries, the size and SHA-256 checks, and expiry (issue 22).
@Suite("intake: attachment uploads")
struct AttachmentUploadTests {
    @Test("WriteAttachment: a retried chunk with the same bytes is OK and changes nothing; other bytes, a gap or an overlap are refused naming where to resume")
    func writeOffsets() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = AttachmentFixture.random(300)
        let upload = try await fixture.intake.client.call(IntakeRPC.beginAttachment, fixture.begin(data)).uploadID

        #expect(try await fixture.write(data[0..<100], at: 0, to: upload).receivedBytes == 100)
        let rows = try fixture.rows("attachment_chunk")
        #expect(try await fixture.write(data[0..<100], at: 0, to: upload).receivedBytes == 100, "a retry answers where it stands")
        #expect(try await fixture.write(data[20..<60], at: 20, to: upload).receivedBytes == 100, "so does a part of a received chunk")
        #expect(try fixture.rows("attachment_chunk") == rows, "and nothing was stored twice")

        var changed = data[0..<100]
        changed[changed.startIndex + 50] ^= 0xFF
        let differs = await #expect(throws: RPCError.self) { try await fixture.write(changed, at: 0, to: upload) }
        #expect(differs?.code == .failedPrecondition)
        #expect(differs?.details.first?.reason == "UPLOAD_DATA_DIFFERS")

        for (offset, end) in [(150, 200), (50, 150)] {
            let wrong = await #expect(throws: RPCError.self) { try await fixture.write(data[offset..<end], at: offset, to: upload) }
            #expect(wrong?.code == .failedPrecondition, "offset \(offset)")
            #expect(wrong?.details.first?.reason == "UPLOAD_OFFSET", "offset \(offset)")
            #expect(wrong?.message.contains("resume from offset 100") == true, "\(wrong?.message ?? "")")
            #expect(wrong.flatMap(AttachmentTransfer.resumeOffset) == 100)
        }

        let empty = await #expect(throws: RPCError.self) { try await fixture.write(Data(), at: 100, to: upload) }
        #expect(empty?.code == .invalidArgument && empty?.details.first?.field == "data")
        let tooMuch = await #expect(throws: RPCError.self) { try await fixture.write(AttachmentFixture.random(201), at: 100, to: upload) }
        #expect(tooMuch?.code == .invalidArgument && tooMuch?.message.contains("size_bytes") == true, "more bytes than size_bytes")
        let unknown = await #expect(throws: RPCError.self) { try await fixture.write(data[100..<200], at: 100, to: "no-such-upload") }
        #expect(unknown?.code == .notFound)

        #expect(try await fixture.write(data[100..<300], at: 100, to: upload).receivedBytes == 300)
        _ = try await fixture.commit(upload)
        #expect(try await fixture.readAll("dump.dmp") == data)
        try await fixture.finish()
    }

    @Test("WriteAttachment: data over 2 MiB is INVALID_ARGUMENT; 2 MiB exactly is one write")
    func chunkLimit() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = AttachmentFixture.random((2 << 20) + 1)
        let upload = try await fixture.intake.client.call(IntakeRPC.beginAttachment, fixture.begin(data))
        #expect(upload.maxChunkBytes == 2 << 20)
        #expect(upload.expiresAt.date == ISO8601DateFormatter().date(from: IntakeServiceTests.fridayTenJST)! + 24 * 3600)
        let over = await #expect(throws: RPCError.self) { try await fixture.write(data, at: 0, to: upload.uploadID) }
        #expect(over?.code == .invalidArgument && over?.details.first?.field == "data")
        #expect(try await fixture.write(data.prefix(2 << 20), at: 0, to: upload.uploadID).receivedBytes == 2 << 20)
        try await fixture.finish()
    }

    @Test("CommitAttachment: too few bytes is UPLOAD_INCOMPLETE and the upload stays; then a commit stores it, and a second commit is OK and changes nothing")
    func commitIncompleteThenTwice() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = AttachmentFixture.random(5000)
        let upload = try await fixture.intake.client.call(IntakeRPC.beginAttachment, fixture.begin(data)).uploadID
        _ = try await fixture.write(data[0..<4000], at: 0, to: upload)
        let incomplete = await #expect(throws: RPCError.self) { try await fixture.commit(upload) }
        #expect(incomplete?.code == .failedPrecondition)
        #expect(incomplete?.details.first?.reason == "UPLOAD_INCOMPLETE")
        #expect(incomplete?.message.contains("resume from offset 4000") == true)

        _ = try await fixture.write(data[4000...], at: 4000, to: upload)
        let committed = try await fixture.commit(upload)
        #expect(committed.id == fixture.incident)
        let rows = try fixture.rows("attachment") + fixture.rows("attachment_chunk")
        let again = try await fixture.commit(upload)
        #expect(again == committed, "a second commit answers the incident unchanged")
        #expect(try fixture.rows("attachment") + fixture.rows("attachment_chunk") == rows)
        #expect(try fixture.storedNames() == ["dump.dmp"], "stored once")
        // A retried Write after the commit is still safe.
        #expect(try await fixture.write(data[0..<10], at: 0, to: upload).receivedBytes == 5000)
        try await fixture.finish()
    }

    @Test("CommitAttachment: bytes whose SHA-256 differs from Begin's are DIGEST_MISMATCH and the upload is discarded")
    func digestMismatch() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = AttachmentFixture.random(3 << 20)
        var begin = fixture.begin(data)
        begin.sha256 = ContentDigest.hex(of: Data("something else".utf8))
        let upload = try await fixture.intake.client.call(IntakeRPC.beginAttachment, begin).uploadID
        try await fixture.write(data, to: upload)
        let mismatch = await #expect(throws: RPCError.self) { try await fixture.commit(upload) }
        #expect(mismatch?.code == .failedPrecondition)
        #expect(mismatch?.details.first?.reason == "DIGEST_MISMATCH")
        #expect(mismatch?.message.contains(ContentDigest.hex(of: data)) == true, "it says what the bytes hash to")
        #expect(try fixture.rows("attachment_upload") == 0 && fixture.rows("attachment_chunk") == 0, "discarded, bytes and all")
        #expect(try fixture.rows("attachment") == 0)
        let gone = await #expect(throws: RPCError.self) { try await fixture.commit(upload) }
        #expect(gone?.code == .notFound, "upload again, as the refusal said")
        try await fixture.finish()
    }

    @Test("A contact may write to and commit only its own upload: staff's, or another contact's, is NOT_FOUND to it")
    func uploadsAreTheUploaders() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = Data("log".utf8)
        let staffUpload = try await fixture.intake.client.call(IntakeRPC.beginAttachment, fixture.begin(data)).uploadID
        let ann = AttachmentFixture.forContact("p1@c-1.example")
        let bob = AttachmentFixture.forContact("p2@c-1.example")
        let annUpload = try await fixture.intake.client.call(
            IntakeRPC.beginAttachment, fixture.begin(data, contact: "p1@c-1.example"), metadata: ann
        ).uploadID
        for (upload, caller) in [(staffUpload, ann), (annUpload, bob)] {
            let write = await #expect(throws: RPCError.self) { try await fixture.write(data, at: 0, to: upload, metadata: caller) }
            #expect(write?.code == .notFound)
            let commit = await #expect(throws: RPCError.self) { try await fixture.commit(upload, metadata: caller) }
            #expect(commit?.code == .notFound)
        }
        _ = try await fixture.write(data, at: 0, to: annUpload, metadata: ann)
        _ = try await fixture.commit(annUpload, metadata: ann)
        try await fixture.finish()
    }

    @Test("Closing the incident between Begin and Commit: the commit is FAILED_PRECONDITION and stores nothing")
    func closedBeforeCommit() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = Data("late".utf8)
        let upload = try await fixture.intake.client.call(IntakeRPC.beginAttachment, fixture.begin(data)).uploadID
        _ = try await fixture.write(data, at: 0, to: upload)
        var close = Support_Intake_V1_CloseRequest()
        close.incidentID = fixture.incident
        close.actor = AttachmentFixture.staff
        close.reason.kind = .notReproducible
        _ = try await fixture.intake.client.call(IntakeRPC.close, close)
        let refused = await #expect(throws: RPCError.self) { try await fixture.commit(upload) }
        #expect(refused?.code == .failedPrecondition)
        #expect(try fixture.rows("attachment") == 0)
        try await fixture.finish()
    }

    @Test("Uploads expire 24 hours after Begin: Write and Commit are NOT_FOUND, and the pruner frees their bytes but keeps committed attachments")
    func expiry() async throws {
        let fixture = try await AttachmentFixture.start()
        #expect(fixture.intake.process.workers.contains { $0 is AttachmentUploadPruner }, "intake runs the pruner")
        let kept = Data("committed".utf8)
        let (committed, _) = try await fixture.upload(kept, fixture.begin(kept, name: "kept.log"))
        let pending = AttachmentFixture.random(1500)
        let upload = try await fixture.intake.client.call(IntakeRPC.beginAttachment, fixture.begin(pending, name: "pending.bin")).uploadID
        _ = try await fixture.write(pending[0..<1000], at: 0, to: upload)

        let environment = fixture.intake.process.environment
        let pruner = AttachmentUploadPruner(database: environment.database, clock: environment.clock, logger: fixture.intake.logs.logger())
        _ = try await fixture.intake.clock.advance(by: 24 * 3600 - 1)
        #expect(try await pruner.prune() == 0, "nothing has expired a second before")
        _ = try await fixture.write(pending[1000..<1200], at: 1000, to: upload)

        _ = try await fixture.intake.clock.advance(by: 1)
        let write = await #expect(throws: RPCError.self) { try await fixture.write(pending[1200...], at: 1200, to: upload) }
        #expect(write?.code == .notFound)
        #expect(write?.message.contains("expire") == true)
        let commit = await #expect(throws: RPCError.self) { try await fixture.commit(upload) }
        #expect(commit?.code == .notFound)
        let late = await #expect(throws: RPCError.self) { try await fixture.commit(committed) }
        #expect(late?.code == .notFound, "a commit after expiry, even of a committed upload, is NOT_FOUND as intake.proto says")

        #expect(try await pruner.prune() == 2)
        #expect(try fixture.rows("attachment_upload") == 0)
        #expect(try await fixture.readAll("kept.log") == kept, "the committed attachment keeps its bytes")
        #expect(try fixture.rows("attachment_chunk") == 1, "the expired upload's bytes are gone")
        try await fixture.finish()
    }
}
