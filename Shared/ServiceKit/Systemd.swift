import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// systemd's socket activation and readiness protocol, without libsystemd.
///
/// With a `.socket` unit, systemd binds the service's socket itself and
/// passes it as fd 3 (`LISTEN_FDS`, `LISTEN_PID`), so a restarting service
/// keeps its socket open and callers queue instead of being refused. With
/// `Type=notify` the service says `READY=1` once it serves and `STOPPING=1`
/// when it drains, over the datagram socket in `NOTIFY_SOCKET`.
public enum Systemd {
    /// The first listening socket systemd passed to this process, if any.
    /// Reads and clears the variables so children do not inherit them.
    public static func takeListeningSocket(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32? {
        defer {
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDNAMES")
        }
        guard let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
            let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1
        else { return nil }
        let fd: Int32 = 3  // SD_LISTEN_FDS_START
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// Sends `state` ("READY=1", "STOPPING=1") to systemd when it asked for
    /// notifications; does nothing otherwise.
    @discardableResult
    public static func notify(_ state: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard var path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        // A leading '@' names an abstract socket: a NUL byte on the wire.
        let abstract = path.hasPrefix("@")
        if abstract { path.removeFirst() }
        var bytes = Array(path.utf8)
        if abstract { bytes.insert(0, at: 0) }
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sockaddr, length) }
            }
        }
        return sent == message.count
    }
}
