import Foundation
import GRDB
import GRDBSQLite
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Whether a service's database is still the file it opened, and can be
/// written (issue 21: `rm intake.sqlite` while intake ran and it went on
/// acknowledging incidents into an unlinked file; started on a read-only
/// file it said SERVING while every write failed).
///
/// ``check()`` compares the path's device and inode with the ones seen at
/// open, and looks whether the file may be written and whether SQLite
/// opened it read-only. While something is wrong, Health says NOT_SERVING
/// with the reason and ``ServiceWriter`` refuses writes with `UNAVAILABLE`
/// (reads go on). A file made writable again is noticed by the next check;
/// a deleted or replaced file, or one SQLite opened read-only, needs a
/// restart, and the reason says so. The writer checks before every write
/// and a worker every second (``StorageWatchWorker``).
public final class StorageWatch: Sendable {
    public let path: String
    private let opened: (device: UInt64, inode: UInt64)?
    private let openedReadOnly: Bool
    private let problem = Mutex<String?>(nil)

    public init(database: ServiceDatabase) {
        self.path = database.path
        self.opened = Self.identity(of: database.path)
        self.openedReadOnly = database.writer.writeWithoutTransaction { db in
            guard let connection = db.sqliteConnection else { return false }
            return sqlite3_db_readonly(connection, "main") == 1
        }
        _ = self.check()
    }

    /// What is wrong now, or nil; also remembered for ``current``.
    @discardableResult
    public func check() -> String? {
        let found = self.diagnose()
        self.problem.withLock { $0 = found }
        return found
    }

    /// What the last check found.
    public var current: String? { self.problem.withLock { $0 } }

    private func diagnose() -> String? {
        if self.openedReadOnly {
            return "the database \(self.path) was opened read-only (the file or its directory was not writable at start); make it writable and restart the service"
        }
        guard let now = Self.identity(of: self.path) else {
            return "the database file \(self.path) is gone (deleted or moved) while the service had it open; restore it and restart the service"
        }
        if let opened = self.opened, opened != now {
            return "the database file \(self.path) was replaced while the service had it open; restart the service to open the new file"
        }
        var info = stat()
        guard stat(self.path, &info) == 0 else { return "the database file \(self.path) cannot be examined (errno \(errno))" }
        // The owner's write bit as well as access(2): root may write any
        // file, but an operator who took the bit away meant it.
        if access(self.path, W_OK) != 0 || info.st_mode & S_IWUSR == 0 {
            return "the database file \(self.path) is not writable; make it writable again (the service recovers by itself)"
        }
        return nil
    }

    private static func identity(of path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}

/// Looks at the database every ``interval`` and logs when it goes wrong and
/// when it recovers, so Health is right even when nobody writes.
public struct StorageWatchWorker: Service {
    let watch: StorageWatch
    let logger: Logger
    let interval: Duration

    public init(watch: StorageWatch, logger: Logger, interval: Duration = .seconds(1)) {
        self.watch = watch
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        var last = self.watch.current
        if let last { self.logger.critical("database unusable: \(last)") }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            let now = self.watch.check()
            if now != last {
                if let now {
                    self.logger.critical("database unusable: \(now)")
                } else {
                    self.logger.notice("database usable again: \(self.watch.path)")
                }
                last = now
            }
        }
    }
}
