import Foundation

import Synchronization

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
/// File names follow the Maildir specification, `time.unique.host`: the
/// wall clock's seconds, then `M` microseconds, `P` pid, `R` 64 random
/// bits, `Q` a per-process counter, and `_` the message id, then the host
/// name (issue 21, finding 8). Neither a fake clock, nor a restart, nor a
/// restored database reusing numbers makes two names equal, and the file
/// reaches `new/` by `link(2)`, which fails rather than replace a file.
///
/// The message id in the name keeps delivery exactly once: a delivery
/// repeated after a crash between the link and recording it as sent finds
/// its file in `new/` (or in `cur/`, where a mail client moved it) and adds
/// no second copy. Message ids are unique (``numberedUniqueID(_:_:digits:)``),
/// so another message's file is never taken for this one's.
struct MaildirTransport: MailTransport {
    let directory: URL
    private let host: String
    private static let counter = Mutex<UInt64>(0)

    init(directory: URL) throws {
        self.directory = directory
        for sub in ["tmp", "new", "cur"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        self.host = Self.hostName()
    }

    /// The mark of `message` in a file name.
    static func marker(_ message: Message) -> String { "_\(message.id)." }

    /// A new file name for `message`, unique as the Maildir spec asks.
    func fileName(_ message: Message) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var generator = SystemRandomNumberGenerator()
        let random = String(generator.next() as UInt64, radix: 16)
        let count = Self.counter.withLock { value in
            value &+= 1
            return value
        }
        // Neither `/` nor `.` nor `:` may appear in the unique part.
        let id = String(message.id.unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" })
        return "\(now.tv_sec).M\(now.tv_nsec / 1000)P\(getpid())R\(random)Q\(count)_\(id).\(self.host)"
    }

    /// The host part: `/` and `:` written as `\057` and `\072` (Maildir spec).
    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name.replacingOccurrences(of: "/", with: "\\057").replacingOccurrences(of: ":", with: "\\072")
    }

    func deliver(_ bytes: Data, message: Message) async throws {
        let fm = FileManager.default
        let marker = Self.marker(message)
        // Delivered before a crash kept it from being recorded as sent; a
        // mail client may have moved it to cur/ with flags (":2,S").
        for sub in ["new", "cur"] {
            if ((try? fm.contentsOfDirectory(atPath: self.directory.appendingPathComponent(sub).path)) ?? []).contains(where: { $0.contains(marker) }) { return }
        }
        // A name taken (by a clock set back, say) is passed over, never replaced.
        for _ in 0..<8 {
            let name = self.fileName(message)
            let temporary = self.directory.appendingPathComponent("tmp/\(name)").path
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor < 0, errno == EEXIST { continue }
            guard descriptor >= 0 else { throw TransportError(description: "cannot create \(temporary): errno \(errno)") }
            defer { unlink(temporary) }
            do {
                let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
                try handle.write(contentsOf: bytes)
                try handle.synchronize()
                try handle.close()
            } catch {
                throw TransportError(description: "cannot write \(temporary): \(error.localizedDescription)")
            }
            // Maildir: a reader only ever sees complete files in new/.
            if link(temporary, self.directory.appendingPathComponent("new/\(name)").path) == 0 { return }
            guard errno == EEXIST else { throw TransportError(description: "cannot link \(temporary) into new/: errno \(errno)") }
        }
        throw TransportError(description: "no free file name in \(self.directory.path)/new after 8 tries")
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
