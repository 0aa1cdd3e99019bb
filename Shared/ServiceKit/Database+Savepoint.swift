import GRDB

extension Database {
    /// Runs `body` in a savepoint of the current transaction: its changes
    /// are kept if it returns and rolled back if it throws (the error is
    /// rethrown), the transaction's other changes stay either way.
    ///
    /// GRDB's `inSavepoint` does the same with statements it prepares again
    /// at every call ("SAVEPOINT grdb", then "RELEASE SAVEPOINT grdb"). Here
    /// the three statements are prepared once per connection and reused:
    /// group commit runs every request in a savepoint, and preparing them was
    /// about a tenth of intake's writer time per OpenIncident (issue 9).
    /// GRDB still sees each statement's effect on the transaction (its
    /// savepoint stack), as for any statement it runs.
    ///
    /// If SQLite abandoned the whole transaction (a full disk, an I/O
    /// error), there is nothing to roll back to: the error is rethrown and
    /// the caller sees `isInsideTransaction` false.
    public func inReusedSavepoint<T>(_ body: () throws -> T) throws -> T {
        precondition(self.isInsideTransaction, "a savepoint here belongs to a transaction already begun")
        try self.cachedStatement(sql: "SAVEPOINT request").execute()
        let result: T
        do {
            result = try body()
        } catch {
            if self.isInsideTransaction {
                try self.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT request").execute()
                try self.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
            }
            throw error
        }
        try self.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
        return result
    }
}
