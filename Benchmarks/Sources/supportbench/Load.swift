import Foundation

/// Runs `concurrency` callers in a loop for `window` and returns the rate
/// (calls per second) and every call's latency in µs.
///
/// With `executor`, every caller prefers it as its task executor
/// (``RPCClient/executor``: callers run on the connection's event loop).
func load(
    concurrency: Int, window: Duration, executor: (any TaskExecutor)? = nil,
    _ call: @escaping @Sendable (_ caller: Int, _ index: Int) async throws -> Void
) async throws -> (rate: Double, latencies: [Double]) {
    let start = monotonicNanoseconds()
    let end = start + UInt64(window.components.seconds) * 1_000_000_000 + UInt64(window.components.attoseconds / 1_000_000_000)
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for caller in 0..<concurrency {
            group.addTask(executorPreference: executor) {
                var samples: [Double] = []
                var index = 0
                while monotonicNanoseconds() < end {
                    let began = monotonicNanoseconds()
                    try await call(caller, index)
                    samples.append(Double(monotonicNanoseconds() - began) / 1000)
                    index += 1
                }
                return samples
            }
        }
        return try await group.reduce(into: []) { $0 += $1 }
    }
    let elapsed = Double(monotonicNanoseconds() - start) / 1e9
    return (Double(latencies.count) / elapsed, latencies)
}

/// `count` calls one after the other; each latency in µs.
func sequential(_ count: Int, _ call: () async throws -> Void) async throws -> [Double] {
    var samples: [Double] = []
    samples.reserveCapacity(count)
    for _ in 0..<count {
        let began = monotonicNanoseconds()
        try await call()
        samples.append(Double(monotonicNanoseconds() - began) / 1000)
    }
    return samples
}
