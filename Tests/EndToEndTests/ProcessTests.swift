import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The four executables as an operator runs them: real processes, real
/// sockets, supportctl.
@Suite("Processes", .serialized)
struct ProcessTests {
    @Test("Each of the four executables serves Health on its own 0660 socket with its own database")
    func fourServicesServe() async throws {
        let cluster = try ServiceCluster()
        try await cluster.startAll()
        for service in ServiceCluster.services {
            let check = try await cluster.client(service).call(HealthRPC.check, .init())
            #expect(check.status == .serving)
            let status = try await cluster.client(service).call(HealthRPC.status, .init())
            #expect(status.service == service)
            #expect(status.databasePath == cluster.runtime.file("\(service).sqlite"))
            #expect(status.schemaVersion >= 1)
            #expect(status.pid == UInt32(cluster.pid(service) ?? 0))
            #expect(!status.fakeClock)

            var info = stat()
            #expect(lstat(cluster.socketPath(service), &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o777 == 0o660, "socket mode is \(String(info.st_mode & 0o777, radix: 8))")
        }
        await cluster.shutdown()
    }

    @Test("supportctl health exits 0 when all four serve and 1 naming the one that does not")
    func supportctlHealth() async throws {
        let cluster = try ServiceCluster()
        try await cluster.startAll()
        let healthy = try await cluster.supportctl("health")
        #expect(healthy.status == 0)
        for service in ServiceCluster.services {
            #expect(healthy.stdout.split(separator: "\n").contains { $0.hasPrefix(service) && $0.contains(" SERVING ") }, "\(healthy.stdout)")
        }

        let exit = await cluster.stop("escalation", signal: SIGTERM)
        #expect(exit == 0, "a drained service exits 0")
        #expect(!FileManager.default.fileExists(atPath: cluster.socketPath("escalation")))
        let degraded = try await cluster.supportctl("health", "--timeout", "1s")
        #expect(degraded.status == 1)
        #expect(degraded.stderr.contains("not serving: escalation"))
        #expect(degraded.stdout.split(separator: "\n").contains { $0.hasPrefix("escalation") && $0.contains("UNREACHABLE") })

        let json = try await cluster.supportctl("--json", "health", "--timeout", "1s")
        #expect(json.status == 1)
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(document?["allServing"] as? Bool == false)
        await cluster.shutdown()
    }

    @Test("Raw bad frames sent to every socket are refused while each service keeps serving")
    func badFramesEverywhere() async throws {
        let cluster = try ServiceCluster()
        try await cluster.startAll()
        for service in ServiceCluster.services {
            for bytes: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0], [0, 0, 0, 3, 0xFF, 0xFF, 0xFF]] {
                let socket = try RawSocket(path: cluster.socketPath(service))
                socket.send(bytes)
                let (_, closed) = await socket.readUntilClosed()
                #expect(closed)
            }
        }
        let health = try await cluster.supportctl("health")
        #expect(health.status == 0)
        await cluster.shutdown()
    }

    @Test("supportctl clock moves all four fake clocks, and a restart keeps the moved time")
    func fakeClock() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T08:00:00Z")
        try await cluster.startAll()
        let set = try await cluster.supportctl("clock", "set", "2026-12-05T03:00:00+09:00")
        #expect(set.status == 0, "\(set.stderr)")
        let advanced = try await cluster.supportctl("--json", "clock", "advance", "1h30m")
        #expect(advanced.status == 0, "\(advanced.stderr)")
        let clocks = try #require(
            (try JSONSerialization.jsonObject(with: Data(advanced.stdout.utf8)) as? [String: Any])?["clocks"] as? [[String: Any]]
        )
        #expect(clocks.count == 4)
        #expect(clocks.allSatisfy { $0["now"] as? String == "2026-12-04T19:30:00Z" })

        let backwards = try await cluster.supportctl("clock", "set", "2026-12-01T00:00:00Z")
        #expect(backwards.status == 1)
        #expect(backwards.stdout.contains("FAILED_PRECONDITION"))

        await cluster.stop("notifier", signal: SIGKILL)
        try await cluster.start("notifier")
        let now = try await cluster.client("notifier").call(ClockRPC.get, .init())
        #expect(now.now.date == ISO8601DateFormatter().date(from: "2026-12-04T19:30:00Z"))
        await cluster.shutdown()
    }

    @Test("On the wall clock, Clock/Set is PERMISSION_DENIED with a sentence that says how to get a fake clock")
    func wallClockCannotMove() async throws {
        let cluster = try ServiceCluster()
        try await cluster.start("intake")
        let result = try await cluster.supportctl(
            "call", "/support.clock.v1.Clock/Set", "--service", "intake", "--data", #"{"time":"2027-01-01T00:00:00Z"}"#
        )
        #expect(result.status == 1)
        #expect(result.stderr.contains("PERMISSION_DENIED"))
        #expect(result.stderr.contains("--fake-clock"))
        let get = try await cluster.supportctl("call", "Clock/Get", "--service", "intake")
        #expect(get.status == 0)
        #expect(get.stdout.contains("\"service\" : \"intake\""))
        await cluster.shutdown()
    }

    @Test("A stale socket file left by a killed service is replaced; a live one is not taken over")
    func staleSocket() async throws {
        let cluster = try ServiceCluster()
        try await cluster.start("intake")
        await cluster.stop("intake", signal: SIGKILL)
        #expect(FileManager.default.fileExists(atPath: cluster.socketPath("intake")), "SIGKILL leaves the socket file")
        try await cluster.start("intake")

        let second = try await ServiceCluster.run(
            "\(ServiceCluster.binDirectory)/intake", ["--runtime-dir", cluster.runtime.path]
        )
        #expect(second.status != 0)
        #expect(second.stderr.contains("already serving"))
        #expect(try await cluster.client("intake").call(HealthRPC.check, .init()).status == .serving)
        await cluster.shutdown()
    }
}
