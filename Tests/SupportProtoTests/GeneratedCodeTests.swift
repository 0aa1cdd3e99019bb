import Foundation
import SupportProto
import Testing

/// The committed generated code must match Proto/: a changed .proto without
/// `Proto/generate` fails here rather than on the wire.
@Suite("Generated code")
struct GeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("The committed Swift, method constants and protobuf-c code match the .proto files")
    func generatedMatchesProto() throws {
        let process = Process()
        process.executableURL = Self.root.appendingPathComponent("Proto/generate")
        process.arguments = ["--check"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(message)")
    }

    @Test("Every message type's Swift name is the one its .proto declares")
    func namesMatch() {
        #expect(Support_Rpc_V1_Frame.protoMessageName == "support.rpc.v1.Frame")
        #expect(Support_Health_V1_CheckResponse.protoMessageName == "support.health.v1.CheckResponse")
    }
}
