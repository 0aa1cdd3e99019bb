import Foundation
import Logging
import ServiceLifecycle
import SupportRPC

#if canImport(Glibc)
import Glibc
#endif

/// Writes the service's metrics to a file every few seconds for
/// node_exporter's textfile collector, so a host's Prometheus scrapes them
/// without the service opening a TCP port (it speaks only on its socket).
///
/// Each write goes to a temporary file in the same directory and is renamed
/// over the target, so the collector never reads half a file.
struct MetricsTextfileWriter: Service {
    let path: String
    let interval: Duration
    let metrics: ServiceMetrics
    let logger: Logger

    func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await self.write()
                if failing { self.logger.notice("metrics textfile writable again", metadata: ["path": "\(self.path)"]) }
                failing = false
            } catch {
                // Logged once per outage, not every interval.
                if !failing { self.logger.warning("cannot write the metrics textfile", metadata: ["path": "\(self.path)", "error": "\(error)"]) }
                failing = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
        // The last figures, so a stopped service's file says where it ended.
        try? await self.write()
    }

    func write() async throws {
        let text = await self.metrics.exposition()
        let temporary = "\(self.path).tmp.\(ProcessInfo.processInfo.processIdentifier)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, self.path) == 0 else {
            let error = String(cString: strerror(errno))
            unlink(temporary)
            throw RuntimeError("cannot replace \(self.path): \(error)")
        }
    }
}
