import GRDB
import SupportRPC

/// Issue 10, disk trouble: the one place where a storage failure a handler
/// threw becomes a status. Every write runs in one GRDB transaction, which
/// SQLite rolls back on the error, so the caller learns that nothing was
/// changed; the service keeps serving (reads work on a full disk) and
/// writes succeed again once space or write access is back.
public enum StorageFailure {
    /// `RESOURCE_EXHAUSTED` for a full disk, `UNAVAILABLE` for a database
    /// that cannot be written now (read-only, gone, I/O error, locked);
    /// nil for everything else (a constraint or a bug stays `INTERNAL`).
    public static func status(for error: any Error, service: String, path: String) -> RPCError? {
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_FULL:
            return RPCError(
                .resourceExhausted,
                "disk full: \(service) could not write its database; nothing was changed. Free space on the file system of \(path) and retry."
            )
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_PERM:
            return RPCError(
                .unavailable,
                "\(service) cannot write its database \(path) (\(error.resultCode)); nothing was changed. Check the file and its file system, then retry."
            )
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return RPCError(.unavailable, "\(service)'s database is busy (\(error.resultCode)); nothing was changed. Retry shortly.")
        default:
            return nil
        }
    }
}
