import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SupportProto
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Serves an ``RPCRouter``'s methods on a Unix domain socket.
///
/// Each connection carries many calls at once, told apart by call id; each
/// call runs in its own task and its answer is written when it is ready, so
/// answers may overtake each other. A call's task prefers its connection's
/// event loop as executor, so a handler that does not leave it (Health, a
/// read answered from memory) costs no thread hop at all (issue 9). Every server also answers
/// `support.health.v1.Health` and `support.reflection.v1.Reflection`.
///
/// On graceful shutdown (SIGTERM through a `ServiceGroup`, or
/// ``requestShutdown()``) the server drains: Health says NOT_SERVING, new
/// calls get `UNAVAILABLE`, calls in flight finish, then the socket closes and
/// its file is removed.
public final class RPCServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// The service's name in Health and logs ("intake").
        public var serviceName: String
        public var socketPath: String
        /// Frames longer than this are refused before they are buffered.
        public var maximumFrameSize: Int = FrameLimits.defaultMaximum
        /// The socket file's mode, set through the umask at bind time.
        public var socketMode: mode_t = 0o660
        /// Connections open at once; one more gets GoAway RESOURCE_EXHAUSTED.
        /// The last sixteenth are kept for the service's own user (the other
        /// services' relays), see ``ConnectionQuota``.
        public var maximumConnections = 512
        /// Connections one uid (other than the service's own) may hold.
        public var maximumConnectionsPerPeer = 64
        /// Calls in flight on one connection; one more is RESOURCE_EXHAUSTED.
        public var maximumCallsPerConnection = 1024
        /// A connection with nothing in flight and nothing sent this long is closed.
        public var idleTimeout: Duration = .seconds(300)
        /// A frame begun must be complete within this.
        public var partialFrameTimeout: Duration = .seconds(30)
        /// How long a drain waits for calls in flight before closing anyway.
        public var drainTimeout: Duration = .seconds(30)
        /// Why the service cannot serve although it is not draining (its
        /// storage), or nil: Health says NOT_SERVING with it meanwhile.
        public var notServingReason: @Sendable () -> String? = { nil }
        /// What Health/Status reports beyond what the server knows itself.
        public var status: @Sendable () async -> Support_Health_V1_StatusResponse = { .init() }
        /// Called once the socket accepts connections.
        public var onListening: @Sendable () -> Void = {}
        /// Called when a drain begins.
        public var onDraining: @Sendable () -> Void = {}
        /// A listening socket already bound by someone else (systemd's socket
        /// activation): served instead of binding `socketPath`, and left in
        /// place on exit because its owner keeps it across restarts.
        public var listeningSocket: Int32?
        /// Who may call what by peer credentials (access.json); nil lets
        /// every peer that can open the socket call everything. A call made
        /// for a customer contact is limited to customer methods either way.
        public var accessPolicy: AccessPolicy?
        /// Where call counts and latencies go; nil records nothing.
        public var metrics: RPCMetrics?
        /// The status for an error a handler threw that is neither an
        /// ``RPCError`` nor ``RPCErrorConvertible`` (ServiceKit maps storage
        /// failures such as a full disk here); nil keeps `INTERNAL`.
        public var errorStatus: @Sendable (any Error) -> RPCError? = { _ in nil }

        public init(serviceName: String, socketPath: String) {
            self.serviceName = serviceName
            self.socketPath = socketPath
        }
    }

    let configuration: Configuration
    let router: RPCRouter
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    let state = LockedState()
    /// The user this process runs as; the access policy trusts it.
    let serviceUID = getuid()
    /// Connections counted by peer, once the kernel said who it is.
    let quota: Mutex<ConnectionQuota>

    struct State {
        var draining = false
        var shutdownWaiter: CheckedContinuation<Void, Never>?
        var shutdownRequested = false
        var callsInFlight = 0
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
        /// Set once the drain closed every connection: late ones close at once.
        var connectionsClosed = false
    }

    /// The server's mutable state behind one lock, in a class so that the
    /// Health handlers built in `init` can share it.
    final class LockedState: Sendable {
        private let mutex = Mutex(State())
        func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
            try self.mutex.withLock { try body(&$0) }
        }
    }

    public init(
        configuration: Configuration,
        router: RPCRouter,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        var router = router
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.quota = Mutex(ConnectionQuota(
            maximum: configuration.maximumConnections, maximumPerPeer: configuration.maximumConnectionsPerPeer, serviceUID: getuid()
        ))
        // Health and Reflection are part of the runtime, not of any one
        // service's domain. Reflection last: it lists what is registered.
        router.register(HealthService(configuration: configuration, state: self.state))
        router.register(ReflectionService(serviceName: configuration.serviceName))
        self.router = router
    }

    /// True until a drain begins.
    public var isServing: Bool { !self.state.withLock { $0.draining } }

    /// Binds the socket and serves until shut down or cancelled.
    public func run() async throws {
        let listener = try await self.bind()
        self.logger.info(
            "serving",
            metadata: ["socket": "\(self.configuration.socketPath)", "methods": "\(self.router.methods.count)"]
        )
        self.configuration.onListening()
        defer { if self.configuration.listeningSocket == nil { self.removeSocketFile() } }

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    await self.waitForShutdownRequest()
                    await self.drain()
                    listener.channel.close(promise: nil)
                }
                // Each connection serves itself on its event loop
                // (ServerConnectionHandler); accepting is all that is left.
                try await listener.executeThenClose { connections in
                    for try await _ in connections {}
                }
            }
        } onGracefulShutdown: {
            self.requestShutdown()
        }
        self.logger.info("stopped", metadata: ["socket": "\(self.configuration.socketPath)"])
    }

    /// Begins a graceful drain; ``run()`` returns when it is done.
    public func requestShutdown() {
        let (waiter, first) = self.state.withLock { state -> (CheckedContinuation<Void, Never>?, Bool) in
            let first = !state.draining
            state.draining = true
            state.shutdownRequested = true
            defer { state.shutdownWaiter = nil }
            return (state.shutdownWaiter, first)
        }
        if first { self.configuration.onDraining() }
        waiter?.resume()
    }

    private func waitForShutdownRequest() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let requested = self.state.withLock { state in
                    if state.shutdownRequested || Task.isCancelled { return true }
                    state.shutdownWaiter = continuation
                    return false
                }
                if requested { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { state in
                state.shutdownRequested = true
                defer { state.shutdownWaiter = nil }
                return state.shutdownWaiter
            }
            waiter?.resume()
        }
    }

    private func drain() async {
        let inFlight = self.state.withLock { $0.callsInFlight }
        self.logger.info("draining", metadata: ["calls.in_flight": "\(inFlight)"])
        let drained: Bool = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.waitUntilIdle()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: self.configuration.drainTimeout)
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        if !drained {
            self.logger.warning("drain timed out; closing calls still in flight", metadata: ["timeout": "\(self.configuration.drainTimeout)"])
        }
        let open = self.state.withLock { state in
            state.connectionsClosed = true
            return Array(state.connections.values)
        }
        for channel in open { try? await channel.close() }
    }

    private func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            let idle = self.state.withLock { state in
                if state.callsInFlight == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    // MARK: Calls in flight

    /// Counts a new call in, unless the server drains and it is not Health.
    func admit(method: String) -> Bool {
        self.state.withLock { state in
            if state.draining && !method.hasPrefix("/support.health.v1.Health/") { return false }
            state.callsInFlight += 1
            return true
        }
    }

    func callFinished() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.callsInFlight -= 1
            guard state.callsInFlight == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Registers a connection, so a drain can close it. One that arrives
    /// after the drain closed the others is closed at once. (Whether it may
    /// stay is decided once its peer is known: ``admit(peer:)``.)
    func track(_ channel: any Channel) {
        let closed = self.state.withLock { state -> Bool in
            if state.connectionsClosed { return true }
            state.connections[ObjectIdentifier(channel)] = channel
            return false
        }
        if closed { channel.close(promise: nil) }
    }

    /// Counts a connection from `peer` in (``ConnectionQuota``), or says why
    /// it is refused.
    func admit(peer: PeerCredentials?) -> String? {
        self.quota.withLock { $0.admit(uid: peer?.uid) }
    }

    func release(peer: PeerCredentials?) {
        self.quota.withLock { $0.release(uid: peer?.uid) }
    }

    func untrack(_ channel: any Channel) {
        _ = self.state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}
