import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking Unix-socket connection for sending bytes that no well-behaved
/// client would: the tests of the wire's refusals.
/// Used from one test at a time; the reading thread is the only other user.
public final class RawSocket: @unchecked Sendable {
    private let fd: Int32

    public init(path: String) throws {
        self.fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(self.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(self.fd)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(self.fd) }

    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Sends `length` as the 4-byte big-endian prefix, then `body`.
    public func sendFrame(length: UInt32, body: [UInt8]) {
        self.send(withUnsafeBytes(of: length.bigEndian, Array.init) + body)
    }

    /// Half-closes: the server sees end of file.
    public func shutdownWrite() {
        shutdown(self.fd, Int32(SHUT_WR))
    }

    /// Reads until the server closes the connection (or 5 s pass).
    ///
    /// The blocking reads run on a thread of their own: blocking one of the
    /// few threads of Swift's cooperative pool would starve the server that
    /// is meant to answer.
    /// - Returns: the bytes and whether the server closed.
    public func readUntilClosed() async -> (bytes: [UInt8], closed: Bool) {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.blockingReadUntilClosed()) }
            thread.start()
        }
    }

    /// Reads one whole frame's body (after its 4-byte length); nil if the
    /// server closes first or 5 s pass. On a thread of its own, as above.
    public func readFrame() async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                let header = Self.receive(exactly: 4, from: self.fd)
                let length = header.map { bytes in bytes.reduce(0) { length, byte in length << 8 | Int(byte) } }
                continuation.resume(returning: length.flatMap { Self.receive(exactly: $0, from: self.fd) })
            }
            thread.start()
        }
    }

    private func blockingReadUntilClosed() -> (bytes: [UInt8], closed: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(self.fd, &buffer, buffer.count, 0)
            if count == 0 { return (received, true) }
            if count < 0 { return (received, errno == ECONNRESET) }
            received += buffer[0..<count]
        }
    }

    /// Reads exactly `count` bytes from a blocking socket; nil if the peer
    /// closes first. For the scripted servers of the tests.
    public static func receive(exactly count: Int, from fd: Int32) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { return nil }
            got += n
        }
        return bytes
    }
}
