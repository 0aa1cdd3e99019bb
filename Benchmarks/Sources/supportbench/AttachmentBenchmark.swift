import Foundation
import ServiceKit
import SupportProto
import SupportRPC

/// (5) Attachments (issue 22): a file uploaded to intake and read back with
/// supportctl's own transfer code (``AttachmentTransfer``: SHA-256 of the
/// file, then 2 MiB chunks, each Write durable; Commit checks the SHA-256
/// again on intake's side), in MB/s, against `sha256sum` of the same file
/// in the same run. A transfer reads and hashes the whole file at least
/// once on each side, so the hash is the floor it is measured against.
struct AttachmentBenchmark {
    let scale: Scale
    let work: Workspace
    let report: Report

    /// 64 MiB for the figures; 4 MiB under --quick (does it still run?).
    var fileBytes: Int { self.scale.quick ? 4 << 20 : 64 << 20 }

    func run() async throws {
        let runtime = try self.work.directory("attachments")
        let intake = try Child.service(
            "intake", runtime: runtime, fakeClock: IntakeBenchmark.fridayTenJST, alone: true,
            extra: ["--max-attachment-bytes", "\(self.fileBytes)"]
        )
        defer { kill(intake.pid, SIGKILL) }
        try await Child.waitUntilServing("\(runtime)/intake.sock")
        let client = RPCClient(socketPath: "\(runtime)/intake.sock", targetName: "intake")
        _ = try await client.call(IntakeRPC.registerCertificate, IntakeBenchmark.certificate())
        let incident = try await client.call(IntakeRPC.openIncident, IntakeBenchmark.open())

        let file = "\(runtime)/sample.bin"
        try Self.writeRandomFile(file, bytes: self.fileBytes)
        let connection = AttachmentTransfer.Connection(client: client, timeout: .seconds(120))
        var begin = Support_Intake_V1_BeginAttachmentRequest()
        begin.incidentID = incident.id
        begin.actor = "bench"
        begin.name = "sample.bin"

        let megabytes = Double(self.fileBytes) / 1e6
        var uploads: [Double] = []
        var downloads: [Double] = []
        var hashes: [Double] = []
        for run in 0..<self.scale.repetitions {
            // Interleaved, so a noisy moment on the machine touches all three.
            hashes.append(megabytes / (try Self.seconds { try Self.sha256sum(file) }))
            var sent: (incident: Support_Intake_V1_Incident, size: UInt64, sha256: String)?
            uploads.append(megabytes / (try await Self.seconds { sent = try await AttachmentTransfer.upload(file, as: begin, over: connection) }))
            // Each upload is stored under a new name: sample.bin, sample-2.bin, …
            let name = run == 0 ? "sample.bin" : "sample-\(run + 1).bin"
            let copy = "\(runtime)/copy.bin"
            var received: Support_Common_V1_Attachment?
            downloads.append(megabytes / (try await Self.seconds {
                received = try await AttachmentTransfer.download(name, of: incident.id, to: copy, replace: true, over: connection)
            }))
            guard received?.sha256 == sent?.sha256 else {
                throw BenchError("\(name) came back with SHA-256 \(received?.sha256 ?? "-"), not \(sent?.sha256 ?? "-")")
            }
        }
        let size = self.scale.quick ? "4 MiB" : "64 MiB"
        let baseline = "sha256sum, same file"
        self.report.add(Row("attachments", "upload \(size) (attach)", unit: "MB/s", ours: .rates(uploads), baseline: baseline, .rates(hashes)))
        self.report.add(Row("attachments", "download \(size) (attachment get)", unit: "MB/s", ours: .rates(downloads), baseline: baseline, .rates(hashes)))
        await client.close()
        await intake.stop()
    }

    /// Random bytes, so that nothing on the way can compress them.
    static func writeRandomFile(_ path: String, bytes: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw BenchError("cannot create \(path)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var generator = SystemRandomNumberGenerator()
        var written = 0
        while written < bytes {
            let words = (0..<(min(1 << 20, bytes - written) / 8)).map { _ in generator.next() as UInt64 }
            let data = words.withUnsafeBytes { Data($0) }
            try handle.write(contentsOf: data)
            written += data.count
        }
    }

    /// `sha256sum FILE`, the coreutils program a user would check a file with.
    static func sha256sum(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("sha256sum \(path) exited \(process.terminationStatus)") }
    }

    static func seconds(_ body: () throws -> Void) throws -> Double {
        let start = monotonicNanoseconds()
        try body()
        return Double(monotonicNanoseconds() - start) / 1e9
    }

    static func seconds(_ body: () async throws -> Void) async throws -> Double {
        let start = monotonicNanoseconds()
        try await body()
        return Double(monotonicNanoseconds() - start) / 1e9
    }
}
