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
        try await waitUntil { probe.started.withLock { $0 } == 2 }
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

    @Test("A frame that arrives in two reads is answered, and its connection is not closed when the half-frame timeout would have passed")
    func splitFrameKeepsConnection() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock")) {
            // Wide margins: a busy test machine oversleeps by hundreds of ms.
            // (RawSocket gives up on a read after 5 s.)
            $0.partialFrameTimeout = .milliseconds(1500)
            $0.idleTimeout = .seconds(4)
        }
        let socket = try RawSocket(path: running.socketPath)
        let first = try Self.requestBytes(callID: 1, nonce: 11)
        socket.send(Array(first[..<7]))
        try await Task.sleep(for: .milliseconds(50))
        socket.send(Array(first[7...]))
        // Well past the half-frame timeout, counted from the first half.
        try await Task.sleep(for: .milliseconds(2500))
        socket.send(try Self.requestBytes(callID: 2, nonce: 12))
        // The connection ends only when it has been idle for 4 s.
        let (bytes, closed) = await socket.readUntilClosed()
        #expect(closed)
        let frames = try Self.frames(in: bytes)
        let answered = frames.compactMap { frame -> UInt64? in
            guard case .response(let response) = frame.kind, response.status.code == 0 else { return nil }
            return response.callID
        }
        #expect(answered == [1, 2], "both calls answered on the one connection")
        guard case .goAway(let goAway) = frames.last?.kind else {
            Issue.record("expected the idle GoAway last, got \(frames)")
            return
        }
        #expect(goAway.status.code == RPCError.Code.unavailable.rawValue, "closed as idle, not as a stalled half-frame")
        #expect(goAway.lastCallID == 2)
        try await running.stop()
    }

    static func requestBytes(callID: UInt64, nonce: UInt64) throws -> [UInt8] {
        var request = Support_Rpc_V1_Request()
        request.callID = callID
        request.method = EchoRPC.echo.fullName
        request.timeoutMs = 10_000
        request.payload = try ping(nonce).serializedBytes()
        var frame = Support_Rpc_V1_Frame()
        frame.kind = .request(request)
        let body: [UInt8] = try frame.serializedBytes()
        return withUnsafeBytes(of: UInt32(body.count).bigEndian, Array.init) + body
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

    @Test("An idle connection is closed with GoAway UNAVAILABLE, one with a call in flight is not, and the client reconnects for its next call")
    func idle() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let probe = HangProbe()
        let running = try await RunningServer.start(router: echoRouter(probe: probe, hangFor: nil), socketPath: directory.file("s.sock")) {
            $0.idleTimeout = .milliseconds(300)
        }
        let idle = try RawSocket(path: running.socketPath)
        let (bytes, closed) = await idle.readUntilClosed()
        #expect(closed)
        let frame = try FramingTests.onlyFrame(in: bytes)
        guard case .goAway(let goAway) = frame.kind else {
            Issue.record("expected GoAway, got \(frame)")
            return
        }
        #expect(goAway.status.code == RPCError.Code.unavailable.rawValue)

        // A call that outlasts the idle timeout keeps its connection.
        let client = RPCClient(socketPath: running.socketPath)
        let long = Task { try await client.call(EchoRPC.hang, ping(7), timeout: .seconds(20)) }
        try await waitUntil { probe.started.withLock { $0 } == 1 }
        try await Task.sleep(for: .milliseconds(900))
        probe.release()
        #expect(try await long.value.nonce == 7)
        // Idle again past the timeout: the next call reconnects by itself.
        try await Task.sleep(for: .milliseconds(900))
        #expect(try await client.call(EchoRPC.echo, ping(8)).nonce == 8)
        try await running.stop()
    }
}
