import Logging
import SupportRPC
import Synchronization

/// An ``RPCServer`` serving in the background of a test on a temporary
/// socket.
public final class RunningServer: Sendable {
    public let server: RPCServer
    public let socketPath: String
    private let task: Task<Void, any Error>

    /// Starts `router` on `socketPath` and returns once it accepts connections.
    public static func start(
        router: RPCRouter,
        socketPath: String,
        logger: Logger = LogRecorder().logger(),
        configure: (inout RPCServer.Configuration) -> Void = { _ in }
    ) async throws -> RunningServer {
        var configuration = RPCServer.Configuration(serviceName: "test", socketPath: socketPath)
        configure(&configuration)
        let (events, continuation) = AsyncStream<Result<Void, any Error>>.makeStream()
        configuration.onListening = { continuation.yield(.success(())) }
        let server = RPCServer(configuration: configuration, router: router, logger: logger)
        return try await RunningServer(adopting: server, socketPath: socketPath, events: events, continuation: continuation)
    }

    /// Runs an already built server (its own onListening is not called).
    public convenience init(adopting server: RPCServer, socketPath: String) async throws {
        let (events, continuation) = AsyncStream<Result<Void, any Error>>.makeStream()
        try await self.init(adopting: server, socketPath: socketPath, events: events, continuation: continuation, waitForSocket: true)
    }

    private convenience init(
        adopting server: RPCServer, socketPath: String,
        events: AsyncStream<Result<Void, any Error>>, continuation: AsyncStream<Result<Void, any Error>>.Continuation,
        waitForSocket: Bool = false
    ) async throws {
        let task = Task {
            do {
                try await server.run()
            } catch {
                continuation.yield(.failure(error))
                throw error
            }
        }
        if waitForSocket {
            // The server was configured elsewhere: poll Health until it answers.
            let probe = RPCClient(socketPath: socketPath)
            _ = try await probe.call(HealthRPC.check, .init(), timeout: .seconds(60))
            await probe.close()
        } else {
            // Wait for the socket, or for run() to fail.
            for await event in events {
                try event.get()
                break
            }
        }
        continuation.finish()
        self.init(server: server, socketPath: socketPath, task: task)
    }

    private init(server: RPCServer, socketPath: String, task: Task<Void, any Error>) {
        self.server = server
        self.socketPath = socketPath
        self.task = task
    }

    /// Drains and waits for ``RPCServer/run()`` to return.
    public func stop() async throws {
        self.server.requestShutdown()
        try await self.task.value
    }

    /// Waits for ``RPCServer/run()`` to return after a drain was requested.
    public func finished() async throws {
        try await self.task.value
    }
}
