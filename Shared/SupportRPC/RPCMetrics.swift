import CoreMetrics
import Synchronization

/// What one server records about its calls, through swift-metrics:
///
/// - `supportdesk_rpc_calls_total{method, code}`: calls answered (or
///   refused), by full method name and status code name;
/// - `supportdesk_rpc_call_duration_seconds{method}`: time from reading the
///   request to writing the answer;
/// - `supportdesk_rpc_connections`: connections open now.
///
/// The metric objects are made once per method and code and then reused: a
/// factory's `make…` takes a lock and hashes the label and dimensions, which
/// would otherwise sit on every call's path.
public final class RPCMetrics: Sendable {
    public static let callsLabel = "supportdesk_rpc_calls_total"
    public static let durationLabel = "supportdesk_rpc_call_duration_seconds"
    public static let connectionsLabel = "supportdesk_rpc_connections"

    private struct MethodMetrics {
        let duration: CoreMetrics.Timer
        var calls: [Int32: Counter] = [:]
    }

    private let factory: any MetricsFactory
    private let byMethod = Mutex<[String: MethodMetrics]>([:])
    private let connections: Gauge
    private let openConnections = Mutex(0)

    /// - Parameter factory: Where the metrics go; the process's bootstrapped
    ///   `MetricsSystem` unless a service host passes its own registry.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        self.connections = Gauge(label: Self.connectionsLabel, dimensions: [], factory: factory)
    }

    func recordCall(method: String, code: RPCError.Code, duration: Duration) {
        let (timer, counter) = self.byMethod.withLock { table -> (CoreMetrics.Timer, Counter) in
            var entry = table[method] ?? MethodMetrics(
                duration: CoreMetrics.Timer(label: Self.durationLabel, dimensions: [("method", method)], factory: self.factory)
            )
            let counter: Counter
            if let existing = entry.calls[code.rawValue] {
                counter = existing
            } else {
                counter = Counter(label: Self.callsLabel, dimensions: [("method", method), ("code", "\(code)")], factory: self.factory)
                entry.calls[code.rawValue] = counter
                table[method] = entry
            }
            if table[method] == nil { table[method] = entry }
            return (entry.duration, counter)
        }
        counter.increment()
        timer.recordElapsed(duration)
    }

    public func connectionOpened() { self.connections.record(self.openConnections.withLock { $0 += 1; return $0 }) }
    public func connectionClosed() { self.connections.record(self.openConnections.withLock { $0 -= 1; return $0 }) }
}

extension CoreMetrics.Timer {
    /// Records a `Duration` (swift-metrics takes nanoseconds).
    public func recordElapsed(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
