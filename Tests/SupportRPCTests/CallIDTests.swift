import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// rpc.proto's rules for `Request.call_id`: an id already in flight, or 0,
/// is a protocol error that ends the connection with GoAway, never a
/// Response a client would pair with another call.
@Suite("Call ids")
struct CallIDTests {
    static func requestBytes(callID: UInt64, method: String, nonce: UInt64) throws -> [UInt8] {
        var request = Support_Rpc_V1_Request()
        request.callID = callID
        request.method = method
        request.timeoutMs = 10_000
        request.payload = try ping(nonce).serializedBytes()
        var frame = Support_Rpc_V1_Frame()
        frame.kind = .request(request)
        let body: [UInt8] = try frame.serializedBytes()
        return withUnsafeBytes(of: UInt32(body.count).bigEndian, Array.init) + body
    }

    /// The connection's only GoAway, after checking that no Response carries `callID`.
    static func goAway(in bytes: [UInt8], noResponseTo callID: UInt64) throws -> Support_Rpc_V1_GoAway? {
        let frames = try ConnectionLimitsTests.frames(in: bytes)
        let answered = frames.compactMap { frame -> UInt64? in
            guard case .response(let response) = frame.kind else { return nil }
            return response.callID
        }
        #expect(!answered.contains(callID), "a Response carries call_id \(callID): \(frames)")
        let goAways = frames.compactMap { frame -> Support_Rpc_V1_GoAway? in
            guard case .goAway(let goAway) = frame.kind else { return nil }
            return goAway
        }
        #expect(goAways.count == 1, "expected one GoAway, got \(frames)")
        return goAways.first
    }

    @Test("A second Request with a call_id already in flight gets GoAway INVALID_ARGUMENT naming the id, no Response with it, and the first call is cancelled")
    func reusedCallID() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let probe = HangProbe()
        let running = try await RunningServer.start(router: echoRouter(probe: probe, hangFor: nil), socketPath: directory.file("s.sock"))
        let socket = try RawSocket(path: running.socketPath)
        socket.send(try Self.requestBytes(callID: 7, method: EchoRPC.hang.fullName, nonce: 1))
        try await eventually { probe.started.withLock { $0 } == 1 }
        socket.send(try Self.requestBytes(callID: 7, method: EchoRPC.echo.fullName, nonce: 2))

        let (bytes, closed) = await socket.readUntilClosed()
        #expect(closed, "the connection is closed after the GoAway")
        let goAway = try #require(try Self.goAway(in: bytes, noResponseTo: 7))
        #expect(goAway.status.code == RPCError.Code.invalidArgument.rawValue)
        #expect(goAway.status.message.contains("call_id 7 is already in flight"), "\(goAway.status.message)")
        #expect(goAway.lastCallID == 7)
        // The first call's answer could no longer be told from the second's.
        try await eventually { probe.cancelled.withLock { $0 } == 1 }
        #expect(probe.cancelled.withLock { $0 } == 1, "the call in flight is cancelled with its connection")
        #expect(try await RPCClient(socketPath: running.socketPath).call(EchoRPC.echo, ping(3)).nonce == 3, "the server keeps serving")
        try await running.stop()
    }

    @Test("A Request with call_id 0 gets GoAway INVALID_ARGUMENT saying 0 is reserved, and no Response")
    func zeroCallID() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock"))
        let socket = try RawSocket(path: running.socketPath)
        socket.send(try Self.requestBytes(callID: 0, method: EchoRPC.echo.fullName, nonce: 1))

        let (bytes, closed) = await socket.readUntilClosed()
        #expect(closed)
        let goAway = try #require(try Self.goAway(in: bytes, noResponseTo: 0))
        #expect(goAway.status.code == RPCError.Code.invalidArgument.rawValue)
        #expect(goAway.status.message.contains("call_id 0 is reserved"), "\(goAway.status.message)")
        try await running.stop()
    }

    @Test("A call_id whose Response arrived may be used again on the same connection")
    func reuseAfterAnswer() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock"))
        let socket = try RawSocket(path: running.socketPath)
        for nonce in UInt64(1)...2 {
            socket.send(try Self.requestBytes(callID: 4, method: EchoRPC.echo.fullName, nonce: nonce))
            // The next frame is the answer to this use of the id, not a GoAway.
            let frame = try Support_Rpc_V1_Frame(serializedBytes: try #require(await socket.readFrame()))
            guard case .response(let answer) = frame.kind else {
                Issue.record("expected the Response to call 4 (use \(nonce)), got \(frame)")
                return
            }
            #expect(answer.callID == 4)
            #expect(answer.status.code == 0)
            #expect(try Support_Rpc_V1_Pong(serializedBytes: answer.payload).nonce == nonce)
        }
        try await running.stop()
    }
}
