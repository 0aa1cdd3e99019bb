import NIOCore

/// Runs Swift tasks on one NIO event loop: a task that prefers it starts,
/// and resumes after each suspension, on the loop its connection reads and
/// writes on, instead of waking a thread of the global pool. The server runs
/// each call's task on it; a client caller may too (``RPCClient/executor``).
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
