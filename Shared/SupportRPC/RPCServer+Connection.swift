import Foundation
import Logging
import NIOCore
import NIOPosix
import SupportProto
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension RPCServer {
    typealias Connection = NIOAsyncChannel<Frame, Frame>

    /// Binds the socket with the configured mode. A socket file left by a
    /// crashed process is replaced; one that a live process still serves is
    /// not, so two copies of a service never share a path.
    func bind() async throws -> NIOAsyncChannel<Connection, Never> {
        let path = self.configuration.socketPath
        let maximumFrameSize = self.configuration.maximumFrameSize
        let limits = ConnectionGuard.Limits(
            maximumCalls: self.configuration.maximumCallsPerConnection,
            partialFrameTimeout: self.configuration.partialFrameTimeout,
            idleTimeout: self.configuration.idleTimeout
        )
        if let socket = self.configuration.listeningSocket {
            do {
                return try await ServerBootstrap(group: self.eventLoopGroup).bind(socket) { channel in
                    channel.eventLoop.makeCompletedFuture { try Self.configure(channel, maximumFrameSize: maximumFrameSize, limits: limits) }
                }
            } catch {
                throw RuntimeError("\(self.configuration.serviceName) cannot serve the socket systemd passed (fd \(socket)): \(error)")
            }
        }
        try Self.removeStaleSocket(at: path)
        // The mode comes from the umask at bind(2) so that the socket is never,
        // even briefly, more open than configured (chmod after bind would be).
        let previousMask = umask(~self.configuration.socketMode & 0o777)
        defer { umask(previousMask) }
        do {
            return try await ServerBootstrap(group: self.eventLoopGroup)
                .serverChannelOption(.backlog, value: 256)
                .bind(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture { try Self.configure(channel, maximumFrameSize: maximumFrameSize, limits: limits) }
                }
        } catch {
            throw RuntimeError("\(self.configuration.serviceName) cannot listen on \(path): \(error)")
        }
    }

    /// The pipeline of every accepted connection: frames in, frames out.
    static func configure(_ channel: any Channel, maximumFrameSize: Int, limits: ConnectionGuard.Limits) throws -> Connection {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maximumFrameSize: maximumFrameSize)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
        try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits))
        return try Connection(wrappingChannelSynchronously: channel)
    }

    static func removeStaleSocket(at path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw RuntimeError("\(path) exists and is not a socket; remove it or choose another --socket path")
        }
        if Self.socketAnswers(at: path) {
            throw RuntimeError("another process is already serving on \(path); stop it first or choose another --socket path")
        }
        unlink(path)
    }

    /// Whether something accepts connections on the Unix socket at `path`.
    static func socketAnswers(at path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    func removeSocketFile() {
        unlink(self.configuration.socketPath)
    }

    /// Serves one connection until the peer closes it, it breaks the
    /// protocol, or the server's drain closes it.
    func serve(_ connection: Connection) async {
        let channel = connection.channel
        guard self.track(channel) else {
            let refusal = RPCError(
                .resourceExhausted,
                "\(self.configuration.serviceName) has \(self.configuration.maximumConnections) connections open, its maximum; reuse a connection (calls multiplex) or retry later"
            )
            self.logger.warning("refused a connection: too many open", metadata: ["maximum": "\(self.configuration.maximumConnections)"])
            try? await connection.executeThenClose { _, outbound in try await outbound.write(.goAway(refusal)) }
            return
        }
        let peer = await PeerCredentials.of(channel)
        self.logger.debug("connection accepted", metadata: [
            "peer.pid": "\(peer?.pid ?? 0)", "peer.uid": "\(peer?.uid ?? 0)", "peer.gid": "\(peer?.gid ?? 0)",
        ])
        self.configuration.metrics?.connectionOpened()
        defer {
            self.untrack(channel)
            self.configuration.metrics?.connectionClosed()
        }
        let calls = CallTable()
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await withThrowingDiscardingTaskGroup { group in
                    do {
                        for try await frame in inbound {
                            switch frame.kind {
                            case .request(let request):
                                if let refusal = self.refusal(for: request, calls: calls, peer: peer) {
                                    // Unknown names are one label: a caller must not grow the series.
                                    let method = refusal.code == .unimplemented ? "(unknown)" : request.method
                                    self.configuration.metrics?.recordCall(method: method, code: refusal.code, duration: .zero)
                                    try await outbound.write(.response(callID: request.callID, status: refusal))
                                    continue
                                }
                                let signal = calls.insert(request.callID)
                                let handler = self.router.handler(for: request.method)!
                                group.addTask {
                                    defer {
                                        calls.remove(request.callID)
                                        self.callFinished()
                                    }
                                    await self.execute(
                                        request, handler: handler, signal: signal, peer: peer,
                                        eventLoop: channel.eventLoop, outbound: outbound
                                    )
                                }
                            case .cancel(let cancel):
                                calls.signal(for: cancel.callID)?.fire(.cancelledByClient)
                            case .ping(let ping):
                                var pong = Support_Rpc_V1_Pong()
                                pong.nonce = ping.nonce
                                var reply = Frame()
                                reply.kind = .pong(pong)
                                try await outbound.write(reply)
                            case .goAway:
                                group.cancelAll()
                                return
                            case .response, .pong, .none:
                                self.logger.debug("ignored a frame a client does not send", metadata: ["frame": "\(frame.kind.map { "\($0)" } ?? "empty")"])
                            }
                        }
                    } catch let error as FrameError {
                        self.logger.warning(
                            "closing a connection that broke the wire protocol",
                            metadata: ["error": "\(error)"]
                        )
                        try? await outbound.write(.goAway(error.status))
                    }
                    // The peer is gone or broke the protocol: nobody waits for answers.
                    group.cancelAll()
                }
            }
        } catch {
            self.logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Why a request is answered at once with an error, if it is.
    private func refusal(for request: Support_Rpc_V1_Request, calls: CallTable, peer: PeerCredentials?) -> RPCError? {
        guard request.callID != 0 else {
            return RPCError(.invalidArgument, "call id 0 is reserved; number calls from 1")
        }
        guard self.router.handler(for: request.method) != nil else {
            return RPCError(
                .unimplemented,
                "\(self.configuration.serviceName) has no method \(request.method.isEmpty ? "(empty)" : request.method); see `supportctl call --list`"
            )
        }
        let caller: Caller
        do {
            caller = try Caller(Metadata(request.metadata))
        } catch {
            return error as? RPCError ?? RPCError(.invalidArgument, "\(error)")
        }
        let policy = self.configuration.accessPolicy ?? AccessPolicy.everyone
        if let denied = policy.refusal(
            method: request.method, peer: peer, caller: caller, serviceUID: self.serviceUID, serviceName: self.configuration.serviceName
        ) {
            self.logger.notice("call refused", metadata: [
                "rpc.method": "\(request.method)", "peer.uid": "\(peer?.uid ?? 0)", "peer.pid": "\(peer?.pid ?? 0)",
            ])
            return denied
        }
        guard !calls.contains(request.callID) else {
            return RPCError(.invalidArgument, "call id \(request.callID) is already in flight on this connection; use a new id per call")
        }
        guard self.admit(method: request.method) else {
            return RPCError(
                .unavailable,
                "\(self.configuration.serviceName) is shutting down; retry once it has restarted"
            )
        }
        return nil
    }

    private enum Outcome: Sendable {
        case answered(Data)
        case failed(any Error)
        case ended(CallSignal.Reason?)
    }

    /// Runs one call against its deadline and the client's Cancel, and
    /// writes its answer (none when the client cancelled).
    private func execute(
        _ request: Support_Rpc_V1_Request,
        handler: RPCRouter.Handler,
        signal: CallSignal,
        peer: PeerCredentials?,
        eventLoop: any EventLoop,
        outbound: NIOAsyncChannelOutboundWriter<Frame>
    ) async {
        let started = ContinuousClock.now
        let timeout = request.timeoutMs > 0 ? Duration.milliseconds(Int64(request.timeoutMs)) : handler.defaultTimeout
        let metadata = Metadata(request.metadata)
        let context = ServerContext(
            method: request.method,
            callID: request.callID,
            requestID: metadata[Metadata.requestID] ?? RequestID.make(),
            metadata: metadata,
            deadline: .now + timeout,
            logger: self.logger,
            caller: (try? Caller(metadata)) ?? .unspecified,
            peer: peer
        )
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let timer = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { signal.fire(.deadlineExceeded) }
        defer { timer.cancel() }

        await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do {
                    return .answered(try await handler.run(request.payload, context))
                } catch {
                    return .failed(error)
                }
            }
            group.addTask { .ended(await signal.wait()) }
            let first = await group.next()!
            // Answer before the group waits for the loser, so a handler that
            // ignores cancellation cannot hold back DEADLINE_EXCEEDED.
            group.cancelAll()
            let answer: Frame?
            let code: RPCError.Code
            switch first {
            case .answered(let payload):
                answer = .response(callID: request.callID, payload: payload)
                code = .ok
            case .failed(let error):
                let status = self.status(for: error, context: context)
                answer = .response(callID: request.callID, status: status)
                code = status.code
            case .ended(.deadlineExceeded):
                context.logger.info("deadline exceeded", metadata: ["timeout": "\(timeout)"])
                answer = .response(
                    callID: request.callID,
                    status: RPCError(.deadlineExceeded, "\(request.method) did not finish within its \(timeout) deadline")
                )
                code = .deadlineExceeded
            case .ended(.cancelledByClient), .ended(nil):
                answer = nil
                code = .cancelled
            }
            if let answer {
                try? await outbound.write(answer)
            }
            self.configuration.metrics?.recordCall(method: request.method, code: code, duration: ContinuousClock.now - started)
        }
    }

    private func status(for error: any Error, context: ServerContext) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as any RPCErrorConvertible:
            return error.rpcError
        case is CancellationError:
            return RPCError(.cancelled, "the call was cancelled")
        default:
            if let status = self.configuration.errorStatus(error) {
                // A failure of the server's environment (disk full, database
                // read-only): the caller gets a status it can act on, the
                // operator a line that says what to fix.
                context.logger.error("\(context.method) failed: \(status.message)", metadata: ["code": "\(status.code)", "error": "\(error)"])
                return status
            }
            context.logger.error("handler failed", metadata: ["error": "\(error)"])
            return RPCError(
                .internal,
                "\(self.configuration.serviceName) failed internally; its log has the details under request id \(context.requestID)"
            )
        }
    }
}

/// The calls in flight on one connection, by call id.
final class CallTable: Sendable {
    private let calls = Mutex<[UInt64: CallSignal]>([:])

    func insert(_ id: UInt64) -> CallSignal {
        let signal = CallSignal()
        self.calls.withLock { $0[id] = signal }
        return signal
    }

    func contains(_ id: UInt64) -> Bool { self.calls.withLock { $0[id] != nil } }
    func signal(for id: UInt64) -> CallSignal? { self.calls.withLock { $0[id] } }
    func remove(_ id: UInt64) { _ = self.calls.withLock { $0.removeValue(forKey: id) } }
}
