import ArgumentParser
import Foundation
import ServiceKit
import SupportProto
import SupportRPC

/// `supportctl metrics [SERVICE]`: the Prometheus text of one service, or
/// of all four one after another.
struct MetricsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print a service's metrics in the Prometheus text format.",
        discussion: """
            Without SERVICE prints all four, each under a `# service: NAME` line. For
            Prometheus itself, start the services with --metrics-textfile PATH and let
            node_exporter's textfile collector read the file.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("intake, sla-timer, escalation or notifier (default: all).", valueName: "service"))
    var service: String?

    func validate() throws {
        if let service, !RuntimeLayout.services.contains(service) {
            throw ValidationError("no service '\(service)'; choose one of \(RuntimeLayout.services.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let names = self.service.map { [$0] } ?? RuntimeLayout.services
        var texts: [String: String] = [:]
        var failures: [String] = []
        for name in names {
            do {
                texts[name] = try await self.global.call(name, AdminRPC.metrics, .init()).text
            } catch {
                failures.append("\(name): \(error)")
            }
        }
        if self.global.json {
            try Output.printJSON(["services": texts, "errors": failures])
        } else {
            for name in names {
                guard let text = texts[name] else { continue }
                if names.count > 1 { print("# service: \(name)") }
                print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            }
        }
        if !failures.isEmpty {
            if !self.global.json { FileHandle.standardError.write(Data(failures.map { $0 + "\n" }.joined().utf8)) }
            throw ExitCode(1)
        }
    }
}

/// `supportctl backup --to DIR`: a consistent online copy of every
/// service's database, taken while the services serve.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy every service's database into DIR while the services keep serving.",
        discussion: """
            Each service copies its database with SQLite's online backup API (one
            consistent state, writers go on) and sends the copy over its socket; the
            copy is checked with PRAGMA integrity_check here too. DIR gets <service>.sqlite
            per service and manifest.json, readable by the owner only (DIR 0700, files
            0600). Restore with deploy/local/restore DIR on
            stopped services. The copies are taken one service after another, so events
            in flight between services at that moment are redelivered after a restore
            (each service's outbox and inbox are part of its copy).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The directory to write; created if absent, and must not already hold a backup.", valueName: "dir"))
    var to: String

    @Option(help: ArgumentHelp("Back up only these services (repeatable; default: all four).", valueName: "name"))
    var service: [String] = []

    func validate() throws {
        for name in self.service where !RuntimeLayout.services.contains(name) {
            throw ValidationError("no service '\(name)'; choose from \(RuntimeLayout.services.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let directory = URL(fileURLWithPath: self.to).standardizedFileURL
        let manifestURL = directory.appendingPathComponent("manifest.json")
        guard !FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw CommandFailure(message: "\(directory.path) already holds a backup (manifest.json); choose a new directory")
        }
        // Every customer's data is in the copies: only the owner may enter
        // the directory or read a file (issue 21, finding 9).
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        } catch {
            throw CommandFailure(message: "cannot create \(directory.path): \(error.localizedDescription)")
        }
        let names = self.service.isEmpty ? RuntimeLayout.services : self.service
        var entries: [String: Any] = [:]
        var rows: [[String]] = []
        for name in names {
            if !self.global.json { FileHandle.standardError.write(Data("backing up \(name)…\n".utf8)) }
            let (snapshot, integrity) = try await self.copy(name, into: directory)
            entries[name] = [
                "file": "\(name).sqlite",
                "sizeBytes": snapshot.sizeBytes,
                "schemaVersion": snapshot.schemaVersion,
                "schemaMigration": snapshot.schemaMigration,
                "takenAt": snapshot.takenAt.text,
                "serviceTime": snapshot.serviceTime.text,
                "integrity": integrity,
            ]
            rows.append([name, Self.size(snapshot.sizeBytes), "\(snapshot.schemaVersion)", integrity, snapshot.serviceTime.text])
        }
        let manifest: [String: Any] = [
            "formatVersion": 1, "runtimeDir": self.global.layout.directory, "services": entries,
        ]
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        guard FileManager.default.createFile(atPath: manifestURL.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CommandFailure(message: "cannot write \(manifestURL.path); check the directory's permissions and free space")
        }
        if self.global.json {
            try Output.printJSON(["directory": directory.path, "manifest": manifest])
        } else {
            print(Output.table(["SERVICE", "SIZE", "SCHEMA", "INTEGRITY", "SERVICE TIME"], rows))
            print("backup written to \(directory.path); restore with: deploy/local/restore \(directory.path)")
        }
    }

    /// Takes one service's snapshot, reads it in chunks into
    /// `<service>.sqlite` (through a `.partial` file), checks the copy and
    /// releases the snapshot.
    private func copy(_ name: String, into directory: URL) async throws -> (Support_Admin_V1_BackupResponse, String) {
        let snapshot = try await self.global.call(name, AdminRPC.backup, .init())
        guard snapshot.integrity == "ok" else {
            throw CommandFailure(message: "\(name)'s snapshot failed its integrity check: \(snapshot.integrity)")
        }
        let partial = directory.appendingPathComponent("\(name).sqlite.partial")
        let final = directory.appendingPathComponent("\(name).sqlite")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw CommandFailure(message: "cannot create \(partial.path); check the directory's permissions and free space")
        }
        let handle = try FileHandle(forWritingTo: partial)
        var offset: UInt64 = 0
        do {
            while true {
                var request = Support_Admin_V1_ReadBackupRequest()
                request.snapshotID = snapshot.snapshotID
                request.offset = offset
                let chunk = try await self.global.call(name, AdminRPC.readBackup, request)
                try handle.write(contentsOf: chunk.data)
                offset += UInt64(chunk.data.count)
                if chunk.end { break }
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
        var release = Support_Admin_V1_ReleaseBackupRequest()
        release.snapshotID = snapshot.snapshotID
        _ = try? await self.global.call(name, AdminRPC.releaseBackup, release)
        guard offset == snapshot.sizeBytes else {
            try? FileManager.default.removeItem(at: partial)
            throw CommandFailure(message: "\(name)'s copy has \(offset) bytes, the snapshot \(snapshot.sizeBytes); retry the backup")
        }
        let check = try DatabaseSnapshot.inspect(path: partial.path)
        guard check.integrity == "ok", check.migrations.count == Int(snapshot.schemaVersion) else {
            throw CommandFailure(message: "\(name)'s copy at \(partial.path) does not check out: \(check.integrity)")
        }
        try FileManager.default.moveItem(at: partial, to: final)
        return (snapshot, check.integrity)
    }

    static func size(_ bytes: UInt64) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / 1_048_576) : String(format: "%.1f KiB", Double(bytes) / 1024)
    }
}
