import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The chaos run's "no service crashed" reads how each process ended, not
/// its log (issue 21, finding 9).
@Suite("How service processes end")
struct ClusterTerminationTests {
    @Test("A signal or an exit nobody asked for is a crash; the driver's own SIGKILL and SIGTERM are not")
    func unexpectedEndsAreCrashes() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await cluster.start("intake")
        try await cluster.start("sla-timer")
        // A signal the driver did not send (the kernel's OOM killer, say).
        // Not SIGABRT: the Swift runtime's backtracer catches that one sent
        // from outside, prints a backtrace and returns: the process goes on.
        let pid = try #require(cluster.pid("intake"))
        kill(pid, SIGKILL)
        let crash = try await cluster.eventually("intake's end is recorded") { cluster.unexpectedTerminations().first }
        #expect(crash?.service == "intake" && crash?.bySignal == true && crash?.status == SIGKILL)
        #expect(crash?.description.contains("without being asked") == true)

        // Ends the driver asked for.
        #expect(await cluster.stop("sla-timer", signal: SIGKILL) == SIGKILL)
        try await cluster.start("sla-timer")
        await cluster.stop("sla-timer")
        // A start-up failure: a non-zero exit.
        try cluster.launch("escalation", extraArguments: ["--no-such-option"])
        _ = try await cluster.eventually("escalation's exit is recorded") { cluster.terminations().first { $0.service == "escalation" } }

        let ended = cluster.terminations()
        #expect(ended.filter { $0.service == "sla-timer" }.allSatisfy { $0.expected }, "\(ended)")
        #expect(ended.filter { $0.service == "sla-timer" }.count == 2)
        let failed = try #require(ended.first { $0.service == "escalation" })
        #expect(!failed.expected && !failed.bySignal && failed.status != 0, "\(failed)")
        #expect(cluster.unexpectedTerminations().map(\.service).sorted() == ["escalation", "intake"])
        await cluster.shutdown()
    }
}
