import CoreMetrics
import Foundation
import GRDB
import Prometheus
import SwiftProtobuf
import Synchronization

/// One service's metrics: a Prometheus registry of its own (so two services
/// built in one test process never mix their figures), the swift-metrics
/// factory the libraries record through, and gauges that are read from the
/// database when someone asks rather than kept up to date on every write.
///
/// Exposed by `Admin/Metrics` and, with `--metrics-textfile`, written to a
/// file for node_exporter's textfile collector.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory
    /// Refreshes a set of gauges just before they are exposed.
    public typealias Collector = @Sendable () async throws -> Void
    private let collectors = Mutex<[(name: String, collect: Collector)]>([])

    public init() {
        self.registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: self.registry)
        // Our calls take tens of microseconds, timers fire within a second:
        // the default buckets (5 ms … 10 s) would put everything in the first.
        let fine: [Duration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        factory.defaultDurationHistogramBuckets = fine
        self.factory = factory
    }

    /// Adds a collector run before every exposition; `name` appears in the
    /// log line when it fails.
    public func onCollect(_ name: String, _ collect: @escaping Collector) {
        self.collectors.withLock { $0.append((name, collect)) }
    }

    /// A gauge on this service's registry, for a collector to set.
    public func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: self.factory)
    }

    /// Runs the collectors, then renders every metric in the Prometheus
    /// text format. A failing collector leaves its gauges at their last
    /// values and is named in `supportdesk_metrics_collector_errors_total`.
    public func exposition() async -> String {
        let collectors = self.collectors.withLock { $0 }
        for collector in collectors {
            do {
                try await collector.collect()
            } catch {
                CoreMetrics.Counter(label: "supportdesk_metrics_collector_errors_total", dimensions: [("collector", collector.name)], factory: self.factory)
                    .increment()
            }
        }
        return self.registry.emitToString()
    }
}

extension ServiceMetrics {
    /// A gauge per value of a protobuf enum, set from a `SELECT value,
    /// COUNT(*) … GROUP BY value` over the service's database whenever the
    /// metrics are read. Every known value gets a sample (0 when absent), so
    /// a state that empties drops to zero instead of keeping its last count.
    public func countRows<Value: SwiftProtobuf.Enum & CaseIterable>(
        _ label: String, by dimension: String, as type: Value.Type,
        in database: ServiceDatabase, sql: String
    ) {
        self.onCollect(label) {
            let counts = try await Blocking.run {
                try database.writer.read { db in
                    try Row.fetchAll(db, sql: sql).reduce(into: [Int: Int]()) { $0[$1[0]] = $1[1] }
                }
            }
            for value in Value.allCases where value.rawValue != 0 {  // 0 is UNSPECIFIED, never stored
                self.gauge(label, [(dimension, "\(value)")]).record(counts[value.rawValue] ?? 0)
            }
        }
    }
}
