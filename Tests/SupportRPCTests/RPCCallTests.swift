import Foundation
import NIOPosix
import SupportProto
import SupportRPC
import Synchronization
import Testing
import TestSupport

/// A tiny service for the runtime's tests: Ping in, Pong out.
enum EchoRPC {
    /// Answers with the nonce after sleeping `nonce % 1000` microseconds.
    static let echo = RPCMethod<Support_Rpc_V1_Ping, Support_Rpc_V1_Pong>("/test.Echo/Echo")
    /// Sleeps until cancelled; records that it was.
    static let hang = RPCMethod<Support_Rpc_V1_Ping, Support_Rpc_V1_Pong>("/test.Echo/Hang")
    /// Fails with a domain error.
    static let refuse = RPCMethod<Support_Rpc_V1_Ping, Support_Rpc_V1_Pong>("/test.Echo/Refuse")
    /// Crashes with an error that is not an RPC error.
    static let crash = RPCMethod<Support_Rpc_V1_Ping, Support_Rpc_V1_Pong>("/test.Echo/Crash")
}

struct ContactLimitReached: RPCErrorConvertible {
    var rpcError: RPCError {
        RPCError(.failedPrecondition, "certificate C-1 already has 8 contacts; remove one before adding another")
    }
}

/// What the Hang handler saw.
final class HangProbe: Sendable {
    let started = Mutex(0)
    let cancelled = Mutex(0)
    let finished = Mutex(0)
    /// For a handler that hangs until the test says so (no timing guesses).
    let released = Mutex(false)
    func release() { self.released.withLock { $0 = true } }
}

/// `hangFor: nil` hangs until ``HangProbe/release()``.
func echoRouter(probe: HangProbe = HangProbe(), hangFor: Duration? = .seconds(60)) -> RPCRouter {
    var router = RPCRouter()
    router.register(EchoRPC.echo) { ping, _ in
        try await Task.sleep(for: .microseconds(Int64(ping.nonce % 1000)))
        var pong = Support_Rpc_V1_Pong()
        pong.nonce = ping.nonce
        return pong
    }
    router.register(EchoRPC.hang) { ping, _ in
        probe.started.withLock { $0 += 1 }
        do {
            if let hangFor {
                try await Task.sleep(for: hangFor)
            } else {
                while !probe.released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            }
        } catch {
            probe.cancelled.withLock { $0 += 1 }
            throw error
        }
        probe.finished.withLock { $0 += 1 }
        var pong = Support_Rpc_V1_Pong()
        pong.nonce = ping.nonce
        return pong
    }
    router.register(EchoRPC.refuse) { _, _ in throw ContactLimitReached() }
    router.register(EchoRPC.crash) { _, _ in throw CocoaError(.fileNoSuchFile) }
    return router
}

func ping(_ nonce: UInt64) -> Support_Rpc_V1_Ping {
    var ping = Support_Rpc_V1_Ping()
    ping.nonce = nonce
    return ping
}

