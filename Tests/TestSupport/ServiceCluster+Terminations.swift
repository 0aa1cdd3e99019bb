import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension ServiceCluster {
    /// How one service process ended: by the kernel's account (exit status
    /// or signal), and whether the cluster had asked it to.
    public struct Termination: Sendable, CustomStringConvertible {
        public let service: String
        public let pid: Int32
        /// True when a signal ended the process; `status` is then its number.
        public let bySignal: Bool
        public let status: Int32
        /// The signal ``ServiceCluster/stop(_:signal:)`` sent, nil if none did.
        public let requested: Int32?

        /// Ended as asked: by the very signal the cluster sent, or, after a
        /// SIGTERM, by a clean exit. Anything else is a crash: an exit
        /// nobody asked for, a non-zero status, or another signal (a Swift
        /// precondition or fatalError ends in SIGILL or SIGTRAP).
        public var expected: Bool {
            guard let requested else { return false }
            if self.bySignal { return self.status == requested }
            return requested == SIGTERM && self.status == 0
        }

        public var description: String {
            let how = self.bySignal ? "killed by signal \(self.status) (\(Self.signalName(self.status)))" : "exited with status \(self.status)"
            let asked = self.requested.map { "after the driver sent \(Self.signalName($0))" } ?? "without being asked"
            return "\(self.service) (pid \(self.pid)) \(how) \(asked)"
        }

        static func signalName(_ signal: Int32) -> String {
            switch signal {
            case SIGKILL: "SIGKILL"
            case SIGTERM: "SIGTERM"
            case SIGILL: "SIGILL"
            case SIGTRAP: "SIGTRAP"
            case SIGABRT: "SIGABRT"
            case SIGSEGV: "SIGSEGV"
            case SIGBUS: "SIGBUS"
            case SIGPIPE: "SIGPIPE"
            case SIGINT: "SIGINT"
            default: "signal \(signal)"
            }
        }
    }

    /// Every service process that has ended so far, in order.
    public func terminations() -> [Termination] {
        self.exits.withLock { $0.ended }
    }

    /// The ends nobody asked for: crashes, whatever the logs say.
    public func unexpectedTerminations() -> [Termination] {
        self.terminations().filter { !$0.expected }
    }

    func recordExit(of process: Process, service: String) {
        let pid = process.processIdentifier
        let bySignal = process.terminationReason == .uncaughtSignal
        let status = process.terminationStatus
        self.exits.withLock { exits in
            exits.ended.append(Termination(service: service, pid: pid, bySignal: bySignal, status: status, requested: exits.requested.removeValue(forKey: pid)))
        }
    }
}
