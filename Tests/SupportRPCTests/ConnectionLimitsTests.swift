import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// The server's per-connection limits: calls in flight, connections, a
/// half-sent frame, an idle connection.
@Suite("Connection limits")
struct ConnectionLimitsTests {
    @Test("One call more than the per-connection maximum is RESOURCE_EXHAUSTED at once; the calls in flight are unharmed")
    func callsInFlight() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let probe = HangProbe()
        let running = try await RunningServer.start(router: echoRouter(probe: probe, hangFor: nil), socketPath: directory.file("s.sock")) {
            $0.maximumCallsPerConnection = 2
        }
        let client = RPCClient(socketPath: running.socketPath)
        let first = Task { try await client.call(EchoRPC.hang, ping(1), timeout: .seconds(20)) }
        let second = Task { try await client.call(EchoRPC.hang, ping(2), timeout: .seconds(20)) }
        try await eventually { probe.started.withLock { $0 } == 2 }
        let refused = await #expect(throws: RPCError.self) { try await client.call(EchoRPC.echo, ping(3)) }
        #expect(refused?.code == .resourceExhausted)
        #expect(refused?.message.contains("2 calls in flight") == true)
        probe.release()
        #expect(try await first.value.nonce == 1)
        #expect(try await second.value.nonce == 2)
        #expect(try await client.call(EchoRPC.echo, ping(4)).nonce == 4, "answered calls free their places")
        try await running.stop()
    }

    @Test("A connection over the maximum gets GoAway RESOURCE_EXHAUSTED; closing one makes room")
    func connections() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock")) {
            $0.maximumConnections = 2
        }
        let one = RPCClient(socketPath: running.socketPath)
        let two = RPCClient(socketPath: running.socketPath)
        #expect(try await one.call(EchoRPC.echo, ping(1)).nonce == 1)
        #expect(try await two.call(EchoRPC.echo, ping(2)).nonce == 2)

        let third = try RawSocket(path: running.socketPath)
        let (bytes, closed) = await third.readUntilClosed()
        #expect(closed)
        let frame = try FramingTests.onlyFrame(in: bytes)
        guard case .goAway(let goAway) = frame.kind else {
            Issue.record("expected GoAway, got \(frame)")
            return
        }
        #expect(goAway.status.code == RPCError.Code.resourceExhausted.rawValue)
        #expect(goAway.status.message.contains("2 connections open"))
        try await running.stop()
    }

    @Test("A client that is dropped closes its connection, so it does not hold a place until the idle timeout")
    func droppedClientFreesItsPlace() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock")) {
            $0.maximumConnections = 1
        }
        for nonce in UInt64(1)...3 {
            // The server notices the close a moment later; without the close
            // the place would stay taken for the whole (300 s) idle timeout.
            var answered = false
            let deadline = ContinuousClock.now + .seconds(60)
            while !answered && ContinuousClock.now < deadline {
                let client = RPCClient(socketPath: running.socketPath)
                answered = (try? await client.call(EchoRPC.echo, ping(nonce), timeout: .seconds(30)).nonce) == nonce
                if !answered { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(answered, "connection \(nonce) never got a place")
        }
        try await running.stop()
    }

    @Test("A peer that sends half a frame and stalls is told DEADLINE_EXCEEDED and disconnected; the server keeps serving")
    func halfFrame() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock")) {
            $0.partialFrameTimeout = .milliseconds(300)
        }
        let socket = try RawSocket(path: running.socketPath)
        socket.send([0, 0, 0, 10, 1, 2])  // 10 bytes announced, 2 sent
        let (bytes, closed) = await socket.readUntilClosed()
        #expect(closed, "the stalled connection is closed")
        let frame = try FramingTests.onlyFrame(in: bytes)
        guard case .goAway(let goAway) = frame.kind else {
            Issue.record("expected GoAway, got \(frame)")
            return
        }
        #expect(goAway.status.code == RPCError.Code.deadlineExceeded.rawValue)
        #expect(try await RPCClient(socketPath: running.socketPath).call(EchoRPC.echo, ping(5)).nonce == 5)
        try await running.stop()
    }

    static func frames(in bytes: [UInt8]) throws -> [Support_Rpc_V1_Frame] {
        var frames: [Support_Rpc_V1_Frame] = []
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = Int(UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3]))
            try #require(offset + 4 + length <= bytes.count)
            frames.append(try Support_Rpc_V1_Frame(serializedBytes: Array(bytes[(offset + 4)..<(offset + 4 + length)])))
            offset += 4 + length
        }
        return frames
    }

    // When each limit closes a connection, to the nanosecond, is
    // ConnectionGuardTests' (virtual time); these check the server wires
    // the guard in and what clients see.

    @Test("After the server closes an idle connection, the client's next call reconnects by itself")
    func clientReconnectsAfterIdleClose() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // One second, not less: the reconnected call must be read before its
        // new connection counts as idle, and a loaded machine (CI, parallel
        // builds) can hold a server's event loop for a few hundred
        // milliseconds; each such close is a resend, and the client resends
        // twice at most.
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock")) {
            $0.idleTimeout = .seconds(1)
        }
        let client = RPCClient(socketPath: running.socketPath)
        #expect(try await client.call(EchoRPC.echo, ping(7)).nonce == 7)
        // A connection opened after the client's went quiet: once the server
        // has closed it as idle, it has closed the client's too.
        let later = try RawSocket(path: running.socketPath)
        let (bytes, closed) = await later.readUntilClosed()
        #expect(closed)
        guard case .goAway(let goAway) = try FramingTests.onlyFrame(in: bytes).kind else {
            Issue.record("expected the idle GoAway")
            return
        }
        #expect(goAway.status.code == RPCError.Code.unavailable.rawValue)
        #expect(try await client.call(EchoRPC.echo, ping(8)).nonce == 8)
        try await running.stop()
    }
}
