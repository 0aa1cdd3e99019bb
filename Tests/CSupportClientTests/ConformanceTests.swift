import CSupportConformance
import Foundation
import SupportProto
import SwiftProtobuf
import Testing

/// One golden vector of Proto/testdata: a canonical message as protoc
/// encoded it, and its text form.
struct Vector: Sendable, CustomTestStringConvertible {
    let stem: String
    let messageName: String
    let bytes: [UInt8]
    let text: String

    var testDescription: String { self.stem }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Proto/testdata")

    static let all: [Vector] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txtpb") }.sorted().compactMap { name in
            let stem = String(name.dropLast(".txtpb".count))
            guard let text = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8),
                  let bytes = FileManager.default.contents(atPath: directory.appendingPathComponent(stem + ".bin").path)
            else { return nil }
            let header = text.split(separator: "\n").first { $0.hasPrefix("# proto-message: ") }
            return Vector(
                stem: stem, messageName: header.map { String($0.dropFirst("# proto-message: ".count)) } ?? "",
                bytes: [UInt8](bytes), text: text
            )
        }
    }()
}

/// The wire is one contract with two implementations: swift-protobuf in the
/// services, protobuf-c in C callers. Each must read every message the other
/// writes and write it back byte for byte.
@Suite("Wire conformance: swift-protobuf and protobuf-c")
struct ConformanceTests {
    @Test("The committed vectors and registries match the .proto files (Proto/testdata/generate --check)")
    func vectorsAreFresh() async throws {
        // Seconds of protoc runs: waited for on a thread of its own, so the
        // cooperative pool stays free for the suites that run servers.
        let (status, message) = await CClient.blocking { () -> (Int32, String) in
            let process = Process()
            process.executableURL = Vector.directory.appendingPathComponent("generate")
            process.arguments = ["--check"]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = Pipe()
            do { try process.run() } catch { return (-1, "\(error)") }
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, message)
        }
        #expect(status == 0, "\(message)")
    }

    @Test("Every message type has a vector, and every Frame kind has its own")
    func coverage() {
        let named = Set(Vector.all.map(\.messageName))
        #expect(Vector.all.count > 100)
        #expect(named == Set(MessageRegistry.types.keys))
        #expect(sd_conformance_entry_count == MessageRegistry.types.count)
        let frames = Vector.all.filter { $0.messageName == "support.rpc.v1.Frame" }.map(\.stem)
        #expect(frames.sorted() == ["cancel", "go_away", "ping", "pong", "request", "response"].map { "support.rpc.v1.Frame.\($0)" })
        for (name, type) in MessageRegistry.types {
            #expect(type.protoMessageName == name)
            #expect(sd_conformance_descriptor(name) != nil, "protobuf-c has no descriptor for \(name)")
        }
    }

    @Test("swift-protobuf decodes the vector and re-encodes the identical bytes", arguments: Vector.all)
    func swiftRoundTrip(_ vector: Vector) throws {
        let type = try #require(MessageRegistry.types[vector.messageName])
        #expect(try Self.reencode(type, vector.bytes) == vector.bytes)
    }

    @Test("protobuf-c decodes the vector and re-encodes the identical bytes", arguments: Vector.all)
    func protobufCRoundTrip(_ vector: Vector) throws {
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        let status = vector.bytes.withUnsafeBufferPointer { input in
            sd_conformance_repack(vector.messageName, input.baseAddress, input.count, &output, &length)
        }
        defer { free(output) }
        #expect(status == 0, "protobuf-c could not unpack \(vector.stem) (\(status))")
        let bytes = output.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
        #expect(bytes == vector.bytes)
    }

    @Test("The text form parses in Swift to the message the bytes hold", arguments: Vector.all)
    func textForm(_ vector: Vector) throws {
        let type = try #require(MessageRegistry.types[vector.messageName])
        #expect(try Self.textMatchesBytes(type, text: vector.text, bytes: vector.bytes))
    }

    static func reencode<M: SwiftProtobuf.Message>(_ type: M.Type, _ bytes: [UInt8]) throws -> [UInt8] {
        try M(serializedBytes: bytes).serializedBytes()
    }

    static func textMatchesBytes<M: SwiftProtobuf.Message>(_ type: M.Type, text: String, bytes: [UInt8]) throws -> Bool {
        let fromText = try M(textFormatString: text)
        let fromBytes = try M(serializedBytes: bytes)
        let reencoded: [UInt8] = try fromText.serializedBytes()
        return fromText.isEqualTo(message: fromBytes) && reencoded == bytes
    }
}
