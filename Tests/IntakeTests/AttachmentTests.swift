import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import Intake

/// Attachments (issue 22, R-SCOPE-1): files move in chunks, are checked by
/// SHA-256, and every refusal is the one intake.proto promises for
/// BeginAttachment and ReadAttachment. (Write and Commit:
/// ``AttachmentUploadTests``.)
@Suite("intake: attachments")
struct AttachmentTests {
    @Test("R-SCOPE-1: a small file and a multi-chunk file (over 2 MiB) round-trip byte for byte; the SHA-256 read back is the one sent")
    func roundTrip() async throws {
        let fixture = try await AttachmentFixture.start()
        let small = Data("Scanner crashed at 03:12\n".utf8)
        let large = AttachmentFixture.random((5 << 20) + 3)
        try await fixture.upload(small, fixture.begin(small, name: "scanner.log"))
        // In 1.5 MiB writes: rows are cut at 1 MiB whatever the writes were.
        try await fixture.upload(large, fixture.begin(large, name: "dump.dmp"), chunk: 3 << 19)

        for (name, data) in [("scanner.log", small), ("dump.dmp", large)] {
            let read = try await fixture.readAll(name)
            #expect(read == data, "\(name) reads back as sent")
            #expect(ContentDigest.hex(of: read) == ContentDigest.hex(of: data))
            let first = try await fixture.read(name)
            #expect(first.attachment.name == name)
            #expect(first.attachment.sizeBytes == UInt64(data.count))
            #expect(first.attachment.sha256 == ContentDigest.hex(of: data))
            #expect(first.attachment.mediaType == "application/octet-stream")
        }
        // Chunks as intake.proto says: 0 means 1 MiB, at most 2 MiB, `end` on the last.
        #expect(try await fixture.read("dump.dmp").data.count == 1 << 20)
        let capped = try await fixture.read("dump.dmp", offset: 1, maxBytes: 3 << 20)
        #expect(capped.data == large[1..<(1 + (2 << 20))] && !capped.end)
        let tail = try await fixture.read("dump.dmp", offset: UInt64(large.count - 10), maxBytes: 100)
        #expect(tail.data == large.suffix(10) && tail.end)
        let atEnd = try await fixture.read("dump.dmp", offset: UInt64(large.count))
        #expect(atEnd.data.isEmpty && atEnd.end)
        let past = await #expect(throws: RPCError.self) { try await fixture.read("dump.dmp", offset: UInt64(large.count + 1)) }
        #expect(past?.code == .invalidArgument && past?.details.first?.field == "offset")

        // Stored in rows of at most 1 MiB, never one blob.
        let largestRow = try await fixture.intake.process.environment.database.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT MAX(length(data)) FROM attachment_chunk") ?? 0
        }
        #expect(largestRow == 1 << 20)
        try await fixture.finish()
    }

    @Test("supportctl's transfer (AttachmentTransfer) uploads a file and saves it beside, checked; an existing file is kept unless replaced")
    func transferFiles() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = AttachmentFixture.random((2 << 20) + 12345)
        let source = fixture.intake.directory.file("sample.bin")
        try data.write(to: URL(fileURLWithPath: source))
        var begin = Support_Intake_V1_BeginAttachmentRequest()
        begin.incidentID = fixture.incident
        begin.actor = AttachmentFixture.staff
        begin.name = "sample.bin"
        let connection = AttachmentTransfer.Connection(client: fixture.intake.client)
        let sent = try await AttachmentTransfer.upload(source, as: begin, over: connection)
        #expect(sent.incident.id == fixture.incident)
        #expect(sent.size == UInt64(data.count) && sent.sha256 == ContentDigest.hex(of: data))

        let target = fixture.intake.directory.file("copy.bin")
        let attachment = try await AttachmentTransfer.download("sample.bin", of: fixture.incident, to: target, over: connection)
        #expect(attachment.sha256 == ContentDigest.hex(of: data))
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == data)
        let existing = await #expect(throws: AttachmentTransfer.Failure.self) {
            try await AttachmentTransfer.download("sample.bin", of: fixture.incident, to: target, over: connection)
        }
        #expect(existing?.description.contains("--force") == true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        try await AttachmentTransfer.download("sample.bin", of: fixture.incident, to: target, replace: true, over: connection)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == data)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.intake.directory.path).filter { $0.contains(".partial-") }
        #expect(leftovers.isEmpty, "no temporary file is left behind")
        try await fixture.finish()
    }

    @Test("supportctl's transfer resumes where intake says (UPLOAD_OFFSET) when it thinks it stands elsewhere, e.g. after a lost answer")
    func transferResumes() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = AttachmentFixture.random((4 << 20) + 5)
        let source = fixture.intake.directory.file("dump.dmp")
        try data.write(to: URL(fileURLWithPath: source))
        let upload = try await fixture.intake.client.call(IntakeRPC.beginAttachment, fixture.begin(data)).uploadID
        // intake holds 1.5 MiB the sender does not know of: its first
        // 2 MiB chunk from offset 0 overlaps them, so it is told to resume.
        _ = try await fixture.write(data[0..<(3 << 19)], at: 0, to: upload)
        let connection = AttachmentTransfer.Connection(client: fixture.intake.client)
        try await AttachmentTransfer.send(source, size: UInt64(data.count), to: upload, from: 0, over: connection)
        _ = try await fixture.commit(upload)
        #expect(try await fixture.readAll("dump.dmp") == data)
        try await fixture.finish()
    }

    /// A bad BeginAttachment and the field intake.proto names for it.
    struct BadBegin: Sendable, CustomStringConvertible {
        let description: String
        let field: String
        var reason: String = ""
        let change: @Sendable (inout Support_Intake_V1_BeginAttachmentRequest) -> Void
    }

    static let badBegins: [BadBegin] = [
        BadBegin(description: "an empty name", field: "name") { $0.name = "" },
        BadBegin(description: "a name of blanks", field: "name") { $0.name = "   " },
        BadBegin(description: "a name over 200 bytes", field: "name") { $0.name = String(repeating: "é", count: 101) },
        BadBegin(description: "a path with /", field: "name") { $0.name = "../../etc/passwd" },
        BadBegin(description: "a path with \\", field: "name") { $0.name = "C:\\dumps\\dump.dmp" },
        BadBegin(description: "a leading dot", field: "name") { $0.name = ".bashrc" },
        BadBegin(description: "a control character", field: "name") { $0.name = "dump\u{07}.dmp" },
        BadBegin(description: "a line break", field: "name") { $0.name = "dump\n.dmp" },
        BadBegin(description: "size 0", field: "size_bytes") { $0.sizeBytes = 0 },
        BadBegin(description: "over the limit", field: "size_bytes", reason: "ATTACHMENT_TOO_LARGE") {
            $0.sizeBytes = IntakeService.defaultMaxAttachmentBytes + 1
        },
        BadBegin(description: "a short sha256", field: "sha256") { $0.sha256 = "abc123" },
        BadBegin(description: "a sha256 not hex", field: "sha256") { $0.sha256 = String(repeating: "g", count: 64) },
        BadBegin(description: "neither contact nor actor", field: "contact_email") { $0.actor = "" },
        BadBegin(description: "both contact and actor", field: "contact_email") { $0.contactEmail = "p1@c-1.example" },
        BadBegin(description: "internal by a contact", field: "visibility") {
            $0.actor = ""
            $0.contactEmail = "p1@c-1.example"
            $0.visibility = .internal
        },
        BadBegin(description: "a media type that is none", field: "media_type") { $0.mediaType = "text plain" },
        BadBegin(description: "no incident", field: "incident_id") { $0.incidentID = "" },
    ]

    @Test("BeginAttachment: each bad request is INVALID_ARGUMENT naming the field intake.proto names; nothing is stored")
    func badBegin() async throws {
        let fixture = try await AttachmentFixture.start()
        let good = fixture.begin(Data("x".utf8))
        for bad in Self.badBegins {
            var request = good
            bad.change(&request)
            let error = await #expect(throws: RPCError.self, "\(bad)") { try await fixture.intake.client.call(IntakeRPC.beginAttachment, request) }
            #expect(error?.code == .invalidArgument, "\(bad)")
            #expect(error?.details.first?.field == bad.field, "\(bad): \(error?.message ?? "")")
            if !bad.reason.isEmpty { #expect(error?.details.first?.reason == bad.reason, "\(bad)") }
        }
        #expect(try fixture.rows("attachment_upload") == 0)
        // The bounds themselves are accepted: 200 bytes, the limit, upper-case hex.
        var edge = good
        edge.name = String(repeating: "é", count: 100)
        edge.sizeBytes = IntakeService.defaultMaxAttachmentBytes
        edge.sha256 = good.sha256.uppercased()
        _ = try await fixture.intake.client.call(IntakeRPC.beginAttachment, edge)
        #expect(try fixture.rows("attachment_upload") == 1)
        try await fixture.finish()
    }

    @Test("--max-attachment-bytes sets the limit: the limit is accepted, one byte more is ATTACHMENT_TOO_LARGE")
    func configuredLimit() async throws {
        let fixture = try await AttachmentFixture.start(maxAttachmentBytes: 1000)
        var request = fixture.begin(Data(count: 1000))
        _ = try await fixture.intake.client.call(IntakeRPC.beginAttachment, request)
        request.sizeBytes = 1001
        let error = await #expect(throws: RPCError.self) { try await fixture.intake.client.call(IntakeRPC.beginAttachment, request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.reason == "ATTACHMENT_TOO_LARGE")
        #expect(error?.details.first?.field == "size_bytes")
        #expect(error?.message.contains("at most 1000 bytes") == true)
        try await fixture.finish()
    }

    @Test("BeginAttachment: unknown incident NOT_FOUND, another organisation's NOT_FOUND to a contact, unauthorised contact PERMISSION_DENIED, closed FAILED_PRECONDITION")
    func beginRefusals() async throws {
        let fixture = try await AttachmentFixture.start()
        let client = fixture.intake.client
        let data = Data("log".utf8)

        let unknown = await #expect(throws: RPCError.self) {
            try await client.call(IntakeRPC.beginAttachment, fixture.begin(data, incident: "INC-999999"))
        }
        #expect(unknown?.code == .notFound)

        // C-2's contact, acting for itself, on C-1's incident: it does not exist for it.
        let eve = AttachmentFixture.forContact("p1@c-2.example")
        let foreign = await #expect(throws: RPCError.self) {
            try await client.call(IntakeRPC.beginAttachment, fixture.begin(data, contact: "p1@c-2.example"), metadata: eve)
        }
        #expect(foreign?.code == .notFound)
        #expect(foreign?.message == unknown?.message.replacingOccurrences(of: "INC-999999", with: fixture.incident), "nothing leaks")

        // Without a caller identity (staff's tool) naming a contact not on the certificate.
        let stranger = await #expect(throws: RPCError.self) {
            try await client.call(IntakeRPC.beginAttachment, fixture.begin(data, contact: "p1@c-2.example"))
        }
        #expect(stranger?.code == .permissionDenied)
        #expect(stranger?.details.first?.field == "contact_email")

        // A contact acts only as itself, and never as staff.
        let ann = AttachmentFixture.forContact("p1@c-1.example")
        let asOther = await #expect(throws: RPCError.self) {
            try await client.call(IntakeRPC.beginAttachment, fixture.begin(data, contact: "p2@c-1.example"), metadata: ann)
        }
        #expect(asOther?.code == .permissionDenied && asOther?.details.first?.reason == "NOT_YOURSELF")
        let asStaff = await #expect(throws: RPCError.self) {
            try await client.call(IntakeRPC.beginAttachment, fixture.begin(data), metadata: ann)
        }
        #expect(asStaff?.code == .permissionDenied)
        // Its own organisation's incident, as itself: accepted.
        _ = try await client.call(IntakeRPC.beginAttachment, fixture.begin(data, contact: "p1@c-1.example"), metadata: ann)

        var close = Support_Intake_V1_CloseRequest()
        close.incidentID = fixture.incident
        close.actor = AttachmentFixture.staff
        close.reason.kind = .notReproducible
        _ = try await client.call(IntakeRPC.close, close)
        let closed = await #expect(throws: RPCError.self) { try await client.call(IntakeRPC.beginAttachment, fixture.begin(data)) }
        #expect(closed?.code == .failedPrecondition)
        #expect(closed?.message.contains("closed") == true)
        try await fixture.finish()
    }

    @Test("ReadAttachment: a contact reads its organisation's public files; another organisation's, an internal one and an unknown name are NOT_FOUND alike")
    func readVisibility() async throws {
        let fixture = try await AttachmentFixture.start()
        let ann = AttachmentFixture.forContact("p1@c-1.example")
        let shared = Data("public log".utf8)
        let secret = Data("engineering notes".utf8)
        try await fixture.upload(shared, fixture.begin(shared, name: "scanner.log", contact: "p1@c-1.example"), metadata: ann)
        try await fixture.upload(secret, fixture.begin(secret, name: "analysis.txt", visibility: .internal))

        #expect(try await fixture.readAll("scanner.log", metadata: ann) == shared)
        #expect(try await fixture.readAll("analysis.txt") == secret, "staff read the internal one")
        let internalRead = await #expect(throws: RPCError.self) { try await fixture.read("analysis.txt", metadata: ann) }
        let unknownName = await #expect(throws: RPCError.self) { try await fixture.read("nothing.txt", metadata: ann) }
        #expect(internalRead?.code == .notFound && unknownName?.code == .notFound)
        #expect(internalRead?.message == unknownName?.message.replacingOccurrences(of: "nothing.txt", with: "analysis.txt"), "nothing leaks")

        let eve = AttachmentFixture.forContact("p1@c-2.example")
        let foreign = await #expect(throws: RPCError.self) { try await fixture.read("scanner.log", metadata: eve) }
        #expect(foreign?.code == .notFound)
        let unknownIncident = await #expect(throws: RPCError.self) { try await fixture.read("scanner.log", incident: "INC-999999") }
        #expect(unknownIncident?.code == .notFound)
        for (incident, name, field) in [("", "scanner.log", "incident_id"), (fixture.incident, "", "name")] {
            let empty = await #expect(throws: RPCError.self) { try await fixture.read(name, incident: incident) }
            #expect(empty?.code == .invalidArgument && empty?.details.first?.field == field)
        }
        try await fixture.finish()
    }

    @Test("Issue 22: a committed file arrives with its article: the contact's message, staff's reply (announced by ArticleAdded with the file), or staff's internal note (no event)")
    func articleOfEachUpload() async throws {
        let fixture = try await AttachmentFixture.start()
        let data = Data("core dump".utf8)
        let byContact = try await fixture.upload(data, fixture.begin(data, name: "client.log", contact: "p1@c-1.example"))
        let reply = try await fixture.upload(data, fixture.begin(data, name: "fix.txt"))
        let note = try await fixture.upload(data, fixture.begin(data, name: "heap.bin", visibility: .internal))
        let thread = note.incident.thread
        #expect(thread.map(\.number) == [1, 2, 3, 4])
        #expect(byContact.incident.thread.last?.kind == .customerMessage && byContact.incident.thread.last?.direction == .fromCustomer)
        #expect(reply.incident.thread.last?.kind == .reply && reply.incident.thread.last?.direction == .toCustomer)
        #expect(thread[3].kind == .note && thread[3].visibility == .internal && thread[3].attachments.map(\.name) == ["heap.bin"])
        #expect(thread.allSatisfy { $0.number == 1 || $0.text == "the crash dump" })

        let added = try IntakeServiceTests.events(fixture.intake, incident: fixture.incident).compactMap { event -> Support_Common_V1_Article? in
            if case .articleAdded(let added) = event.payload { added.article } else { nil }
        }
        #expect(added.map(\.number) == [1, 2, 3], "the description, the contact's message and staff's reply; the internal note is not announced")
        #expect(added.last?.attachments.map(\.name) == ["fix.txt"])
        #expect(added.last?.attachments.first?.articleNumber == 3)
        #expect(added.last?.attachments.first?.sha256 == ContentDigest.hex(of: data))
        try await fixture.finish()
    }

    @Test("A name the incident already has is stored with a number before the extension: dump.dmp, dump-2.dmp, dump-3.dmp")
    func uniqueNames() async throws {
        let fixture = try await AttachmentFixture.start()
        let versions = (1...3).map { Data("dump \($0)".utf8) }
        for data in versions { try await fixture.upload(data) }
        #expect(try fixture.storedNames() == ["dump.dmp", "dump-2.dmp", "dump-3.dmp"])
        #expect(try await fixture.readAll("dump-2.dmp") == versions[1])
        // Each file arrived with an article of its own (staff's reply):
        // the thread lists it there, and the attachment names that article.
        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = fixture.incident
        let thread = try await fixture.intake.client.call(IntakeRPC.getIncident, get).thread
        #expect(thread.map(\.number) == [1, 2, 3, 4], "the description and one article per file")
        let carrying = try #require(thread.first { $0.attachments.map(\.name) == ["dump-2.dmp"] })
        #expect(carrying.kind == .reply && carrying.direction == .toCustomer && carrying.author == AttachmentFixture.staff)
        #expect(try await fixture.read("dump-2.dmp").attachment.articleNumber == carrying.number)
        try await fixture.finish()
    }

    @Test(
        "A stored name stays unique and within 200 bytes",
        arguments: [
            ("dump.dmp", ["dump.dmp"], "dump-2.dmp"),
            ("dump.dmp", ["dump.dmp", "dump-2.dmp"], "dump-3.dmp"),
            ("notes", ["notes"], "notes-2"),
            ("archive.tar.gz", ["archive.tar.gz"], "archive.tar-2.gz"),
            ("free.txt", ["other.txt"], "free.txt"),
            (String(repeating: "a", count: 196) + ".txt", [String(repeating: "a", count: 196) + ".txt"], String(repeating: "a", count: 194) + "-2.txt"),
        ]
    )
    func storedName(name: String, taken: [String], expected: String) {
        let stored = AttachmentRules.storedName(for: name, taken: Set(taken))
        #expect(stored == expected)
        #expect(stored.utf8.count <= AttachmentRules.maximumNameBytes)
    }
}
