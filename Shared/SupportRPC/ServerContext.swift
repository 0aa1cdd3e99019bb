import Foundation
import Logging
import NIOCore
import Synchronization

/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    /// `/package.Service/Method`.
    public let method: String
    /// The client's call id on its connection.
    public let callID: UInt64
    /// The caller's `request.id`, or one generated for this call; it is on
    /// every line `logger` writes.
    public let requestID: String
    public let metadata: Metadata
    /// When the caller stops waiting; the server cancels the handler then.
    public let deadline: ContinuousClock.Instant
    /// A logger carrying `request.id` and `rpc.method` (and `peer.uid`).
    ///
    /// Made when asked for: a log handler may render its metadata on every
    /// change (swift-log's `StreamLogHandler` does), which cost a tenth of a
    /// Health call when every call set three keys up front (issue 9).
    public var logger: Logger {
        var logger = self.baseLogger
        logger[metadataKey: "request.id"] = "\(self.requestID)"
        logger[metadataKey: "rpc.method"] = "\(self.method)"
        if let peer { logger[metadataKey: "peer.uid"] = "\(peer.uid)" }
        return logger
    }
    private let baseLogger: Logger
    /// Whom the call is made for (`caller.identity`).
    public let caller: Caller
    /// The process at the other end of the socket, when the kernel says.
    public let peer: PeerCredentials?
    /// The request's payload as it arrived (set by the router before the
    /// handler runs): what an idempotency key is checked against, so the
    /// same key with another request is told apart from a retry.
    public internal(set) var payload: Data = Data()

    public init(
        method: String,
        callID: UInt64 = 0,
        requestID: String,
        metadata: Metadata = Metadata(),
        deadline: ContinuousClock.Instant,
        logger: Logger,
        caller: Caller = .unspecified,
        peer: PeerCredentials? = nil
    ) {
        self.caller = caller
        self.peer = peer
        self.method = method
        self.callID = callID
        self.requestID = requestID
        self.metadata = metadata
        self.deadline = deadline
        self.baseLogger = logger
    }

    /// What is left of the caller's deadline, to pass on to a call this
    /// handler makes to another service.
    public var remaining: Duration {
        max(.zero, self.deadline - .now)
    }
}

/// Makes request ids: 16 hex digits, random enough to find one call's lines
/// among a day's logs.
///
/// A process-wide counter from a random start, scrambled by SplitMix64's
/// finaliser (a bijection, so ids do not repeat within a process): asking
/// the kernel for randomness on every call was a system call per RPC
/// (issue 9).
enum RequestID {
    private static let seed = UInt64.random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(0)

    static func make() -> String {
        var value = Self.seed &+ Self.counter.add(1, ordering: .relaxed).newValue &* 0x9E37_79B9_7F4A_7C15
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        value ^= value >> 31
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
