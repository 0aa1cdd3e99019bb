import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A way to hand a rendered mail to its recipients. `deliver` throws a
/// sentence for the attempt log when it failed; the worker retries.
protocol MailTransport: Sendable {
    func deliver(_ bytes: Data, message: Message) async throws
}

struct TransportError: Error, CustomStringConvertible {
    let description: String
}

/// The embedded default: a standard Maildir (`tmp/`, `new/`, `cur/`) any
/// mail client can read.
///
/// The file name is derived from the message alone, so delivering again
/// after a crash between the rename and recording it as sent replaces the
/// same file instead of adding a second copy (exactly once in the Maildir).
struct MaildirTransport: MailTransport {
    let directory: URL

    init(directory: URL) throws {
        self.directory = directory
        for sub in ["tmp", "new", "cur"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    static func fileName(_ message: Message) -> String {
        "\(message.createdAt.seconds).\(message.id).notifier"
    }

    func deliver(_ bytes: Data, message: Message) async throws {
        let name = Self.fileName(message)
        let fm = FileManager.default
        let delivered = self.directory.appendingPathComponent("new/\(name)")
        // A mail client may have moved it to cur/ with flags (":2,S").
        if fm.fileExists(atPath: delivered.path)
            || ((try? fm.contentsOfDirectory(atPath: self.directory.appendingPathComponent("cur").path)) ?? []).contains(where: { $0.hasPrefix(name) })
        {
            return
        }
        let temporary = self.directory.appendingPathComponent("tmp/\(name)")
        do {
            guard fm.createFile(atPath: temporary.path, contents: nil) else { throw TransportError(description: "cannot create \(temporary.path)") }
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.write(contentsOf: bytes)
            try handle.synchronize()
            try handle.close()
            // Maildir: a reader only ever sees complete files in new/.
            guard rename(temporary.path, delivered.path) == 0 else { throw TransportError(description: "rename into new/ failed: errno \(errno)") }
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError(description: "cannot write \(temporary.path): \(error.localizedDescription)")
        }
    }
}

/// Pipes the message to a sendmail-compatible command (`sendmail -t -i`
/// of postfix, exim or msmtp): the Unix way to hand mail to the local MTA.
/// A non-zero exit is a failed attempt, with the command's stderr.
struct SendmailTransport: MailTransport {
    let command: [String]

    init(command: [String]) {
        self.command = command
        // A command that exits without reading its input would otherwise
        // kill notifier with SIGPIPE; the write then fails with EPIPE and the
        // exit status tells what happened.
        signal(SIGPIPE, SIG_IGN)
    }

    func deliver(_ bytes: Data, message: Message) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: self.command[0])
        process.arguments = Array(self.command.dropFirst())
        let input = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: TransportError(description: "cannot run \(self.command[0]): \(error.localizedDescription)"))
                return
            }
            try? input.fileHandleForWriting.write(contentsOf: bytes)
            try? input.fileHandleForWriting.close()
        }
        guard status == 0 else {
            let stderr = String(decoding: errors.fileHandleForReading.availableData.prefix(500), as: UTF8.self)
            throw TransportError(description: "\(self.command.joined(separator: " ")) exited with \(status)\(stderr.isEmpty ? "" : ": \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))")")
        }
    }
}
