import ArgumentParser
import Foundation
import ServiceKit
import SupportProto
import SupportRPC
import Synchronization

/// `supportctl incident attach` and `supportctl incident attachment …`:
/// files that come with an incident (issue 22, R-SCOPE-1), moved in chunks
/// and checked by SHA-256 both ways (``AttachmentTransfer``).
extension IncidentCommand {
    struct Attach: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Attach a file (crash dump, log, sample) to an incident.",
            discussion: """
                The file is read twice: once for its SHA-256, then sent in chunks of up to
                2 MiB that intake checks against it before storing the file (at most
                --max-attachment-bytes of intake, 25 MiB by default). A name the incident
                already has gets a number: dump.dmp, then dump-2.dmp. Progress goes to
                stderr for files over 4 MiB; when done, the incident and the name the file
                is stored under are printed. --timeout applies to each chunk.
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id.") var id: String
        @Argument(help: "The file to attach.") var file: String
        @Option(help: "The name to store it under (default: the file's own name).") var name: String?
        @Option(help: "Its media type, e.g. text/plain (default: application/octet-stream).") var mediaType: String = ""
        @Option(help: "The message the file comes with.") var message: String = ""
        @Flag(help: "Attach it to an internal note, for staff only.") var `internal` = false
        @Option(help: "Attach it for this authorised contact, as the customer's message (default: as staff).") var contact: String = ""
        @Option(help: "The staff member attaching it.") var actor: String = IncidentCommand.staff

        func validate() throws {
            if self.internal && !self.contact.isEmpty {
                throw ValidationError("--internal is for staff: a contact's attachment is always public")
            }
        }

        func run() async throws {
            var begin = Support_Intake_V1_BeginAttachmentRequest()
            begin.incidentID = self.id
            if self.contact.isEmpty { begin.actor = self.actor } else { begin.contactEmail = self.contact }
            begin.name = self.name ?? URL(fileURLWithPath: self.file).lastPathComponent
            begin.mediaType = self.mediaType
            begin.text = self.message
            begin.visibility = self.internal ? .internal : .public
            let size = (try? FileManager.default.attributesOfItem(atPath: self.file)[.size] as? NSNumber)?.uint64Value ?? 0
            let meter = ProgressMeter(label: begin.name, show: size > 4 << 20 && !self.global.json)
            let sent: (incident: Support_Intake_V1_Incident, size: UInt64, sha256: String)
            do {
                sent = try await AttachmentTransfer.upload(
                    self.file, as: begin, over: self.global.transfer(), progress: { done, total in meter.show(done, total) }
                )
            } catch {
                meter.finish()
                throw CommandFailure(error)
            }
            meter.finish()
            // The name it was stored under, as the thread's newest article
            // with these bytes carries it (another when the name was taken).
            let stored = sent.incident.thread.reversed().lazy.flatMap(\.attachments).first { $0.sha256 == sent.sha256 }?.name ?? begin.name
            try self.global.show(sent.incident) { incident in
                "\(Render.incidentLine(incident))\nattached \(stored): \(sent.size) bytes, SHA-256 \(sent.sha256)"
            }
        }
    }

    struct Attachment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read an incident's attachments.", subcommands: [Get.self, List.self]
        )

        struct Get: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Save an attachment to a file, checked against its SHA-256.",
                discussion: """
                    The bytes go to a temporary file beside FILE, are checked against the size
                    and SHA-256 intake stores, and only then take FILE's name. An existing FILE is
                    kept unless --force is given.
                    """
            )
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The incident id.") var id: String
            @Argument(help: "The attachment's name in the incident.") var name: String
            @Option(help: ArgumentHelp("Where to save it.", valueName: "file")) var to: String
            @Flag(help: "Replace FILE if it exists.") var force = false

            func run() async throws {
                let meter = ProgressMeter(label: self.name, show: !self.global.json)
                let attachment: Support_Common_V1_Attachment
                do {
                    attachment = try await AttachmentTransfer.download(
                        self.name, of: self.id, to: self.to, replace: self.force, over: self.global.transfer(),
                        progress: { done, total in if total > 4 << 20 { meter.show(done, total) } }
                    )
                } catch {
                    meter.finish()
                    throw CommandFailure(error)
                }
                meter.finish()
                try self.global.show(attachment) { "\($0.name): \($0.sizeBytes) bytes, SHA-256 \($0.sha256), saved to \(self.to)" }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List an incident's attachments, as its thread carries them.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The incident id.") var id: String

            func run() async throws {
                var request = Support_Intake_V1_GetIncidentRequest()
                request.incidentID = self.id
                let incident = try await self.global.call("intake", IntakeRPC.getIncident, request)
                var response = Support_Intake_V1_Incident()
                response.id = incident.id
                response.thread = incident.thread.filter { !$0.attachments.isEmpty }
                try self.global.show(response) { Render.attachments(of: $0) }
            }
        }
    }
}

extension Render {
    /// One row per attachment of the incident's thread, oldest first.
    static func attachments(of incident: Support_Intake_V1_Incident) -> String {
        let rows = incident.thread.flatMap { article in
            article.attachments.map { attachment in
                [
                    attachment.name, "\(attachment.sizeBytes)", attachment.mediaType, "\(article.number)",
                    article.visibility == .internal ? "internal" : "public", article.author, attachment.sha256,
                ]
            }
        }
        return Output.table(["NAME", "BYTES", "TYPE", "ARTICLE", "VISIBILITY", "BY", "SHA-256"], rows)
    }
}

extension GlobalOptions {
    /// intake, for ``AttachmentTransfer``: each chunk gets the --timeout.
    func transfer() -> AttachmentTransfer.Connection {
        AttachmentTransfer.Connection(client: self.client(for: "intake"), timeout: self.timeout.duration)
    }
}

/// A one-line progress report on stderr, redrawn in place at most every
/// few percent, for transfers long enough to wonder about.
final class ProgressMeter: Sendable {
    let label: String
    let show: Bool
    private let shown = Mutex<(percent: Int, drawn: Bool)>((-1, false))

    init(label: String, show: Bool) {
        self.label = label
        self.show = show
    }

    func show(_ done: UInt64, _ total: UInt64) {
        guard self.show, total > 0 else { return }
        let percent = Int(done * 100 / total)
        let redraw = self.shown.withLock { state -> Bool in
            guard percent >= state.percent + 5 || (percent == 100 && state.percent != 100) else { return false }
            state = (percent, true)
            return true
        }
        guard redraw else { return }
        let mebibytes = { (bytes: UInt64) in String(format: "%.1f", Double(bytes) / 1_048_576) }
        let line = "\r\(self.label): \(percent)% (\(mebibytes(done)) of \(mebibytes(total)) MiB)"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Ends the line, if one was drawn.
    func finish() {
        if self.shown.withLock({ $0.drawn }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
