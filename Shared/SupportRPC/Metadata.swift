import SupportProto

/// Ordered key/value pairs sent with a call, like gRPC metadata. Keys are
/// lower-case and dotted (`request.id`, `caller.identity`, `idempotency.key`).
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    public private(set) var entries: [(key: String, value: String)]

    public static let requestID = "request.id"
    public static let callerIdentity = "caller.identity"
    public static let callerRole = "caller.role"
    public static let idempotencyKey = "idempotency.key"

    public init() { self.entries = [] }

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
