import Foundation
import Testing
import TestSupport

/// What deploy/ promises an operator on a systemd host.
@Suite("Deploy", .serialized)
struct DeployTests {
    static let root = URL(fileURLWithPath: InProcessService.configDirectory).deletingLastPathComponent().deletingLastPathComponent()

    @Test("Socket activation: a service serves the socket systemd passes, says READY=1 and STOPPING=1, and leaves the socket for its restart")
    func socketActivation() async throws {
        let directory = try TemporaryDirectory(prefix: "sda")
        defer { directory.remove() }
        for service in ["intake", "sla-timer"] {
            let result = try await ServiceCluster.run(
                Self.root.appendingPathComponent("scripts/check-socket-activation").path,
                [ServiceCluster.binDirectory, directory.path, InProcessService.configDirectory, service]
            )
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.components(separatedBy: ": ok").count == 3, "two rounds, each ok: \(result.stdout)")
        }
    }

    @Test("systemd-analyze verify accepts every unit", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func unitsVerify() async throws {
        let directory = try TemporaryDirectory(prefix: "sdu")
        defer { directory.remove() }
        let units = Self.root.appendingPathComponent("deploy/systemd")
        var names: [String] = []
        // verify checks ExecStart exists: point it at the built binaries.
        for name in try FileManager.default.contentsOfDirectory(atPath: units.path).sorted() {
            let text = try String(contentsOf: units.appendingPathComponent(name), encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/", with: ServiceCluster.binDirectory + "/")
            try text.write(toFile: directory.file(name), atomically: true, encoding: .utf8)
            names.append(directory.file(name))
        }
        #expect(names.count == 9, "a .socket and a .service per service, and the target")
        let result = try await ServiceCluster.run("/usr/bin/systemd-analyze", ["verify", "--man=no"] + names)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }
}
