import SupportRPC

/// List calls page with `page_size` (0 means 100, at most 1000) and an
/// opaque `page_token` from the previous response.
public struct Paging: Sendable, Equatable {
    public let offset: Int
    public let size: Int

    /// - Throws: `INVALID_ARGUMENT` naming `page_token` for a token this
    ///   service did not give out.
    public init(token: String, pageSize: UInt32) throws {
        self.size = pageSize == 0 ? 100 : min(Int(pageSize), 1000)
        guard !token.isEmpty else {
            self.offset = 0
            return
        }
        // Bounded so that `offset + size` in page(_:) cannot overflow, whatever
        // the token says (issue 21); no listing is a trillion rows long.
        guard token.hasPrefix("o"), let offset = Int(token.dropFirst()), (0...1_000_000_000_000).contains(offset) else {
            throw RPCError.invalidArgument(field: "page_token", "page_token is not one this service gave out; start again without it")
        }
        self.offset = offset
    }

    /// How many rows to fetch: one more than a page shows whether more follow.
    public var fetchLimit: Int { self.size + 1 }

    /// The page of `fetched` rows and the token for the next one ("" at the end).
    public func page<T>(_ fetched: [T]) -> (items: [T], nextToken: String) {
        guard fetched.count > self.size else { return (fetched, "") }
        return (Array(fetched.prefix(self.size)), "o\(self.offset + self.size)")
    }
}
