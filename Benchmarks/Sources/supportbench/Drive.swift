import ArgumentParser
import Foundation
import SupportProto
import SupportRPC

/// `supportbench drive --socket PATH`: Health calls (or, with
/// `--open-incident`, intake's OpenIncident) from this process alone, so a
/// profiler attached to it (or to the server) sees one side of one workload;
/// the measuring run mixes every baseline in one process.
struct Drive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Calls Health (or intake's OpenIncident) on one socket for a while and prints the rate (for profiling).",
        shouldDisplay: false
    )

    @Option(help: "The server's socket (e.g. one started with `supportbench serve ours`).") var socket: String
    @Option(help: "Calls in flight on the one connection.") var inFlight = 32
    @Option(help: "How long to call, in seconds.") var seconds = 10
    @Flag(help: "Run the callers on the global pool instead of the connection's event loop.") var pool = false
    @Flag(help: "Call intake's OpenIncident (the socket is `supportbench serve intake`'s) instead of Health.") var openIncident = false

    func run() async throws {
        let client = RPCClient(socketPath: self.socket, targetName: "bench")
        if self.openIncident {
            do {
                _ = try await client.call(IntakeRPC.registerCertificate, IntakeBenchmark.certificate())
            } catch let error as RPCError where error.code == .alreadyExists {
                // An earlier drive registered it.
            }
        }
        let openIncident = self.openIncident
        let result = try await load(
            concurrency: self.inFlight, window: .seconds(self.seconds), executor: self.pool ? nil : client.executor
        ) { caller, index in
            if openIncident {
                var metadata = Metadata()
                metadata[Metadata.idempotencyKey] = "drive-\(caller)-\(index)-\(UInt32.random(in: 0 ... .max))"
                _ = try await client.call(IntakeRPC.openIncident, IntakeBenchmark.open(), timeout: .seconds(30), metadata: metadata)
            } else {
                _ = try await client.call(HealthRPC.check, .init())
            }
        }
        let sorted = result.latencies.sorted()
        print(String(format: "%.0f calls/s, p50 %.0f µs, p99 %.0f µs", result.rate, sorted[sorted.count / 2], sorted[sorted.count * 99 / 100]))
        await client.close()
    }
}
