import CoreMetrics
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
import SupportRPC

/// Copies a service's write-ahead log back into its database file from a
/// connection of its own, so no commit waits for it (issue 9, decision 11).
///
/// SQLite's automatic checkpoint runs inside the commit that takes the WAL
/// past 1,000 pages: that request (and every request batched behind it)
/// waits while the pages are written to the database file and it is
/// fsync'd. That was about a tenth of intake's writer time and most of its
/// p99. A PASSIVE checkpoint here takes only SQLite's checkpointer lock, so
/// commits go on meanwhile; once it has copied everything, the next write
/// transaction starts the WAL again from its beginning, and the file stays
/// the size of what is written between two checkpoints.
///
/// The WAL starts over only at a write that finds every frame copied back.
/// Under writes that never pause, a checkpoint running beside them never
/// gets there (frames arrive while it copies), and the WAL would grow. Past
/// ``walLimit`` frames the checkpointer therefore takes one turn on the
/// writer's queue, between two commits, to copy the few frames its last
/// pass did not see: the next write transaction then starts the WAL over.
///
/// It must run wherever a database is opened with
/// ``ServiceDatabase/Checkpoints/background``: without it the WAL grows
/// without end.
public final class WALCheckpointer: Service, Sendable {
    let database: ServiceDatabase
    let interval: Duration
    let walLimit: Int
    let logger: Logger
    private let duration: CoreMetrics.Timer
    private let onWriter: CoreMetrics.Counter
    private let failures: CoreMetrics.Counter
    /// Whether the last checkpoint failed: a failure is logged once per
    /// outage, not every 20 ms (a full disk would otherwise flood the log).
    private let failing = Mutex(false)

    /// - Parameters:
    ///   - interval: The pause between two checkpoints.
    ///   - walLimit: WAL frames (pages) past which the remainder is copied on
    ///     the writer's queue; 16,000 is about 64 MB. Lower, the turns come
    ///     more often and show in intake's p99.
    public init(
        database: ServiceDatabase, interval: Duration = .milliseconds(20), walLimit: Int = 16_000,
        logger: Logger, metrics: ServiceMetrics
    ) {
        self.database = database
        self.interval = interval
        self.walLimit = walLimit
        self.logger = logger
        self.duration = CoreMetrics.Timer(label: "supportdesk_wal_checkpoint_seconds", dimensions: [], factory: metrics.factory)
        self.onWriter = CoreMetrics.Counter(label: "supportdesk_wal_checkpoints_on_writer_total", dimensions: [], factory: metrics.factory)
        self.failures = CoreMetrics.Counter(label: "supportdesk_wal_checkpoint_failures_total", dimensions: [], factory: metrics.factory)
    }

    var path: String { self.database.path }

    /// Frames few enough to copy on the writer's queue without a commit
    /// noticing (each is a page; the copy ends with one fsync).
    static let fewFrames = 64

    public func run() async throws {
        let connection = try self.open()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            // Frames counts from the WAL's last start: past the limit, the
            // writes never paused long enough for a pass to finish first.
            guard let (frames, _) = await self.checkpoint(connection), frames > self.walLimit else { continue }
            // Catch up beside the writer first: each pass copies what came
            // during the one before, fewer frames each time, so the turn on
            // the writer's queue has only a few left to copy (issue 9: a
            // turn that copied a whole pass's worth held commits ~20 ms).
            var seen = frames
            var arrivedBefore = Int.max
            for _ in 0..<8 {
                guard let (now, _) = await self.checkpoint(connection) else { break }
                let arrived = now - seen
                seen = now
                // Few left, or writes outpace the copying: take the turn now.
                if arrived <= Self.fewFrames || arrived >= arrivedBefore { break }
                arrivedBefore = arrived
            }
            do {
                try await self.database.writer.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
                self.onWriter.increment()
                self.logger.debug("WAL past its limit under steady writes; copied the rest between two commits", metadata: ["frames": "\(frames)"])
            } catch {
                self.failed(error)
            }
        }
        self.lastCheckpoint(connection)
    }

    /// Stopped, one last pass copies everything back, so the next start (or
    /// a backup of the file alone) finds the WAL empty. It is synchronous on
    /// purpose: GRDB interrupts an async access made from a cancelled task,
    /// and a task cancelled to stop it is exactly where this runs.
    func lastCheckpoint(_ connection: DatabaseQueue) {
        do {
            try connection.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            return
        } catch {
            self.failed(error)
        }
    }

    /// The checkpointer's own connection. Its `synchronous` stays at SQLite's
    /// default (FULL): the database file is fsync'd before the WAL may be
    /// started again, whatever the service's commits use.
    func open() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.label = "wal-checkpointer"
        return try DatabaseQueue(path: self.path, configuration: configuration)
    }

    /// One PASSIVE checkpoint: copies what no reader still needs and returns
    /// the WAL's frames and how many of them are now in the database file;
    /// nil when it failed (logged; the next one tries again).
    @discardableResult
    func checkpoint(_ connection: DatabaseQueue) async -> (walFrames: Int, copied: Int)? {
        let started = ContinuousClock.now
        do {
            // GRDB's async write runs on the connection's own queue: the
            // fsync does not hold a thread of Swift's cooperative pool.
            let result = try await connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            if result.checkpointedFrameCount > 0 { self.duration.recordElapsed(ContinuousClock.now - started) }
            if self.failing.withLock({ failing in
                let was = failing
                failing = false
                return was
            }) {
                self.logger.notice("the database's WAL is being checkpointed again", metadata: ["path": "\(self.path)"])
            }
            return (result.walFrameCount, result.checkpointedFrameCount)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            // Another checkpoint is running (a connection closing): it does the work.
            return nil
        } catch {
            self.failed(error)
            return nil
        }
    }

    private func failed(_ error: any Error) {
        // Stopped mid-pass: GRDB interrupted it, and the last pass follows.
        if Task.isCancelled, error is CancellationError || (error as? DatabaseError)?.resultCode == .SQLITE_INTERRUPT {
            return
        }
        self.failures.increment()
        let already = self.failing.withLock { failing in
            let was = failing
            failing = true
            return was
        }
        guard !already else { return }
        self.logger.warning(
            "cannot checkpoint the database's WAL; it grows until this works again (retrying, logged once)",
            metadata: ["path": "\(self.path)", "error": "\(error)"]
        )
    }
}
