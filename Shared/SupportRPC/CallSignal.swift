import Synchronization

/// Ends one call early from outside its task: the client's Cancel frame or
/// the deadline timer fires it, and the call's watcher child wakes up.
///
/// A task-group child cannot be cancelled on its own, so each call races its
/// handler against ``wait()`` in a small group of its own; whichever finishes
/// first decides the answer and the group cancels the other.
final class CallSignal: Sendable {
    enum Reason: Sendable {
        case deadlineExceeded
        case cancelledByClient
    }

    private enum State {
        case pending(CheckedContinuation<Reason?, Never>?)
        case fired(Reason)
        case finished
    }

    private let state = Mutex<State>(.pending(nil))

    func fire(_ reason: Reason) {
        let waiter: CheckedContinuation<Reason?, Never>? = self.state.withLock { state in
            guard case .pending(let waiter) = state else { return nil }
            state = .fired(reason)
            return waiter
        }
        waiter?.resume(returning: reason)
    }

    /// Returns why the call must end, or nil when the waiting task is
    /// cancelled because the handler finished first.
    func wait() async -> Reason? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Reason?, Never>) in
                let immediate: Reason?? = self.state.withLock { state in
                    switch state {
                    case .pending:
                        state = .pending(continuation)
                        return .none
                    case .fired(let reason):
                        return .some(reason)
                    case .finished:
                        return .some(nil)
                    }
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Reason?, Never>? = self.state.withLock { state in
                guard case .pending(let waiter) = state else { return nil }
                state = .finished
                return waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
