import Foundation
import GRDB
import SupportProto
import SupportRPC

/// (4) The event path with the four services running as processes:
/// sla-timer's breach → its SLABreached relayed to escalation → escalation's
/// Escalated relayed to notifier → notifier's "escalated" message written.
/// Timed from the Clock/Advance that crosses the breach to the message row.
struct EventPathBenchmark {
    let scale: Scale
    let work: Workspace
    let report: Report

    static let services = ["intake", "sla-timer", "escalation", "notifier"]
    /// Incidents are opened this far apart, so each clock step crosses one breach.
    static let spacing: Int64 = 10

    func run() async throws {
        let runtime = try self.work.directory("events")
        let children = try Self.services.map { try Child.service($0, runtime: runtime, fakeClock: IntakeBenchmark.fridayTenJST) }
        defer { for child in children { kill(child.pid, SIGKILL) } }
        for service in Self.services { try await Child.waitUntilServing("\(runtime)/\(service).sock") }
        let clients = Dictionary(uniqueKeysWithValues: Self.services.map {
            ($0, RPCClient(socketPath: "\(runtime)/\($0).sock", targetName: $0))
        })
        let advanceAll = { @Sendable (seconds: Int64, timed: Bool) async throws -> UInt64 in
            // sla-timer last: its Advance fires the breach.
            for service in ["intake", "escalation", "notifier"] {
                _ = try await clients[service]!.call(ClockRPC.advance, TimerBenchmark.advance(by: seconds), timeout: .seconds(120))
            }
            let started = monotonicNanoseconds()
            _ = try await clients["sla-timer"]!.call(ClockRPC.advance, TimerBenchmark.advance(by: seconds), timeout: .seconds(120))
            return started
        }

        _ = try await clients["intake"]!.call(IntakeRPC.registerCertificate, IntakeBenchmark.certificate())
        let count = self.scale.breaches
        var incidents: [String] = []
        for _ in 0..<count {
            incidents.append(try await clients["intake"]!.call(IntakeRPC.openIncident, IntakeBenchmark.open(severity: 1)).id)
            _ = try await advanceAll(Self.spacing, false)
        }
        let sla = try DatabaseQueue(path: "\(runtime)/sla-timer.sqlite")
        let notifier = try DatabaseQueue(path: "\(runtime)/notifier.sqlite")
        try await Self.until("sla-timer armed every cycle") {
            try await sla.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cycle") ?? 0 } >= count
        }
        // To five seconds before the first breach; warnings fire on the way.
        let opened = Int64(count) * Self.spacing
        _ = try await advanceAll(30 * 60 - opened - Self.spacing / 2, false)
        try await Task.sleep(for: .seconds(1))

        var latencies: [Double] = []
        for incident in incidents {
            let started = try await advanceAll(Self.spacing, true)
            while true {
                let written = try await notifier.read { db in
                    try Bool.fetchOne(
                        db, sql: "SELECT 1 FROM message WHERE incident_id = ? AND template = 'escalated' LIMIT 1", arguments: [incident]
                    ) ?? false
                }
                if written { break }
                if Double(monotonicNanoseconds() - started) / 1e9 > 30 { throw BenchError("no escalated message for \(incident) within 30 s") }
                try await Task.sleep(for: .microseconds(500))
            }
            latencies.append(Double(monotonicNanoseconds() - started) / 1e6)
        }
        let figure = Figure.latencies(latencies)
        self.report.add(Row("events.breach→notify", "SLABreached → Escalated → message", unit: "ms", ours: figure,
                            target: "p99 ≤ 50 ms", met: { _ in figure.p99 <= 50 }))
        for client in clients.values { await client.close() }
        for child in children { await child.stop() }
    }

    static func until(_ what: String, timeout: Duration = .seconds(120), _ probe: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await probe() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("timed out waiting until \(what)")
    }
}
