import Foundation
import SupportProto
import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#endif

/// The transport's physical limit: blocking read/write of the very frame
/// bytes a Health/Check exchanges, no event loop, no protobuf decoding.
enum RawPingPong {
    /// The request frame SupportRPC's client sends for Health/Check.
    static let requestFrame: [UInt8] = {
        var request = Support_Rpc_V1_Request()
        request.callID = 1
        request.method = "/support.health.v1.Health/Check"
        request.timeoutMs = 10_000
        var id = Support_Rpc_V1_MetadataEntry()
        id.key = "request.id"
        id.value = "0123456789abcdef"
        request.metadata = [id]
        var frame = Support_Rpc_V1_Frame()
        frame.kind = .request(request)
        return Self.prefixed(frame)
    }()

    /// The response frame SupportRPC's server answers it with.
    static let responseFrame: [UInt8] = {
        var check = Support_Health_V1_CheckResponse()
        check.status = .serving
        var response = Support_Rpc_V1_Response()
        response.callID = 1
        response.status = Support_Rpc_V1_Status()
        response.payload = try! check.serializedBytes()
        var frame = Support_Rpc_V1_Frame()
        frame.kind = .response(response)
        return Self.prefixed(frame)
    }()

    private static func prefixed(_ frame: Support_Rpc_V1_Frame) -> [UInt8] {
        let body: [UInt8] = try! frame.serializedBytes()
        let length = UInt32(body.count).bigEndian
        return withUnsafeBytes(of: length) { Array($0) } + body
    }

    /// Serves forever: one thread per connection answering each frame read
    /// with the canned response.
    static func serve(at path: String) throws {
        unlink(path)
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BenchError("socket: \(errno)") }
        var address = try Self.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw BenchError("bind/listen \(path): \(errno)") }
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            Thread {
                defer { close(connection) }
                var header = [UInt8](repeating: 0, count: 4)
                var body = [UInt8](repeating: 0, count: 64 * 1024)
                while Self.readFully(connection, &header, count: 4) {
                    let length = Int(header.withUnsafeBytes { UInt32(bigEndian: $0.load(as: UInt32.self)) })
                    if length > body.count { body = [UInt8](repeating: 0, count: length) }
                    guard Self.readFully(connection, &body, count: length), Self.writeAll(connection, Self.responseFrame) else { return }
                }
            }.start()
        }
    }

    static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(errno)") }
        var address = try Self.address(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw BenchError("connect \(path): \(errno)")
        }
        return fd
    }

    /// `count` round trips, one at a time; each one's latency in µs.
    static func roundTrips(_ path: String, count: Int) async throws -> [Double] {
        try await onThread {
            let fd = try Self.connect(path)
            defer { close(fd) }
            var header = [UInt8](repeating: 0, count: 4)
            var body = [UInt8](repeating: 0, count: 4096)
            var samples: [Double] = []
            samples.reserveCapacity(count)
            for _ in 0..<count {
                let start = monotonicNanoseconds()
                guard Self.writeAll(fd, Self.requestFrame), Self.readFully(fd, &header, count: 4) else { throw BenchError("raw server closed") }
                let length = Int(header.withUnsafeBytes { UInt32(bigEndian: $0.load(as: UInt32.self)) })
                guard Self.readFully(fd, &body, count: length) else { throw BenchError("raw server closed") }
                samples.append(Double(monotonicNanoseconds() - start) / 1000)
            }
            return samples
        }
    }

    private static func address(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw BenchError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    private static func readFully(_ fd: Int32, _ buffer: inout [UInt8], count: Int) -> Bool {
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, count - done) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }
}
