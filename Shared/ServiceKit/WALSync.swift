import Foundation
import GRDB
import SupportRPC
import Synchronization

/// Makes a WAL database's commits durable beside the writer rather than
/// inside each commit (issue 9, decision 15).
///
/// With `synchronous=FULL`, SQLite fsyncs the WAL inside every commit, and
/// the one writer connection waits for the disk, idle, before it can start
/// the next transaction. A database opened with
/// ``ServiceDatabase/Synchronous/durableAcknowledgements`` commits with
/// `synchronous=NORMAL` instead (the commit writes its WAL frames to the
/// page cache and returns) and hands whoever must not be answered before
/// the commit is on disk to this object. One fsync of the WAL file then
/// covers every commit made before it began, however many, while the
/// writer goes on with the next batch.
///
/// Why that is as durable as FULL for what is acknowledged:
/// - Linux's `fdatasync` flushes the file, not a descriptor's writes: it
///   covers the frames SQLite's own descriptor wrote.
/// - A commit is visible (and its waiter queued here) only after its frames
///   were written to the WAL, so a sync that starts after a waiter was
///   queued covers that waiter's commit.
/// - The WAL is append-only until a checkpoint has copied all of it into
///   the database file and fsync'd that file (``WALCheckpointer`` commits
///   with FULL), so the frames written before a crash are a prefix: a torn
///   tail is dropped by SQLite's checksums and never an acknowledged commit.
/// - A process crash loses nothing at all: the page cache outlives it.
///
/// What changes: another connection may read a commit during the
/// millisecond or so before its fsync ends. Only a power loss in that
/// window could make such a read a phantom, and nothing read that way
/// leaves the service: events go out only up to ``durableOutboxPosition``
/// (``OutboxRelay``), and a writer's caller is answered after the sync.
///
/// An fsync that fails leaves the file's state on disk unknown (Linux may
/// drop the dirty pages it could not write), so the failure is sticky:
/// every later acknowledgement fails too, and the service must be
/// restarted to recover from what the disk holds, as PostgreSQL does.
public final class WALSync: Sendable {
    public typealias Completion = @Sendable ((any Error)?) -> Void

    private struct State {
        var waiting: [Completion] = []
        var syncing = false
        var failure: RPCError?
        var durableOutboxPosition: Int64 = 0
        /// An open descriptor of the WAL file and its inode, reopened when
        /// the file at the path is another one.
        var wal: (descriptor: Int32, inode: UInt)?
        var syncs = 0
    }

    private let walPath: String
    private let reader: DatabasePool
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "supportdesk.wal-sync", qos: .userInitiated)

    private let fsync: @Sendable (Int32) -> Int32

    /// - Parameter fsync: What makes a descriptor's file durable; tests
    ///   stand in a slow or failing disk here.
    package init(databasePath: String, reader: DatabasePool, fsync: @escaping @Sendable (Int32) -> Int32 = { fdatasync($0) }) {
        self.walPath = databasePath + "-wal"
        self.reader = reader
        self.fsync = fsync
    }

    deinit {
        if let wal = self.state.withLock({ $0.wal }) { close(wal.descriptor) }
    }

    /// The last outbox position known to be on disk: every event up to it
    /// survives a power loss.
    public var durableOutboxPosition: Int64 {
        self.state.withLock { $0.durableOutboxPosition }
    }

    /// fsyncs done so far (for tests).
    public var syncs: Int {
        self.state.withLock { $0.syncs }
    }

    /// Calls `completion` once every commit made before this call is on
    /// disk, with nil, or with the error that leaves that unknown. Runs it
    /// on the sync's own queue: it must be quick (resume a continuation).
    public func afterSync(_ completion: @escaping Completion) {
        let (start, failure) = self.state.withLock { state -> (Bool, RPCError?) in
            if let failure = state.failure { return (false, failure) }
            state.waiting.append(completion)
            guard !state.syncing else { return (false, nil) }
            state.syncing = true
            return (true, nil)
        }
        if let failure {
            completion(failure)
        } else if start {
            self.queue.async { self.syncWhileWaited() }
        }
    }

    /// Syncs what an earlier run of the service committed (a process that
    /// crashed left it in the page cache, not necessarily on disk), so its
    /// events may leave: called once, when the database is opened.
    func syncAtOpen() throws {
        if let failure = self.syncOnce() { throw failure }
    }

    /// Returns once every commit made before the call is on disk.
    public func sync() async throws {
        let result = ResultBox()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.afterSync { error in
                result.error = error
                continuation.resume()
            }
        }
        if let error = result.error { throw error }
    }

    /// One fsync for everyone queued when it starts; again while more came.
    private func syncWhileWaited() {
        while true {
            let waiting = self.state.withLock { state -> [Completion] in
                let waiting = state.waiting
                state.waiting = []
                if waiting.isEmpty { state.syncing = false }
                return waiting
            }
            guard !waiting.isEmpty else { return }
            let error = self.syncOnce()
            for completion in waiting { completion(error) }
        }
    }

    private func syncOnce() -> RPCError? {
        do {
            // Read before the fsync: every event visible now was written
            // to the WAL before it, so the fsync covers it.
            let head = try self.reader.read { db in
                try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(position), 0) FROM outbox_event")) ?? 0
            }
            try self.fsyncWAL()
            self.state.withLock { state in
                state.durableOutboxPosition = max(state.durableOutboxPosition, head)
                state.syncs += 1
            }
            return nil
        } catch {
            // UNAVAILABLE: the caller may retry (with its idempotency key)
            // once the service was restarted.
            let failure = RPCError(
                .unavailable,
                "the database's write-ahead log \(self.walPath) could not be made durable (\(error)); "
                    + "what was written since the last good sync may not be on disk. Check the disk, then restart the service"
            )
            self.state.withLock { state in
                if state.failure == nil { state.failure = failure }
            }
            return failure
        }
    }

    private func fsyncWAL() throws {
        var onPath = stat()
        guard stat(self.walPath, &onPath) == 0 else {
            // No WAL: the last connection closed and copied it all back
            // into the database file, fsync'd. Nothing is left to sync.
            if errno == ENOENT { return }
            throw RuntimeError("stat: \(String(cString: strerror(errno)))")
        }
        let descriptor = try self.state.withLock { state -> Int32 in
            if let wal = state.wal, wal.inode == UInt(onPath.st_ino) { return wal.descriptor }
            if let wal = state.wal { close(wal.descriptor) }
            state.wal = nil
            let descriptor = open(self.walPath, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw RuntimeError("open: \(String(cString: strerror(errno)))") }
            var opened = stat()
            guard fstat(descriptor, &opened) == 0 else {
                close(descriptor)
                throw RuntimeError("fstat: \(String(cString: strerror(errno)))")
            }
            state.wal = (descriptor, UInt(opened.st_ino))
            return descriptor
        }
        guard self.fsync(descriptor) == 0 else {
            throw RuntimeError("fdatasync: \(String(cString: strerror(errno)))")
        }
    }

    /// Written by the sync's queue before the continuation resumes, read
    /// after: the continuation orders the two.
    private final class ResultBox: @unchecked Sendable {
        var error: (any Error)?
    }
}
