import SupportProto

/// The outcome of one call that did not succeed: a canonical status code and
/// a sentence for the human that says what went wrong and what to do next.
///
/// Codes and their numbers are gRPC's, so tools that know gRPC read them
/// without a table. ``RPCError`` is for one call; start-up problems are
/// ``RuntimeError``s and never cross the wire.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Code
    public var message: String
    public var details: [Support_Rpc_V1_StatusDetail]

    public init(_ code: Code, _ message: String, details: [Support_Rpc_V1_StatusDetail] = []) {
        self.code = code
        self.message = message
        self.details = details
    }

    /// `INVALID_ARGUMENT` naming the request field that is wrong.
    public static func invalidArgument(field: String, _ message: String) -> RPCError {
        var detail = Support_Rpc_V1_StatusDetail()
        detail.reason = "FIELD_INVALID"
        detail.field = field
        detail.description_p = message
        return RPCError(.invalidArgument, message, details: [detail])
    }

    public var description: String { "\(self.code): \(self.message)" }

    init(status: Support_Rpc_V1_Status) {
        self.init(Code(rawValue: status.code), status.message, details: status.details)
    }

    var status: Support_Rpc_V1_Status {
        var status = Support_Rpc_V1_Status()
        status.code = self.code.rawValue
        status.message = self.message
        status.details = self.details
        return status
    }
}

extension RPCError {
    /// A gRPC canonical status code. A struct rather than an enum so a code
    /// this build does not know still round-trips.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// Not an error; never carried by an ``RPCError``.
        public static let ok = Code(rawValue: 0)
        /// The caller cancelled the call.
        public static let cancelled = Code(rawValue: 1)
        /// A failure with no better code; the message says what happened.
        public static let unknown = Code(rawValue: 2)
        /// The request is malformed whatever the system's state: a missing
        /// field, an out-of-range severity. Details name the field.
        public static let invalidArgument = Code(rawValue: 3)
        /// The deadline passed before the call completed.
        public static let deadlineExceeded = Code(rawValue: 4)
        /// The named thing (incident, certificate, message) does not exist,
        /// or the caller may not know that it does.
        public static let notFound = Code(rawValue: 5)
        /// The thing to create exists already.
        public static let alreadyExists = Code(rawValue: 6)
        /// The caller may not do this (a wall clock cannot be set).
        public static let permissionDenied = Code(rawValue: 7)
        /// A limit was hit: frame size, connections, calls in flight, disk.
        public static let resourceExhausted = Code(rawValue: 8)
        /// The system is not in a state that allows the call: a ninth
        /// contact, an illegal incident transition. Retrying will not help
        /// until the state changes.
        public static let failedPrecondition = Code(rawValue: 9)
        /// A concurrency conflict; retrying the whole operation may help.
        public static let aborted = Code(rawValue: 10)
        public static let outOfRange = Code(rawValue: 11)
        /// The server does not know the method.
        public static let unimplemented = Code(rawValue: 12)
        /// A bug or broken invariant on the server.
        public static let `internal` = Code(rawValue: 13)
        /// The service cannot be reached or is draining; retry with backoff.
        public static let unavailable = Code(rawValue: 14)
        public static let dataLoss = Code(rawValue: 15)
        public static let unauthenticated = Code(rawValue: 16)

        private static let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
            "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
            "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
            "UNAUTHENTICATED",
        ]

        /// The canonical upper-snake name, e.g. `FAILED_PRECONDITION`.
        public var name: String {
            Self.names.indices.contains(Int(self.rawValue)) ? Self.names[Int(self.rawValue)] : "CODE_\(self.rawValue)"
        }

        public var description: String { self.name }
    }
}

/// A domain error that knows which status it becomes on the wire.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

/// A problem that stops a process from starting or serving (a socket path
/// already served, a database that cannot be opened). Never sent on the wire.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}
