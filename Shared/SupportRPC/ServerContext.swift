import Logging
import NIOCore

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
    /// A logger carrying `request.id` and `rpc.method`.
    public let logger: Logger
    /// Whom the call is made for (`caller.identity`).
    public let caller: Caller
    /// The process at the other end of the socket, when the kernel says.
    public let peer: PeerCredentials?

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
        var logger = logger
        logger[metadataKey: "request.id"] = "\(requestID)"
        logger[metadataKey: "rpc.method"] = "\(method)"
        if let peer { logger[metadataKey: "peer.uid"] = "\(peer.uid)" }
        self.logger = logger
    }

    /// What is left of the caller's deadline, to pass on to a call this
    /// handler makes to another service.
    public var remaining: Duration {
        max(.zero, self.deadline - .now)
    }
}

/// Makes request ids: 16 hex digits, random enough to find one call's lines
/// among a day's logs.
enum RequestID {
    static func make() -> String {
        let value = UInt64.random(in: .min ... .max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
