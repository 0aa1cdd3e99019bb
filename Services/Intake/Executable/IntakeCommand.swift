import ArgumentParser
import Intake
import ServiceKit

@main
struct IntakeCommand: ServiceCommand {
    static let configuration = CommandConfiguration(commandName: "intake", abstract: "SupportDesk intake: certificates, contacts and incidents.")
    static let definition = IntakeService.definition

    @OptionGroup var options: ServiceOptions

    /// What only intake takes. An attachment is stored in intake's SQLite
    /// database, in rows of 1 MiB, and copied with every backup.
    @Option(help: ArgumentHelp("The largest attachment (crash dump, log, sample) accepted, in bytes; a larger one is refused at BeginAttachment with ATTACHMENT_TOO_LARGE.", valueName: "bytes"))
    var maxAttachmentBytes: UInt64 = IntakeService.defaultMaxAttachmentBytes

    func validate() throws {
        // Up to 1 TiB: sizes are stored as SQLite's signed 64-bit integers,
        // and a database of that size is past what a backup copies sensibly.
        guard (1...(1 << 40)).contains(self.maxAttachmentBytes) else {
            throw ValidationError("--max-attachment-bytes must be 1 to 1099511627776 (1 TiB), not \(self.maxAttachmentBytes)")
        }
    }

    func run() async throws {
        try await ServiceHost.run(IntakeService.definition(maxAttachmentBytes: self.maxAttachmentBytes), options: self.options)
    }
}
