import Foundation
import SupportProto
import SupportRPC

/// (1) Health/Check round trips on one connection: SupportRPC against the raw
/// blocking ping-pong, the bare SwiftNIO echo of the same frames (the floor
/// of any NIO server and client) and grpc-swift-2; then 32 and 256 in flight.
struct RPCBenchmark {
    let scale: Scale
    let work: Workspace
    let report: Report

    func run() async throws {
        let directory = try self.work.directory("rpc")
        let ours = try Child.launch("ours", ["ours", "--socket", "\(directory)/ours.sock"], log: "\(directory)/ours.log")
        let raw = try Child.launch("raw", ["raw", "--socket", "\(directory)/raw.sock"], log: "\(directory)/raw.log")
        let echo = try Child.launch("nio-echo", ["nio-echo", "--socket", "\(directory)/echo.sock"], log: "\(directory)/echo.log")
        defer { for child in [ours, raw, echo] { kill(child.pid, SIGKILL) } }
        #if GRPCBaseline
        let grpc = try Child.launch("grpc", ["grpc", "--socket", "\(directory)/grpc.sock"], log: "\(directory)/grpc.log")
        defer { kill(grpc.pid, SIGKILL) }
        try await Child.waitUntilListening("\(directory)/grpc.sock")
        #endif
        try await Child.waitUntilServing("\(directory)/ours.sock")
        try await Child.waitUntilListening("\(directory)/raw.sock")
        try await Child.waitUntilListening("\(directory)/echo.sock")

        let client = RPCClient(socketPath: "\(directory)/ours.sock", targetName: "ours")
        let check = { @Sendable in _ = try await client.call(HealthRPC.check, .init()) }
        let count = self.scale.roundTrips
        let repetitions = self.scale.repetitions

        // Latency, one call at a time; runs interleaved so drift hits all three.
        var oursSamples: [Double] = []
        var rawSamples: [Double] = []
        var echoSamples: [Double] = []
        var grpcSamples: [Double] = []
        _ = try await sequential(count / 4, check)
        _ = try await RawPingPong.roundTrips("\(directory)/raw.sock", count: count / 4)
        _ = try await NIOEcho.roundTrips("\(directory)/echo.sock", count: count / 4)
        #if GRPCBaseline
        try await GRPCBaseline.withClient("\(directory)/grpc.sock") { grpcClient in
            _ = try await sequential(count / 4) { try await GRPCBaseline.call(grpcClient) }
        }
        #endif
        var poolSamples: [Double] = []
        for _ in 0..<repetitions {
            // The caller on the connection's loop, as a busy client would
            // run it; and as a plain task on the global pool.
            oursSamples += try await withTaskExecutorPreference(client.executor) { try await sequential(count, check) }
            poolSamples += try await sequential(count, check)
            rawSamples += try await RawPingPong.roundTrips("\(directory)/raw.sock", count: count)
            echoSamples += try await NIOEcho.roundTrips("\(directory)/echo.sock", count: count)
            #if GRPCBaseline
            grpcSamples += try await GRPCBaseline.withClient("\(directory)/grpc.sock") { grpcClient in
                try await sequential(count) { try await GRPCBaseline.call(grpcClient) }
            }
            #endif
        }
        let oursLatency = Figure.latencies(oursSamples)
        self.report.add(Row("rpc.roundtrip", "latency, 1 in flight", unit: "µs", ours: oursLatency,
                            baseline: "raw ping-pong", .latencies(rawSamples), target: "p50 ≤ 2× raw", met: { $0 <= 2 }))
        self.report.add(Row("rpc.roundtrip", "latency, 1 in flight, caller on the global pool", unit: "µs", ours: .latencies(poolSamples),
                            baseline: "raw ping-pong", .latencies(rawSamples)))
        // Where the 2× target stands against SwiftNIO itself: the bare echo
        // to the raw ping-pong, and ours to the bare echo.
        let echoLatency = Figure.latencies(echoSamples)
        self.report.add(Row("rpc.roundtrip", "bare NIO echo, 1 in flight", unit: "µs", ours: echoLatency,
                            baseline: "raw ping-pong", .latencies(rawSamples)))
        self.report.add(Row("rpc.roundtrip", "latency, 1 in flight", unit: "µs", ours: oursLatency,
                            baseline: "bare NIO echo", echoLatency))
        #if GRPCBaseline
        self.report.add(Row("rpc.roundtrip", "latency, 1 in flight", unit: "µs", ours: oursLatency,
                            baseline: "grpc-swift-2", .latencies(grpcSamples)))
        #else
        _ = grpcSamples
        #endif

        #if GRPCBaseline
        for inFlight in [32, 256] {
            var oursRates: [Double] = []
            var grpcRates: [Double] = []
            for _ in 0..<repetitions {
                // Callers on the global pool: with 32 in flight the client's
                // work is spread over both CPUs (faster than all on its loop).
                oursRates.append(try await load(concurrency: inFlight, window: self.scale.window) { _, _ in try await check() }.rate)
                grpcRates.append(try await GRPCBaseline.withClient("\(directory)/grpc.sock") { grpcClient in
                    try await load(concurrency: inFlight, window: self.scale.window) { _, _ in try await GRPCBaseline.call(grpcClient) }.rate
                })
            }
            self.report.add(Row(
                "rpc.pipelined", "\(inFlight) in flight, 1 connection", unit: "calls/s", ours: .rates(oursRates),
                baseline: "grpc-swift-2", .rates(grpcRates),
                target: inFlight == 32 ? "≥ 10× grpc" : nil, met: inFlight == 32 ? { $0 >= 10 } : nil
            ))
        }
        #endif
        await client.close()
    }
}