@Suite("RPC calls")
struct RPCCallTests {
    @Test("An unknown method is UNIMPLEMENTED and names the method")
    func unknownMethod() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock"))
        let client = RPCClient(socketPath: running.socketPath)
        let error = await #expect(throws: RPCError.self) {
            try await client.call(RPCMethod<Support_Rpc_V1_Ping, Support_Rpc_V1_Pong>("/test.Echo/Nope"), ping(1))
        }
        #expect(error?.code == .unimplemented)
        #expect(error?.message.contains("/test.Echo/Nope") == true)
        try await running.stop()
    }

    @Test("A handler that answers encoded bytes has them sent as they are, and its request is still checked")
    func encodedAnswer() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // nonce 5, then nonce 7: a valid Pong (the last value wins) that
        // encoding the decoded message again would shorten to `08 07`.
        let stored = Data([0x08, 0x05, 0x08, 0x07])
        let method = RPCMethod<Support_Rpc_V1_Ping, Support_Rpc_V1_Pong>("/test.Echo/Stored")
        var router = RPCRouter()
        router.registerEncoded(method) { _, _ in Encoded(bytes: stored) }
        let running = try await RunningServer.start(router: router, socketPath: directory.file("s.sock"))
        let client = RPCClient(socketPath: running.socketPath)
        let answer = try await client.call(method: method.fullName, payload: try ping(1).serializedBytes())
        #expect(answer == stored)
        #expect(try await client.call(method, ping(1)).nonce == 7)
        // The request is decoded and checked as for any handler.
        let error = await #expect(throws: RPCError.self) {
            try await client.call(method: method.fullName, payload: Data([0x08]))
        }
        #expect(error?.code == .invalidArgument)
        try await running.stop()
    }

    @Test("A call past its deadline gets DEADLINE_EXCEEDED and the handler is cancelled")
    func deadline() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let probe = HangProbe()
        let running = try await RunningServer.start(router: echoRouter(probe: probe), socketPath: directory.file("s.sock"))
        let client = RPCClient(socketPath: running.socketPath)
        // A raw request with a 100 ms server-side deadline and a long client
        // wait shows the server's own DEADLINE_EXCEEDED.
        let started = ContinuousClock.now
        let error = await #expect(throws: RPCError.self) {
            try await client.call(EchoRPC.hang, ping(7), timeout: .milliseconds(200))
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(ContinuousClock.now - started < .seconds(5))
        try await eventually("the handler was cancelled") { probe.cancelled.withLock { $0 } == 1 }
        #expect(probe.finished.withLock { $0 } == 0)
        try await running.stop()
    }

    @Test("Cancelling the calling task sends Cancel and stops the handler")
    func cancel() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let probe = HangProbe()
        let running = try await RunningServer.start(router: echoRouter(probe: probe), socketPath: directory.file("s.sock"))
        let client = RPCClient(socketPath: running.socketPath)
        let call = Task { try await client.call(EchoRPC.hang, ping(1), timeout: .seconds(60)) }
        try await eventually("the handler started") { probe.started.withLock { $0 } == 1 }
        call.cancel()
        let result = await call.result
        #expect(throws: RPCError(.cancelled, "the call was cancelled")) { try result.get() }
        try await eventually("the handler was cancelled") { probe.cancelled.withLock { $0 } == 1 }
        // The connection is still good for the next call.
        #expect(try await client.call(EchoRPC.echo, ping(5)).nonce == 5)
        try await running.stop()
    }

    @Test("1,000 concurrent calls on one connection are all answered, each with its own result")
    func thousandConcurrentCalls() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recorder = OrderRecorder()
        var router = RPCRouter()
        router.register(EchoRPC.echo) { ping, _ in
            // Later calls sleep less, so answers overtake each other.
            try await Task.sleep(for: .microseconds(Int64(1000 - ping.nonce % 1000) * 20))
            recorder.record(ping.nonce)
            var pong = Support_Rpc_V1_Pong()
            pong.nonce = ping.nonce * 3
            return pong
        }
        let running = try await RunningServer.start(router: router, socketPath: directory.file("s.sock"))
        let client = RPCClient(socketPath: running.socketPath)
        let answers = try await withThrowingTaskGroup(of: (UInt64, UInt64).self) { group in
            for nonce in UInt64(1)...1000 {
                group.addTask { (nonce, try await client.call(EchoRPC.echo, ping(nonce), timeout: .seconds(60)).nonce) }
            }
            var answers: [UInt64: UInt64] = [:]
            for try await (nonce, answer) in group { answers[nonce] = answer }
            return answers
        }
        #expect(answers.count == 1000)
        #expect(answers.allSatisfy { $0.value == $0.key * 3 })
        let order = recorder.order
        #expect(order.count == 1000)
        #expect(order != order.sorted(), "handlers ran concurrently and finished out of order")
        try await running.stop()
    }

    @Test("A caller that prefers the client's executor runs on its event loop, and its calls (and a deadline) still work")
    func callerOnTheConnectionsLoop() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock"))
        let client = RPCClient(socketPath: running.socketPath)
        let (answers, onLoop) = try await withTaskExecutorPreference(client.executor) {
            var answers: [UInt64] = []
            var onLoop = true
            for nonce in UInt64(1)...50 {
                answers.append(try await client.call(EchoRPC.echo, ping(nonce)).nonce)
                // Resumed on the loop, not a thread of the global pool.
                onLoop = onLoop && MultiThreadedEventLoopGroup.currentEventLoop != nil
            }
            return (answers, onLoop)
        }
        #expect(answers == Array(1...50))
        #expect(onLoop)
        // Calls made together from the loop share its flushes and all return.
        let together = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for nonce in UInt64(1)...100 {
                group.addTask(executorPreference: client.executor) { try await client.call(EchoRPC.echo, ping(nonce)).nonce }
            }
            return try await group.reduce(into: Set<UInt64>()) { $0.insert($1) }
        }
        #expect(together == Set(1...100))
        let error = await #expect(throws: RPCError.self) {
            try await withTaskExecutorPreference(client.executor) {
                _ = try await client.call(EchoRPC.hang, ping(1), timeout: .milliseconds(200))
            }
        }
        #expect(error?.code == .deadlineExceeded)
        try await running.stop()
    }

    @Test("A domain error arrives with its code and message; an unexpected one as INTERNAL with the request id")
    func domainErrors() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let logs = LogRecorder()
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock"), logger: logs.logger())
        let client = RPCClient(socketPath: running.socketPath)
        await #expect(throws: ContactLimitReached().rpcError) {
            try await client.call(EchoRPC.refuse, ping(1))
        }
        let crash = await #expect(throws: RPCError.self) {
            try await client.call(EchoRPC.crash, ping(1), metadata: [Metadata.requestID: "req-42"])
        }
        #expect(crash?.code == .internal)
        #expect(crash?.message.contains("req-42") == true)
        #expect(logs.all.contains { $0.level == .error && $0.metadata["request.id"] == "req-42" })
        try await running.stop()
    }

    @Test("The client reconnects after the server is stopped and started again")
    func reconnect() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("s.sock")
        let first = try await RunningServer.start(router: echoRouter(), socketPath: path)
        let client = RPCClient(socketPath: path)
        #expect(try await client.call(EchoRPC.echo, ping(1)).nonce == 1)
        try await first.stop()

        // It tries to reach the service for 300 ms, then gives up with
        // UNAVAILABLE. The call's own deadline is longer: a 300 ms deadline
        // made the answer a race between the dead connection's end and the
        // deadline when a loaded 2-CPU run of the whole suite starved the
        // event loop (DEADLINE_EXCEEDED, once in CI).
        let down = await #expect(throws: RPCError.self) {
            try await client.call(EchoRPC.echo, ping(2), timeout: .seconds(5), connectTimeout: .milliseconds(300))
        }
        #expect(down?.code == .unavailable)

        // Start the server again while a call is already waiting for it:
        // the call has begun, and the service is still unreachable after it
        // began (a second call, made later, gives up). The client shares one
        // connection state between its calls, so the waiting call found no
        // server either and is retrying.
        let began = Mutex(false)
        let waiting = Task {
            began.withLock { $0 = true }
            return try await client.call(EchoRPC.echo, ping(3), timeout: .seconds(20))
        }
        try await eventually("the waiting call began") { began.withLock { $0 } }
        let stillDown = await #expect(throws: RPCError.self) {
            try await client.call(EchoRPC.echo, ping(4), timeout: .seconds(5), connectTimeout: .milliseconds(300))
        }
        #expect(stillDown?.code == .unavailable)
        let second = try await RunningServer.start(router: echoRouter(), socketPath: path)
        #expect(try await waiting.value.nonce == 3)
        try await second.stop()
    }

    @Test("Drain: a call in flight completes while a new call gets UNAVAILABLE and Health says NOT_SERVING")
    func drain() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let probe = HangProbe()
        let running = try await RunningServer.start(
            router: echoRouter(probe: probe, hangFor: nil), socketPath: directory.file("s.sock")
        )
        let client = RPCClient(socketPath: running.socketPath)
        let inFlight = Task { try await client.call(EchoRPC.hang, ping(9), timeout: .seconds(10)) }
        try await eventually("the call is in flight") { probe.started.withLock { $0 } == 1 }

        running.server.requestShutdown()
        let refused = await #expect(throws: RPCError.self) {
            try await client.call(EchoRPC.echo, ping(1))
        }
        #expect(refused?.code == .unavailable)
        #expect(try await client.call(HealthRPC.check, .init()).status == .notServing)
        let status = try await client.call(HealthRPC.status, .init())
        #expect(status.status == .notServing && status.notServingReason == "draining", "health.proto: Status says why")

        probe.release()
        #expect(try await inFlight.value.nonce == 9)
        try await running.finished()
        #expect(!FileManager.default.fileExists(atPath: running.socketPath), "the socket file is removed on exit")
    }

    @Test("Request ids reach the handler's log lines; one is generated when absent")
    func requestIDs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let seen = Mutex<[String]>([])
        var router = RPCRouter()
        router.register(EchoRPC.echo) { ping, context in
            seen.withLock { $0.append(context.requestID) }
            var pong = Support_Rpc_V1_Pong()
            pong.nonce = ping.nonce
            return pong
        }
        let running = try await RunningServer.start(router: router, socketPath: directory.file("s.sock"))
        let client = RPCClient(socketPath: running.socketPath)
        _ = try await client.call(EchoRPC.echo, ping(1), metadata: [Metadata.requestID: "abc"])
        _ = try await client.call(EchoRPC.echo, ping(2))
        let ids = seen.withLock { $0 }
        #expect(ids.first == "abc")
        #expect(ids.count == 2 && ids[1].count == 16)
        try await running.stop()
    }
}

final class OrderRecorder: Sendable {
    private let values = Mutex<[UInt64]>([])
    func record(_ value: UInt64) { self.values.withLock { $0.append(value) } }
    var order: [UInt64] { self.values.withLock { $0 } }
}
