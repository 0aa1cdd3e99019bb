import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Who is at the other end of a Unix socket, as the kernel says
/// (`SO_PEERCRED`): the process id and the user and group it ran as when it
/// connected, plus its supplementary groups.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// The primary group and the supplementary ones, from `/proc/PID/status`
    /// (empty when the process is already gone).
    public var groups: Set<UInt32>

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: Set<UInt32> = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups.union([gid])
    }

    public var description: String { "pid \(self.pid) uid \(self.uid) gid \(self.gid)" }

    /// Layout-compatible with Linux's `struct ucred`, which Swift's Glibc
    /// module does not import (it needs _GNU_SOURCE).
    private struct UCred {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// Reads the credentials of `channel`'s peer; nil when the channel is
    /// not a Unix socket or the kernel will not say. Called on the
    /// channel's event loop, the future is already complete.
    static func of(_ channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let level = NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET)
        let name = NIOBSDSocket.Option(rawValue: SO_PEERCRED)
        let credentials: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(level: level, name: name)
        return credentials.map { credentials -> PeerCredentials? in
            PeerCredentials(
                pid: credentials.pid, uid: credentials.uid, gid: credentials.gid,
                groups: Self.supplementaryGroups(of: credentials.pid)
            )
        }.recover { _ in nil }
        #else
        return channel.eventLoop.makeSucceededFuture(nil)
        #endif
    }

    /// The `Groups:` line of `/proc/PID/status`.
    static func supplementaryGroups(of pid: Int32) -> Set<UInt32> {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") })
        else { return [] }
        return Set(line.dropFirst("Groups:".count).split(separator: " ").compactMap { UInt32($0.trimmingCharacters(in: .whitespaces)) })
    }
}
