import Foundation
import Synchronization
import SupportProto
import SupportRPC
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// GoAway's `last_call_id`: a call the server closed the connection without
/// reading goes again on a new connection; one it read does not (the caller
/// alone knows whether repeating it is safe).
@Suite("GoAway and calls not processed")
struct GoAwayRetryTests {
    @Test("A call above the GoAway's last_call_id is sent again on a new connection and answered there")
    func unreadCallIsRetried() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("s.sock")
        // The idle-close race, played on purpose: the server says goodbye
        // after reading nothing it will answer.
        let fake = try OneShotServer(path: path) { request in
            goAway(.unavailable, "closing a connection idle for 300 ms", lastCallID: request.callID - 1)
        }
        let client = RPCClient(socketPath: path)
        let call = Task { try await client.call(EchoRPC.echo, ping(3), timeout: .seconds(20)) }
        let firstCallID = try #require(try await fake.finished())
        let running = try await RunningServer.start(router: echoRouter(), socketPath: path)
        #expect(try await call.value.nonce == 3)
        #expect(firstCallID >= 1)
        try await running.stop()
    }

    @Test("A call at or below the GoAway's last_call_id fails UNAVAILABLE with the server's reason and is not sent again")
    func readCallIsNotRetried() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("s.sock")
        let fake = try OneShotServer(path: path) { request in
            goAway(.unavailable, "shutting down", lastCallID: request.callID)
        }
        let client = RPCClient(socketPath: path)
        let failure = await #expect(throws: RPCError.self) {
            try await client.call(EchoRPC.echo, ping(4), timeout: .seconds(30))
        }
        #expect(failure?.code == .unavailable)
        #expect(failure?.message.contains("shutting down") == true)
        _ = try await fake.finished()
    }
}

/// The client keeps its calls' deadlines itself (one sweep timer per
/// connection): a server that reads nothing and answers nothing still lets
/// each call fail at its own deadline.
@Suite("Client deadlines")
struct ClientDeadlineTests {
    @Test("Against a server that never answers, each call fails DEADLINE_EXCEEDED at its own deadline, shorter ones first")
    func eachCallAtItsOwnDeadline() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("s.sock")
        // Connections wait in the backlog: nothing is read or answered.
        let listener = try listeningSocket(path: path, backlog: 8)
        defer { close(listener) }
        let client = RPCClient(socketPath: path)
        let finished = OrderRecorder()
        // Longest first, so each shorter deadline re-arms the sweep earlier.
        // Far apart, so that a loaded machine (the 20 ms pauses between the
        // calls stretching, the sweep running late) cannot bring the first
        // two deadlines together.
        let timeouts: [Duration] = [.seconds(20), .seconds(3), .milliseconds(150)]
        // Each call's own deadline, from when it was made.
        let results = try await withThrowingTaskGroup(of: (Int, RPCError?, deadline: ContinuousClock.Instant, failedAt: ContinuousClock.Instant).self) { group in
            for (index, timeout) in timeouts.enumerated() {
                group.addTask {
                    let deadline = ContinuousClock.now + timeout
                    do {
                        _ = try await client.call(EchoRPC.echo, ping(UInt64(index)), timeout: timeout)
                        return (index, nil, deadline, .now)
                    } catch let error as RPCError {
                        finished.record(UInt64(index))
                        return (index, error, deadline, .now)
                    }
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            var results: [Int: (deadline: ContinuousClock.Instant, failedAt: ContinuousClock.Instant)] = [:]
            for _ in 0..<2 {
                let (index, error, deadline, failedAt) = try await group.next()!
                #expect(error?.code == .deadlineExceeded, "call \(index): \(String(describing: error))")
                results[index] = (deadline, failedAt)
            }
            group.cancelAll()
            return results
        }
        // The 150 ms and 3 s calls failed, the 20 s one did not, and neither
        // failed before its deadline.
        #expect(Set(results.keys) == [1, 2])
        for (index, result) in results {
            #expect(result.failedAt >= result.deadline, "call \(index) failed \(result.deadline - result.failedAt) before its deadline")
        }
        // The 150 ms call failed at its own deadline, not at the 3 s call's
        // (its sweep was armed earlier), so it failed first.
        if let short = results[2], let long = results[1] {
            #expect(short.failedAt < long.deadline, "the 150 ms call failed \(short.failedAt - short.deadline) after its deadline")
        }
        #expect(Array(finished.order.prefix(2)) == [2, 1], "the 150 ms call failed first, then the 3 s one")
    }
}

/// A Unix socket bound to `path` and listening; nothing accepts from it
/// until the caller does.
func listeningSocket(path: String, backlog: Int32) throws -> Int32 {
    let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        let bytes = Array(path.utf8)
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0, listen(listener, backlog) == 0 else { throw POSIXError(.EADDRINUSE) }
    return listener
}

func goAway(_ code: RPCError.Code, _ message: String, lastCallID: UInt64) -> Support_Rpc_V1_Frame {
    var goAway = Support_Rpc_V1_GoAway()
    goAway.status.code = code.rawValue
    goAway.status.message = message
    goAway.lastCallID = lastCallID
    var frame = Support_Rpc_V1_Frame()
    frame.kind = .goAway(goAway)
    return frame
}

/// Accepts one connection, reads one request, answers with one scripted
/// frame, closes, and removes its socket file.
final class OneShotServer: Sendable {
    private enum State { case running, finished(UInt64?) }
    private let state = Mutex(State.running)

    init(path: String, answer: @escaping @Sendable (Support_Rpc_V1_Request) -> Support_Rpc_V1_Frame) throws {
        let listener = try listeningSocket(path: path, backlog: 1)
        // A thread of its own: accept and recv block.
        Thread { [self] in
            var callID: UInt64?
            defer {
                close(listener)
                unlink(path)
                self.state.withLock { $0 = .finished(callID) }
            }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            guard let header = RawSocket.receive(exactly: 4, from: connection) else { return }
            let length = header.reduce(0) { $0 << 8 | Int($1) }
            guard let body = RawSocket.receive(exactly: length, from: connection),
                let frame = try? Support_Rpc_V1_Frame(serializedBytes: body),
                case .request(let request) = frame.kind
            else { return }
            let reply: [UInt8] = (try? answer(request).serializedBytes()) ?? []
            let bytes = withUnsafeBytes(of: UInt32(reply.count).bigEndian, Array.init) + reply
            _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            callID = request.callID
        }.start()
    }

    /// The call id of the request it read, once the connection is closed;
    /// the test fails if it never is.
    func finished(sourceLocation: SourceLocation = #_sourceLocation) async throws -> UInt64? {
        try await eventually("the one-shot server closed its connection", sourceLocation: sourceLocation) { () -> UInt64?? in
            if case .finished(let callID) = self.state.withLock({ $0 }) { return .some(callID) }
            return nil
        }
    }
}
