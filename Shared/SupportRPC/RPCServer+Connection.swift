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
    /// Binds the socket with the configured mode. A socket file left by a
    /// crashed process is replaced; one that a live process still serves is
    /// not, so two copies of a service never share a path.
    func bind() async throws -> NIOAsyncChannel<any Channel, Never> {
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
                    channel.eventLoop.makeCompletedFuture { try self.configure(channel, maximumFrameSize: maximumFrameSize, limits: limits) }
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
                    channel.eventLoop.makeCompletedFuture { try self.configure(channel, maximumFrameSize: maximumFrameSize, limits: limits) }
                }
        } catch {
            throw RuntimeError("\(self.configuration.serviceName) cannot listen on \(path): \(error)")
        }
    }

    /// The pipeline of every accepted connection: frames in, frames out,
    /// and the calls served on the connection's own event loop.
    func configure(_ channel: any Channel, maximumFrameSize: Int, limits: ConnectionGuard.Limits) throws -> any Channel {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maximumFrameSize: maximumFrameSize)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
        try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits))
        try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(server: self))
        return channel
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

    /// Whom the call is made for, once the request passed every check (the
    /// call is then counted in); or why it is answered at once with an error.
    /// Its call id is already known to be fresh: a reused or zero id is a
    /// protocol error the connection handler answers with GoAway.
    func admission(
        for request: Support_Rpc_V1_Request, metadata: Metadata, peer: PeerCredentials?
    ) -> Result<Caller, RPCError> {
        guard self.router.handler(for: request.method) != nil else {
            return .failure(RPCError(
                .unimplemented,
                "\(self.configuration.serviceName) has no method \(request.method.isEmpty ? "(empty)" : request.method); "
                    + "/support.reflection.v1.Reflection/ListMethods lists the methods it answers"
            ))
        }
        if let oversized = metadata.violation() { return .failure(oversized) }
        let caller: Caller
        do {
            caller = try Caller(metadata)
        } catch {
            return .failure(error as? RPCError ?? RPCError(.invalidArgument, "the caller.identity metadata cannot be read"))
        }
        let policy = self.configuration.accessPolicy ?? AccessPolicy.everyone
        if let denied = policy.refusal(
            method: request.method, peer: peer, caller: caller, serviceUID: self.serviceUID, serviceName: self.configuration.serviceName
        ) {
            self.logger.notice("call refused", metadata: [
                "rpc.method": "\(request.method)", "peer.uid": "\(peer?.uid ?? 0)", "peer.pid": "\(peer?.pid ?? 0)",
            ])
            return .failure(denied)
        }
        guard self.admit(method: request.method) else {
            return .failure(RPCError(
                .unavailable,
                "\(self.configuration.serviceName) is shutting down; retry once it has restarted"
            ))
        }
        return .success(caller)
    }

    func status(for error: any Error, context: ServerContext) -> RPCError {
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
