import Foundation
import Logging
import NIOCore
import NIOPosix
import SupportProto
import SwiftProtobuf
import Synchronization

/// Calls the methods of one service over its Unix socket.
///
/// One connection carries every call, multiplexed by call id. When the
/// service is not there (restarting, not yet started) the client reconnects
/// with jittered exponential backoff for as long as the call's deadline
/// allows, then fails it with `UNAVAILABLE`. A call already sent when the
/// connection breaks fails with `UNAVAILABLE` and is not repeated: only the
/// caller knows whether it is safe to. The exception is a call the server's
/// GoAway says it never read (above `last_call_id`): that one goes again on
/// a new connection.
public final class RPCClient: Sendable {
    public struct Configuration: Sendable {
        public var socketPath: String
        /// A name for messages and logs ("intake"); defaults to the path.
        public var targetName: String
        public var maximumFrameSize = FrameLimits.defaultMaximum
        /// The first reconnect delay; it doubles up to ``maximumBackoff``.
        public var initialBackoff: Duration = .milliseconds(20)
        public var maximumBackoff: Duration = .seconds(1)

        public init(socketPath: String, targetName: String? = nil) {
            self.socketPath = socketPath
            self.targetName = targetName ?? socketPath
        }
    }

    private enum ConnectionState {
        case idle
        case connecting(EventLoopFuture<Connection>)
        case connected(Connection)
        case closed
    }

