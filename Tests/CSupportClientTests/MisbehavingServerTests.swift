import CSupportClient
import Foundation
import SupportProto
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A bare Unix-socket server that reads one request frame and answers with
/// whatever bytes a test scripts — the frames no SupportDesk service sends.
/// It runs on a thread of its own, as the C client does.
final class BareServer: @unchecked Sendable {
    // Touched by the accepting thread only after init, and by stop() after
    // that thread is done: no concurrent access to justify a lock.
    private let listener: Int32
    let path: String
    private let finished = DispatchSemaphore(value: 0)

    init(directory: TemporaryDirectory, answer: @escaping @Sendable (_ request: Support_Rpc_V1_Request) -> [UInt8]) throws {
        self.path = directory.file("bare.sock")
        self.listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(self.path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(self.listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(self.listener, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        let listener = self.listener
        let finished = self.finished
        Thread {
            defer { finished.signal() }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            guard let header = RawSocket.receive(exactly: 4, from: connection) else { return }
            let length = header.reduce(0) { $0 << 8 | Int($1) }
            guard let body = RawSocket.receive(exactly: length, from: connection), let frame = try? Support_Rpc_V1_Frame(serializedBytes: body) else { return }
            var bytes = answer(frame.request)
            while !bytes.isEmpty {
                let sent = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }
                bytes.removeFirst(sent)
            }
        }.start()
    }

    /// Waits for the scripted connection to end, then closes the socket.
    func stop() {
        self.finished.wait()
        close(self.listener)
    }

    static func frame(_ frame: Support_Rpc_V1_Frame) -> [UInt8] {
        let body: [UInt8] = (try? frame.serializedBytes()) ?? []
        return withUnsafeBytes(of: UInt32(body.count).bigEndian, Array.init) + body
    }
}

@Suite("C client against a misbehaving server")
struct MisbehavingServerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let code: String
        let words: String
        let answer: @Sendable (Support_Rpc_V1_Request) -> [UInt8]
    }

    static let cases: [Case] = [
        Case(testDescription: "closes after half a frame", code: "UNAVAILABLE", words: "middle of a frame") { request in
            var response = Support_Rpc_V1_Frame()
            response.response.callID = request.callID
            response.response.payload = Data(repeating: 7, count: 64)
            return Array(BareServer.frame(response).prefix(30))
        },
        Case(testDescription: "announces a 2 GiB frame", code: "RESOURCE_EXHAUSTED", words: "2147483648 bytes") { _ in
            [0x80, 0, 0, 0, 1, 2, 3]
        },
        Case(testDescription: "announces 4 MiB + 1", code: "RESOURCE_EXHAUSTED", words: "4194305 bytes") { _ in
            [0x00, 0x40, 0x00, 0x01]
        },
        Case(testDescription: "sends bytes that are no Frame", code: "INTERNAL", words: "not a support.rpc.v1.Frame") { _ in
            [0, 0, 0, 3, 0xff, 0xff, 0xff]
        },
        Case(testDescription: "sends GoAway before answering", code: "RESOURCE_EXHAUSTED", words: "too big for me") { _ in
            var frame = Support_Rpc_V1_Frame()
            frame.goAway.status.code = 8
            frame.goAway.status.message = "too big for me"
            return BareServer.frame(frame)
        },
        Case(testDescription: "answers another call, then ours with an error", code: "PERMISSION_DENIED", words: "not yours either") { request in
            var other = Support_Rpc_V1_Frame()
            other.response.callID = request.callID + 1
            var ours = Support_Rpc_V1_Frame()
            ours.response.callID = request.callID
            ours.response.status.code = 7
            ours.response.status.message = "not yours either"
            return BareServer.frame(other) + BareServer.frame(ours)
        },
    ]

    @Test("Every broken answer ends the call with a status code and a message", arguments: cases)
    func brokenAnswer(_ script: Case) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try BareServer(directory: directory, answer: script.answer)
        let outcome = try await CClient.session(server.path) { client -> (CClient.Outcome, CClient.Outcome) in
            var result = sd_result()
            let bytes: [UInt8] = [1, 2, 3]
            _ = sd_call(client, "/support.health.v1.Health/Check", bytes, bytes.count, nil, &result)
            let first = CClient.take(&result)
            _ = sd_call(client, "/support.health.v1.Health/Check", bytes, bytes.count, nil, &result)
            return (first, CClient.take(&result))
        }.get()
        server.stop()
        #expect(outcome.0.codeName == script.code)
        #expect(outcome.0.message.contains(script.words), "\(outcome.0.message)")
        // The connection is done with: the next call says so rather than hanging.
        #expect(outcome.1.codeName != "OK")
    }
}
