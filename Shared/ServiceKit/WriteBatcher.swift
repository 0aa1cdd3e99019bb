import GRDB
import Synchronization

/// Group commit: concurrent writes share one transaction, and so one fsync.
///
/// With `synchronous=FULL` every commit waits for the disk, so a service that
/// commits each request on its own is bounded by fsyncs per second, however
/// many callers wait. ``write(_:)`` queues the request instead; whoever finds
/// the writer idle becomes the *leader*, takes every request queued so far
/// (up to ``maximumBatch``), runs them in one immediate transaction, commits,
/// resumes each caller with its own result, and hands the lead to the first
/// request that queued meanwhile. Alone, a request is a batch of one and waits
/// for nobody.
///
/// Each request runs in a savepoint of its own, in the order the requests
/// arrived: one that throws rolls back only its own changes and gets its own
/// error; the others commit. A later request in the batch sees the earlier
/// ones' changes, exactly as if they had committed one after the other (so an
/// idempotency key used twice in one batch still answers the first result).
/// If the transaction itself fails (the commit, or an error that makes SQLite
/// abandon the transaction), every request of the batch gets that error and
/// none of them is written.
///
/// A request, once queued, is written even if its caller's task is cancelled:
/// the caller only learns the outcome, as with a plain write already begun.
public final class WriteBatcher: Sendable {
    /// Most requests in one transaction, so one batch cannot hold the writer
    /// (and the first caller's answer) for long.
    public let maximumBatch: Int
    private let writer: DatabasePool
    private let state = Mutex(State())

    private struct State {
        var writing = false
        var queue: [Request] = []
    }

    public init(writer: DatabasePool, maximumBatch: Int = 128) {
        precondition(maximumBatch >= 1, "a batch holds at least one request")
        self.writer = writer
        self.maximumBatch = maximumBatch
    }

    /// Runs `body` inside a write transaction shared with concurrent callers
    /// and returns its result once that transaction has committed.
    ///
    /// - Throws: what `body` threw (its changes rolled back, the batch's other
    ///   requests unaffected), or the error that failed the whole transaction.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = ResultBox<T>()
        let request = Request { db in result.value = try body(db) }
        let leads: Bool = await withCheckedContinuation { continuation in
            request.continuation = continuation
            let immediately = self.state.withLock { state -> Bool in
                if state.writing {
                    state.queue.append(request)
                    return false
                }
                state.writing = true
                return true
            }
            if immediately { continuation.resume(returning: true) }
        }
        if leads { await self.lead(first: request) }
        if let error = request.error { throw error }
        return result.value!
    }

    /// Requests waiting for the next transaction (for tests).
    package var queued: Int { self.state.withLock { $0.queue.count } }

    /// Writes one batch that starts with `first`, resumes its other callers,
    /// and passes the lead on (or leaves the writer idle).
    private func lead(first: Request) async {
        let batch = [first] + self.state.withLock { state -> [Request] in
            let taken = Array(state.queue.prefix(self.maximumBatch - 1))
            state.queue.removeFirst(taken.count)
            return taken
        }
        await self.commit(batch)
        let next = self.state.withLock { state -> Request? in
            guard !state.queue.isEmpty else {
                state.writing = false
                return nil
            }
            return state.queue.removeFirst()
        }
        for request in batch.dropFirst() { request.continuation?.resume(returning: false) }
        next?.continuation?.resume(returning: true)
    }

    private func commit(_ batch: [Request]) async {
        do {
            try await self.writer.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    for request in batch {
                        do {
                            try db.inSavepoint {
                                try request.body(db)
                                return .commit
                            }
                        } catch {
                            request.error = error
                            // Some errors (disk full, I/O) make SQLite roll the
                            // whole transaction back: the batch failed as one.
                            if !db.isInsideTransaction { throw error }
                        }
                    }
                    return .commit
                }
            }
        } catch {
            for request in batch { request.error = error }
        }
    }

    /// One queued write.
    ///
    /// `@unchecked Sendable`: `continuation` is set before the request is
    /// shared (under the state lock's release), `error` and the result box
    /// are written only by the leader while it owns the batch and read by the
    /// caller only after the leader resumed it — the continuation orders the
    /// two.
    private final class Request: @unchecked Sendable {
        let body: @Sendable (Database) throws -> Void
        var continuation: CheckedContinuation<Bool, Never>?
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
