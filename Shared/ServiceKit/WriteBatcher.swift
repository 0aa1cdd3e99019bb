import GRDB
import Synchronization

/// Group commit: concurrent writes share one transaction, and so one fsync.
///
/// With `synchronous=FULL` every commit waits for the disk, so a service that
/// commits each request on its own is bounded by fsyncs per second, however
/// many callers wait. ``write(_:)`` queues the request instead. The first
/// request to find the writer idle starts a *drain* on the database's writer
/// queue: it takes every request queued so far (up to ``maximumBatch``), runs
/// them in one immediate transaction, commits, resumes each caller with its
/// own result, and takes the next batch at once, without leaving the writer
/// queue, until nothing is queued. Alone, a request is a batch of one and
/// waits for nobody.
///
/// The drain stays on the writer queue between batches (issue 9): when each
/// batch was started by a caller's task, the writer sat idle after every
/// commit until that task was scheduled again, behind the answers of the
/// batch just written. After ``batchesPerTurn`` batches it queues itself
/// behind other writers (the outbox relay's, the scheduler's) so they are
/// not starved.
///
/// The requests run in the order they arrived, and a later one sees the
/// earlier ones' changes, exactly as if they had committed one after the
/// other (so an idempotency key used twice in one batch still answers the
/// first result). One that throws rolls back only its own changes and gets
/// its own error; the others commit. If the transaction itself fails (the
/// commit, or an error that makes SQLite abandon the transaction), every
/// request of the batch gets that error and none of them is written.
///
/// A batch is first written as if none of its requests will fail: in one
/// transaction, without a savepoint per request (two statements each, about
/// a twentieth of intake's writer time under load, issue 9). If one does
/// throw, that transaction is rolled back and the batch is written again,
/// each request in a savepoint of its own, which isolates the failure. A
/// body may therefore run twice; the bodies given to ``write(_:)`` change
/// nothing but the database (the rolled-back first run leaves no trace), and
/// what they return is taken from the run that committed. The price of a
/// failing request is its batch written twice, paid only when one fails and
/// not at all when it was alone in its batch.
///
/// With a ``WALSync`` (``ServiceDatabase/Synchronous/durableAcknowledgements``)
/// the transaction commits without waiting for the disk, and the batch's
/// callers are resumed once an fsync of the WAL covered it, while the drain
/// already writes the next batch (decision 15): the writer no longer sits
/// idle through each fsync.
///
/// A request, once queued, is written even if its caller's task is cancelled:
/// the caller only learns the outcome, as with a plain write already begun.
public final class WriteBatcher: Sendable {
    /// Most requests in one transaction, so one batch cannot hold the writer
    /// (and the first caller's answer) for long.
    public let maximumBatch: Int
    /// Batches written before the drain lets other writers have a turn.
    public let batchesPerTurn = 8
    private let writer: DatabasePool
    private let sync: WALSync?
    private let state = Mutex(State())

    private struct State {
        var draining = false
        var queue: [Request] = []
    }

    public init(writer: DatabasePool, sync: WALSync? = nil, maximumBatch: Int = 128) {
        precondition(maximumBatch >= 1, "a batch holds at least one request")
        self.writer = writer
        self.sync = sync
        self.maximumBatch = maximumBatch
    }

    /// Runs `body` inside a write transaction shared with concurrent callers
    /// and returns its result once that transaction has committed.
    ///
    /// `body` may run twice (the second time if a request of its batch
    /// failed): it must change nothing but the database.
    ///
    /// - Throws: what `body` threw (its changes rolled back, the batch's other
    ///   requests unaffected), or the error that failed the whole transaction.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = ResultBox<T>()
        let request = Request { db in result.value = try body(db) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            request.continuation = continuation
            let start = self.state.withLock { state -> Bool in
                state.queue.append(request)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if start { self.drain() }
        }
        if let error = request.error { throw error }
        return result.value!
    }

    /// Requests waiting for the next transaction (for tests).
    package var queued: Int { self.state.withLock { $0.queue.count } }

    /// Writes batches on the writer queue until none is left, or until this
    /// turn is used up (then queues another turn behind other writers).
    private func drain() {
        self.writer.asyncWriteWithoutTransaction { db in
            for _ in 0..<self.batchesPerTurn {
                let batch = self.state.withLock { state -> [Request] in
                    let taken = Array(state.queue.prefix(self.maximumBatch))
                    state.queue.removeFirst(taken.count)
                    if taken.isEmpty { state.draining = false }
                    return taken
                }
                guard !batch.isEmpty else { return }
                if self.commit(batch, in: db), let sync = self.sync {
                    sync.afterSync { error in
                        for request in batch {
                            // A request's own error stands; a failed sync
                            // fails the ones that succeeded.
                            if let error, request.error == nil { request.error = error }
                            request.continuation?.resume()
                        }
                    }
                } else {
                    for request in batch { request.continuation?.resume() }
                }
            }
            let more = self.state.withLock { state -> Bool in
                if state.queue.isEmpty { state.draining = false }
                return state.draining
            }
            if more { self.drain() }
        }
    }

    /// Whether the transaction committed (each request may still have
    /// failed on its own).
    private func commit(_ batch: [Request], in db: Database) -> Bool {
        guard let error = self.commitOptimistically(batch, in: db) else { return true }
        // Alone, the request's own failure and the transaction's are one:
        // the rollback already isolated it.
        if batch.count == 1 {
            batch[0].error = error
            return false
        }
        return self.commitIsolated(batch, in: db)
    }

    /// Writes the batch without savepoints; the error (and nothing written)
    /// if any request or the transaction failed.
    private func commitOptimistically(_ batch: [Request], in db: Database) -> (any Error)? {
        do {
            try db.inTransaction(.immediate) {
                for request in batch { try request.body(db) }
                return .commit
            }
            return nil
        } catch {
            return error
        }
    }

    /// Writes the batch with a savepoint per request: one that fails rolls
    /// back alone.
    private func commitIsolated(_ batch: [Request], in db: Database) -> Bool {
        do {
            try db.inTransaction(.immediate) {
                for request in batch {
                    do {
                        try db.inReusedSavepoint { try request.body(db) }
                    } catch {
                        request.error = error
                        // Some errors (disk full, I/O) make SQLite roll the
                        // whole transaction back: the batch failed as one.
                        if !db.isInsideTransaction { throw error }
                    }
                }
                return .commit
            }
            return true
        } catch {
            for request in batch { request.error = error }
            return false
        }
    }

    /// One queued write.
    ///
    /// `@unchecked Sendable`: `continuation` is set before the request is
    /// shared (under the state lock's release), `error` and the result box
    /// are written only by the drain while it owns the batch (or by the WAL
    /// sync it handed the batch to) and read by the caller only after it was
    /// resumed — the continuation orders the two.
    private final class Request: @unchecked Sendable {
        let body: @Sendable (Database) throws -> Void
        var continuation: CheckedContinuation<Void, Never>?
        var error: (any Error)?

        init(_ body: @escaping @Sendable (Database) throws -> Void) {
            self.body = body
        }
    }

    /// `@unchecked Sendable` for the same reason as ``Request``.
    private final class ResultBox<T>: @unchecked Sendable {
        var value: T?
    }
}