    /// An open connection and its handler, found once rather than looked up
    /// in the pipeline on every call.
    private struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
    }

    private struct State {
        var connection: ConnectionState = .idle
        var nextCallID: UInt64 = 1
        var consecutiveFailures = 0
        var notBefore: ContinuousClock.Instant?
    }

    /// How many times a call the server never read is sent again.
    static let maximumResends = 2

    public let configuration: Configuration
    /// The loop every connection of this client lives on.
    private let eventLoop: any EventLoop
    private let loopExecutor: EventLoopTaskExecutor
    private let logger: Logger
    private let state = Mutex(State())

    public init(
        configuration: Configuration,
        logger: Logger = Logger(label: "supportdesk.rpc.client"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoop = eventLoopGroup.next()
        self.loopExecutor = EventLoopTaskExecutor(self.eventLoop)
    }

    /// The connection's event loop as a task executor, for a caller that
    /// makes many calls: inside
    /// `withTaskExecutorPreference(client.executor) { ... }` each call is
    /// written, and its caller resumed, on the loop that reads the answer,
    /// which saves two thread wake-ups per call (issue 9). Code run there
    /// must not block: it holds up every call on the connection.
    public var executor: any TaskExecutor { self.loopExecutor }

    public convenience init(socketPath: String, targetName: String? = nil) {
        self.init(configuration: Configuration(socketPath: socketPath, targetName: targetName))
    }

    /// Calls `method` and returns its response.
    ///
    /// - Parameters:
    ///   - timeout: How long to wait in all, connecting included; the server
    ///     is told the same deadline.
    ///   - connectTimeout: How long to try to reach the service at all
    ///     (default: all of `timeout`); a long call to a service that is
    ///     down then fails fast.
    ///   - metadata: Sent with the call; a `request.id` is added when absent.
    /// - Throws: ``RPCError`` with the server's code and message, or
    ///   `UNAVAILABLE` / `DEADLINE_EXCEEDED` / `CANCELLED` from this side.
    public func call<Request, Response>(
        _ method: RPCMethod<Request, Response>,
        _ request: Request,
        timeout: Duration = .seconds(10),
        connectTimeout: Duration? = nil,
        metadata: Metadata = Metadata()
    ) async throws -> Response {
        let payload: Data = try request.serializedBytes()
        let answer = try await self.call(
            method: method.fullName, payload: payload, timeout: timeout, connectTimeout: connectTimeout, metadata: metadata
        )
        do {
            return try Response(serializedBytes: answer)
        } catch {
            throw RPCError(.internal, "\(self.configuration.targetName) answered \(method.fullName) with bytes that are not a valid \(Response.protoMessageName): \(DecodingFailure.reason(error))")
        }
    }

    /// Calls a method by name with a serialized request; for tools that do
    /// not know the types at compile time.
    public func call(
        method: String,
        payload: Data,
        timeout: Duration = .seconds(10),
        connectTimeout: Duration? = nil,
        metadata: Metadata = Metadata()
    ) async throws -> Data {
        let deadline = ContinuousClock.now + timeout
        var metadata = metadata
        if metadata[Metadata.requestID] == nil { metadata[Metadata.requestID] = RequestID.make() }
        var resends = 0
        while true {
            let connection = try await self.connection(before: min(deadline, ContinuousClock.now + (connectTimeout ?? timeout)))
            var request = Support_Rpc_V1_Request()
            // Ids only grow (none is reused while in flight) and skip 0,
            // which rpc.proto reserves, should the counter ever wrap.
            request.callID = self.state.withLock { state in
                defer { state.nextCallID = state.nextCallID == .max ? 1 : state.nextCallID + 1 }
                return state.nextCallID
            }
            request.method = method
            let remaining = deadline - .now
            request.timeoutMs = UInt32(clamping: max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            request.metadata = metadata.wire
            request.payload = payload

            let response: Support_Rpc_V1_Response
            do {
                response = try await self.send(request, on: connection, deadline: deadline)
            } catch let unread as NotProcessed {
                // The server closed the connection before reading this call
                // (GoAway's last_call_id), so sending it again cannot repeat
                // it. Twice at most: a server that turns every connection
                // away (too many open) must not be redialled in a loop.
                resends += 1
                guard resends <= Self.maximumResends, ContinuousClock.now < deadline else { throw unread.reason }
                self.logger.debug("call not processed before the connection closed; sending it again", metadata: ["reason": "\(unread.reason)"])
                continue
            }
            guard response.status.code == 0 else { throw RPCError(status: response.status) }
            return response.payload
        }
    }

    /// Hands the call to the connection's event loop in one hop; the
    /// handler there arms the deadline, writes, and resumes the caller with
    /// the answer (issue 9: a timer scheduled, a write, a callback
    /// registered and a timer cancelled from off the loop were four hops).
    private func send(
        _ request: Support_Rpc_V1_Request,
        on connection: Connection,
        deadline: ContinuousClock.Instant
    ) async throws -> Support_Rpc_V1_Response {
        let callID = request.callID
        let remaining = deadline - .now
        let expiry = NIODeadline.now() + .nanoseconds(remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Support_Rpc_V1_Response, any Error>) in
                let call = OutboundCall(request: request, deadline: expiry, continuation: continuation)
                if connection.channel.eventLoop.inEventLoop {
                    connection.handler.value.send(call)
                } else {
                    connection.channel.eventLoop.execute {
                        connection.handler.value.send(call)
                    }
                }
            }
        } onCancel: {
            self.abandon(callID, on: connection, error: RPCError(.cancelled, "the call was cancelled"))
        }
    }

    /// Fails the call locally and tells the server to stop working on it.
    private func abandon(_ callID: UInt64, on connection: Connection, error: RPCError) {
        connection.channel.eventLoop.execute {
            connection.handler.value.abandon(callID: callID, error: error)
        }
    }

    /// A client nobody holds any more closes its connection rather than
    /// leaving it open on the server until the idle timeout.
    deinit {
        if case .connected(let connection) = self.state.withLock({ $0.connection }) {
            connection.channel.close(promise: nil)
        }
    }

    /// Closes the connection; later calls reconnect.
    public func close() async {
        let channel: (any Channel)? = self.state.withLock { state in
            defer { state.connection = .idle }
            if case .connected(let connection) = state.connection { return connection.channel }
            return nil
        }
        try? await channel?.close()
    }

    // MARK: Connecting

    private func connection(before deadline: ContinuousClock.Instant) async throws -> Connection {
        var lastError: (any Error)?
        while true {
            enum Step { case use(Connection), await(EventLoopFuture<Connection>), wait(ContinuousClock.Instant), connect(EventLoopPromise<Connection>) }
            let step: Step = self.state.withLock { state in
                switch state.connection {
                case .connected(let connection) where connection.channel.isActive:
                    return .use(connection)
                case .connecting(let future):
                    return .await(future)
                case .idle, .connected, .closed:
                    if let notBefore = state.notBefore, notBefore > .now { return .wait(notBefore) }
                    // Claimed under the lock: callers arriving together share
                    // this attempt instead of each opening a connection.
                    let promise = self.eventLoop.makePromise(of: Connection.self)
                    state.connection = .connecting(promise.futureResult)
                    return .connect(promise)
                }
            }
            switch step {
            case .use(let connection):
                return connection
            case .await(let future):
                do {
                    return try await future.get()
                } catch {
                    lastError = error
                }
            case .wait(let until):
                guard until < deadline else { throw self.unreachable(lastError) }
                try await Task.sleep(until: until)
            case .connect(let promise):
                self.startConnecting(completing: promise)
                do {
                    return try await promise.futureResult.get()
                } catch {
                    lastError = error
                }
            }
            if ContinuousClock.now >= deadline { throw self.unreachable(lastError) }
        }
    }

    private func unreachable(_ error: (any Error)?) -> RPCError {
        RPCError(
            .unavailable,
            "\(self.configuration.targetName) cannot be reached at \(self.configuration.socketPath)\(error.flatMap(SocketFailure.reason).map { " (\($0))" } ?? ""); is it running?"
        )
    }

    private func startConnecting(completing promise: EventLoopPromise<Connection>) {
        let target = self.configuration.targetName
        let maximumFrameSize = self.configuration.maximumFrameSize
        let future = ClientBootstrap(group: self.eventLoop)
            .connectTimeout(.seconds(1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maximumFrameSize: maximumFrameSize))
                    )
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
                    try channel.pipeline.syncOperations.addHandler(ClientConnectionHandler(target: target))
                }
            }
            .connect(unixDomainSocketPath: self.configuration.socketPath)
            .flatMapThrowing { channel in
                // On the channel's loop: the pipeline may be read directly.
                Connection(
                    channel: channel,
                    handler: NIOLoopBound(try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self), eventLoop: channel.eventLoop)
                )
            }
        future.whenComplete { result in
            self.state.withLock { state in
                switch result {
                case .success(let connection):
                    state.connection = .connected(connection)
                    state.consecutiveFailures = 0
                    state.notBefore = nil
                case .failure:
                    state.connection = .idle
                    state.consecutiveFailures += 1
                    state.notBefore = .now + self.backoff(afterFailures: state.consecutiveFailures)
                }
            }
        }
        future.cascade(to: promise)
    }

    /// Full jitter: a random delay up to the doubled backoff, so clients of a
    /// restarting service do not reconnect in lockstep.
    private func backoff(afterFailures failures: Int) -> Duration {
        let initial = self.configuration.initialBackoff
        let ceiling = min(self.configuration.maximumBackoff, initial * (1 << min(failures - 1, 16)))
        return ceiling * Double.random(in: 0.5...1.0)
    }
}
