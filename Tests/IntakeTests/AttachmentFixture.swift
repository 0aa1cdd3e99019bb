import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC
import TestSupport

@testable import Intake

/// An intake with two organisations (C-1 with contacts p1 and p2, C-2 with
/// p1@c-2) and one open incident of C-1, and the calls the attachment
/// tests make on it.
struct AttachmentFixture {
    static let staff = "eng.kato"

    let intake: InProcessService
    /// C-1's open incident, opened by p1@c-1.example.
    let incident: String

    static func start(maxAttachmentBytes: UInt64 = IntakeService.defaultMaxAttachmentBytes) async throws -> AttachmentFixture {
        let intake = try await InProcessService.start(
            IntakeService.definition(maxAttachmentBytes: maxAttachmentBytes), fakeClock: IntakeServiceTests.fridayTenJST
        )
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate("C-1", contacts: 2))
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate("C-2"))
        let incident = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open("C-1"))
        return AttachmentFixture(intake: intake, incident: incident.id)
    }

    func finish() async throws {
        try await self.intake.finish()
    }

    static func forContact(_ email: String) -> Metadata { [Caller.metadataKey: "contact:\(email)"] }

    /// Random bytes, quickly (a word at a time).
    static func random(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        var data = Data(count: count)
        data.withUnsafeMutableBytes { bytes in
            var index = 0
            while index < count {
                var word = generator.next() as UInt64
                let take = min(8, count - index)
                withUnsafeBytes(of: &word) { bytes.baseAddress!.advanced(by: index).copyMemory(from: $0.baseAddress!, byteCount: take) }
                index += take
            }
        }
        return data
    }

    /// A BeginAttachment for `data`, by staff unless `contact` is given.
    func begin(
        _ data: Data, name: String = "dump.dmp", contact: String? = nil, visibility: Support_Common_V1_Visibility = .unspecified,
        incident: String? = nil
    ) -> Support_Intake_V1_BeginAttachmentRequest {
        var request = Support_Intake_V1_BeginAttachmentRequest()
        request.incidentID = incident ?? self.incident
        if let contact { request.contactEmail = contact } else { request.actor = Self.staff }
        request.name = name
        request.mediaType = "application/octet-stream"
        request.sizeBytes = UInt64(data.count)
        request.sha256 = ContentDigest.hex(of: data)
        request.text = "the crash dump"
        request.visibility = visibility
        return request
    }

    /// Begin, Write in chunks of `chunk` bytes, Commit: the upload's id and
    /// the incident Commit answered.
    @discardableResult
    func upload(
        _ data: Data, _ begin: Support_Intake_V1_BeginAttachmentRequest? = nil, chunk: Int = 2 << 20, metadata: Metadata = Metadata()
    ) async throws -> (uploadID: String, incident: Support_Intake_V1_Incident) {
        let started = try await self.intake.client.call(IntakeRPC.beginAttachment, begin ?? self.begin(data), metadata: metadata)
        try await self.write(data, to: started.uploadID, chunk: chunk, metadata: metadata)
        var commit = Support_Intake_V1_CommitAttachmentRequest()
        commit.uploadID = started.uploadID
        return (started.uploadID, try await self.intake.client.call(IntakeRPC.commitAttachment, commit, metadata: metadata))
    }

    func write(_ data: Data, to uploadID: String, from start: Int = 0, chunk: Int = 2 << 20, metadata: Metadata = Metadata()) async throws {
        var offset = start
        while offset < data.count {
            let end = min(offset + chunk, data.count)
            let written = try await self.write(data[offset..<end], at: offset, to: uploadID, metadata: metadata)
            offset = Int(written.receivedBytes)
        }
    }

    func write(
        _ data: Data, at offset: Int, to uploadID: String, metadata: Metadata = Metadata()
    ) async throws -> Support_Intake_V1_WriteAttachmentResponse {
        var request = Support_Intake_V1_WriteAttachmentRequest()
        request.uploadID = uploadID
        request.offset = UInt64(offset)
        request.data = Data(data)
        return try await self.intake.client.call(IntakeRPC.writeAttachment, request, metadata: metadata)
    }

    func commit(_ uploadID: String, metadata: Metadata = Metadata()) async throws -> Support_Intake_V1_Incident {
        var request = Support_Intake_V1_CommitAttachmentRequest()
        request.uploadID = uploadID
        return try await self.intake.client.call(IntakeRPC.commitAttachment, request, metadata: metadata)
    }

    func read(
        _ name: String, offset: UInt64 = 0, maxBytes: UInt32 = 0, incident: String? = nil, metadata: Metadata = Metadata()
    ) async throws -> Support_Intake_V1_ReadAttachmentResponse {
        var request = Support_Intake_V1_ReadAttachmentRequest()
        request.incidentID = incident ?? self.incident
        request.name = name
        request.offset = offset
        request.maxBytes = maxBytes
        return try await self.intake.client.call(IntakeRPC.readAttachment, request, metadata: metadata)
    }

    /// The whole attachment, read chunk by chunk until `end`.
    func readAll(_ name: String, incident: String? = nil, metadata: Metadata = Metadata()) async throws -> Data {
        var bytes = Data()
        while true {
            let chunk = try await self.read(name, offset: UInt64(bytes.count), incident: incident, metadata: metadata)
            bytes.append(chunk.data)
            if chunk.end { return bytes }
        }
    }

    /// Rows of `table` in intake's database.
    func rows(_ table: String) throws -> Int {
        try self.intake.process.environment.database.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
        }
    }

    /// The names of the incident's stored attachments.
    func storedNames() throws -> [String] {
        try self.intake.process.environment.database.writer.read { db in
            try AttachmentStore.attachments(of: self.incident, in: db).map(\.attachment.name)
        }
    }
}
