import NIOCore

/// One timer for a connection's calls, set to the earliest deadline it knows
/// of (issue 9, decision 12). A timer per call cost a scheduled task, a
/// promise and a cancellation for every call, to catch the rare late one.
/// Used on the connection's event loop only.
struct DeadlineSweep {
    private var armed: (at: NIODeadline, task: Scheduled<Void>)?

    /// Whether the armed timer already fires by `deadline`.
    func covers(_ deadline: NIODeadline) -> Bool {
        self.armed.map { $0.at <= deadline } ?? false
    }

    /// Runs `sweep` at `deadline` instead of the later time armed before.
    mutating func arm(at deadline: NIODeadline, on eventLoop: any EventLoop, _ sweep: @escaping @Sendable () -> Void) {
        self.armed?.task.cancel()
        self.armed = (deadline, eventLoop.scheduleTask(deadline: deadline, sweep))
    }

    /// The timer fired, or the connection closed: nothing is armed.
    mutating func disarm() {
        self.armed?.task.cancel()
        self.armed = nil
    }
}
