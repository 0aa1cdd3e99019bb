import SupportProto

/// Ordered key/value pairs sent with a call, like gRPC metadata. Keys are
/// lower-case and dotted (`request.id`, `caller.identity`, `idempotency.key`).
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    public private(set) var entries: [(key: String, value: String)]

    public static let requestID = "request.id"
    public static let callerIdentity = "caller.identity"
    public static let callerRole = "caller.role"
    public static let idempotencyKey = "idempotency.key"

    /// Bounds on what a caller may send (checked before anything reads
    /// the metadata): entries, and UTF-8 bytes per key and per value.
    public static let maximumEntries = 64
    public static let maximumKeyBytes = 128
    public static let maximumValueBytes = 1024

    public init() { self.entries = [] }

    /// `INVALID_ARGUMENT` naming the first bound the metadata breaks, or nil.
    func violation() -> RPCError? {
        if self.entries.count > Self.maximumEntries {
            return .invalidArgument(field: "metadata", "the request has \(self.entries.count) metadata entries; at most \(Self.maximumEntries) are accepted")
        }
        for (index, entry) in self.entries.enumerated() {
            if entry.key.utf8.count > Self.maximumKeyBytes {
                return .invalidArgument(
                    field: "metadata[\(index)].key", "metadata key \(index) is \(entry.key.utf8.count) bytes; at most \(Self.maximumKeyBytes) are accepted"
                )
            }
            if entry.value.utf8.count > Self.maximumValueBytes {
                return .invalidArgument(
                    field: "metadata[\(index)].value",
                    "the value of metadata \(entry.key.prefix(Self.maximumKeyBytes)) is \(entry.value.utf8.count) bytes; at most \(Self.maximumValueBytes) are accepted"
                )
            }
        }
        return nil
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.entries = elements.map { (key: $0.0, value: $0.1) }
    }

    init(_ wire: [Support_Rpc_V1_MetadataEntry]) {
        self.entries = wire.map { (key: $0.key, value: $0.value) }
    }

    var wire: [Support_Rpc_V1_MetadataEntry] {
        self.entries.map { entry in
            var wire = Support_Rpc_V1_MetadataEntry()
            wire.key = entry.key
            wire.value = entry.value
            return wire
        }
    }

    /// The first value for `key`; setting replaces every value for it.
    public subscript(key: String) -> String? {
        get { self.entries.first(where: { $0.key == key })?.value }
        set {
            self.entries.removeAll(where: { $0.key == key })
            if let newValue { self.entries.append((key: key, value: newValue)) }
        }
    }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: String)> {
        self.entries.makeIterator()
    }

    public static func == (lhs: Metadata, rhs: Metadata) -> Bool {
        lhs.entries.elementsEqual(rhs.entries, by: { $0 == $1 })
    }

    public func hash(into hasher: inout Hasher) {
        for entry in self.entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}
