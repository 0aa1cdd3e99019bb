import Foundation
import SupportProto
import SupportRPC
import SwiftProtobuf
import Testing
import TestSupport

/// The wire refuses what is not a frame, closes that connection, and keeps
/// serving everyone else.
@Suite("Framing")
struct FramingTests {
    struct BadInput: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let halfClose: Bool
        /// The GoAway code the server answers with, or nil for a plain close.
        let code: RPCError.Code?
        var testDescription: String { self.name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "length 0xFFFFFFFF", bytes: [0xFF, 0xFF, 0xFF, 0xFF], halfClose: false, code: .resourceExhausted),
        BadInput(name: "length one above the maximum", bytes: withUnsafeBytes(of: UInt32(65_537).bigEndian, Array.init), halfClose: false, code: .resourceExhausted),
        BadInput(name: "length zero", bytes: [0, 0, 0, 0], halfClose: false, code: .invalidArgument),
        BadInput(name: "valid length, undecodable Frame", bytes: [0, 0, 0, 6, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], halfClose: false, code: .invalidArgument),
        BadInput(name: "truncated body then EOF", bytes: [0, 0, 0, 100, 1, 2, 3], halfClose: true, code: nil),
        BadInput(name: "random garbage", bytes: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), halfClose: false, code: .resourceExhausted),
    ]

    @Test("Bad bytes are refused, the connection closes, and Health still answers on a new one", arguments: badInputs)
    func refusesBadInput(_ input: BadInput) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let recorder = LogRecorder()
        let running = try await RunningServer.start(
            router: RPCRouter(), socketPath: directory.file("s.sock"), logger: recorder.logger()
        ) { $0.maximumFrameSize = 65_536 }

        let socket = try RawSocket(path: running.socketPath)
        socket.send(input.bytes)
        if input.halfClose { socket.shutdownWrite() }
        let (bytes, closed) = await socket.readUntilClosed()
        #expect(closed, "the server closes a connection that broke the protocol")

        if let code = input.code {
            let frame = try Self.onlyFrame(in: bytes)
            guard case .goAway(let goAway) = frame.kind else {
                Issue.record("expected a GoAway, got \(frame)")
                return
            }
            #expect(goAway.status.code == code.rawValue)
            #expect(!goAway.status.message.isEmpty)
        } else {
            #expect(bytes.isEmpty)
        }
        let logged = { recorder.all.contains { $0.level == .warning && $0.message.contains("broke the wire protocol") } }
        // An operator can read why the connection was closed.
        try await eventually("the server logged why it closed the connection", logged)

        let client = RPCClient(socketPath: running.socketPath)
        let health = try await client.call(HealthRPC.check, .init(), timeout: .seconds(5))
        #expect(health.status == .serving)
        try await running.stop()
    }

    @Test("The length is refused from the header alone, before any body arrives")
    func refusesBeforeBuffering() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: RPCRouter(), socketPath: directory.file("s.sock"))
        let socket = try RawSocket(path: running.socketPath)
        // Only the header: the server must not wait for 16 MiB to arrive.
        socket.sendFrame(length: 16 * 1024 * 1024, body: [])
        let (bytes, closed) = await socket.readUntilClosed()
        #expect(closed)
        let frame = try Self.onlyFrame(in: bytes)
        #expect(frame.goAway.status.code == RPCError.Code.resourceExhausted.rawValue)
        #expect(frame.goAway.status.message.contains("16777216"))
        try await running.stop()
    }

    static func onlyFrame(in bytes: [UInt8]) throws -> Support_Rpc_V1_Frame {
        try #require(bytes.count >= 4)
        let length = Int(UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3]))
        try #require(bytes.count == 4 + length)
        return try Support_Rpc_V1_Frame(serializedBytes: Array(bytes[4...]))
    }
}
