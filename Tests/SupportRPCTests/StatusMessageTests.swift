import Foundation
import SupportProto
import SupportRPC
import SwiftProtobuf
import Testing
import TestSupport

/// Status and GoAway messages are read by client authors in any language:
/// they name proto messages, fields and enums as the .proto does, never a
/// Swift type (`Support_Common_V1_Channel`) or a Swift error's case
/// (`malformedProtobuf`).
@Suite("Status messages speak proto")
struct StatusMessageTests {
    /// What no message on the wire may contain.
    static let swiftLeaks = ["Support_", "malformedProtobuf", "BinaryDecodingError", "truncated)", "invalidUTF8", "Google_Protobuf_"]

    static func expectNoSwift(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for leak in Self.swiftLeaks {
            #expect(!message.contains(leak), "\"\(message)\" contains \(leak)", sourceLocation: sourceLocation)
        }
    }

    struct BadPayload: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        /// Words the reason must contain.
        let reason: String
        var testDescription: String { self.name }
    }

    static let badPayloads: [BadPayload] = [
        // Field 1 (nonce) as a varint whose bytes stop part-way
        // (swift-protobuf calls this malformed, not truncated).
        BadPayload(name: "varint cut short", bytes: [0x08, 0xFF], reason: "a number cut short"),
        // Field 1 announced with a length that runs past the end.
        BadPayload(name: "length past the end", bytes: [0x0A, 0x05, 0x01], reason: "truncated"),
        // Wire type 7 does not exist.
        BadPayload(name: "invalid wire type", bytes: [0x0F, 0x01], reason: "not protobuf wire format"),
    ]

    @Test("A request payload that does not decode is INVALID_ARGUMENT naming the proto message and the reason in words", arguments: badPayloads)
    func undecodablePayload(_ bad: BadPayload) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock"))
        let client = RPCClient(socketPath: running.socketPath)
        let error = await #expect(throws: RPCError.self) {
            try await client.call(method: EchoRPC.echo.fullName, payload: Data(bad.bytes))
        }
        #expect(error?.code == .invalidArgument)
        let message = error?.message ?? ""
        #expect(message.contains("not a valid support.rpc.v1.Ping"), "\(message)")
        #expect(message.contains(bad.reason), "\(message)")
        Self.expectNoSwift(message)
        try await running.stop()
    }

    @Test("A frame that does not decode is answered with a GoAway naming support.rpc.v1.Frame and the reason in words")
    func undecodableFrame() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock"))
        let socket = try RawSocket(path: running.socketPath)
        socket.send([0, 0, 0, 6, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let (bytes, _) = await socket.readUntilClosed()
        guard case .goAway(let goAway) = try FramingTests.onlyFrame(in: bytes).kind else {
            Issue.record("expected GoAway")
            return
        }
        #expect(goAway.status.message.contains("not a valid support.rpc.v1.Frame: "), "\(goAway.status.message)")
        Self.expectNoSwift(goAway.status.message)
        try await running.stop()
    }

    @Test("An enum value the .proto does not define is refused naming the field and the enum's proto name")
    func undefinedEnumNamesProtoEnum() throws {
        var request = Support_Intake_V1_OpenIncidentRequest()
        request.channel = .UNRECOGNIZED(42)
        let error = try #require(RequestLimitsTests.violation(request))
        #expect(error.details.first?.field == "channel")
        #expect(error.message.contains("support.common.v1.Channel"), "\(error.message)")
        Self.expectNoSwift(error.message)

        var listing = Support_Intake_V1_ListIncidentsRequest()
        listing.states = [.new, .UNRECOGNIZED(42)]
        let repeated = try #require(RequestLimitsTests.violation(listing))
        #expect(repeated.details.first?.field == "states[1]")
        #expect(repeated.message.contains("support.common.v1.IncidentState"), "\(repeated.message)")
    }

    @Test("Every enum field of every request, refused, names its enum by the proto name", arguments: AllRPCMethods.all.map(\.fullName))
    func everyEnumRefusalNamesProto(_ method: String) throws {
        let type = try #require(AllRPCMethods.all.first { $0.fullName == method }).requestType
        for field in (ProtoFieldNames.byMessage[type.protoMessageName] ?? [:]).values {
            guard let message = try? type.init(jsonString: #"{"\#(field)": 9999}"#), let error = RequestLimitsTests.violation(message) else { continue }
            Self.expectNoSwift(error.message)
            #expect(error.message.contains("which support."), "\(method) \(field): \(error.message)")
        }
    }

    @Test("A service that cannot be reached is UNAVAILABLE with the system's reason, not NIO's Swift names")
    func unreachableInWords() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let client = RPCClient(socketPath: directory.file("nobody.sock"), targetName: "intake")
        let error = await #expect(throws: RPCError.self) {
            try await client.call(HealthRPC.check, .init(), timeout: .milliseconds(300))
        }
        #expect(error?.code == .unavailable)
        let message = error?.message ?? ""
        #expect(message.contains("intake cannot be reached"), "\(message)")
        #expect(message.contains("No such file or directory"), "\(message)")
        #expect(!message.contains("descriptor:") && !message.contains("IOError"), "\(message)")
        Self.expectNoSwift(message)
    }
}
