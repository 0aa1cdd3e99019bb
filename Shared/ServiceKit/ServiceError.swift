import SupportProto
import SupportRPC

/// Why a service refused a call: a canonical status code, a machine-readable
/// reason, the request field at fault (if one is) and a sentence that says
/// what to do next (STYLE 5).
///
/// The one error type of every service's domain and handlers: the wire form
/// (``rpcError``) carries the reason and field as a `StatusDetail`, so a
/// client branches on `reason` and shows `message`. Messages name proto
/// fields and methods (`contact_email`, `RemoveContact`), never Swift types
/// or supportctl commands: supportctl adds its own hints on top.
public struct ServiceError: Error, RPCErrorConvertible, Equatable, CustomStringConvertible {
    public let rpcError: RPCError

    /// - Parameters:
    ///   - code: The status the caller receives.
    ///   - reason: Upper-snake, stable: what a client branches on
    ///     (`CONTACT_LIMIT`, `IDEMPOTENCY_KEY_REUSED`).
    ///   - field: The request field at fault, by its proto name; empty when
    ///     no one field is.
    ///   - message: A sentence for the human saying what to do next.
    public init(_ code: RPCError.Code, reason: String, field: String = "", _ message: String) {
        var detail = Support_Rpc_V1_StatusDetail()
        detail.reason = reason
        detail.field = field
        detail.description_p = message
        self.rpcError = RPCError(code, message, details: [detail])
    }

    public var code: RPCError.Code { self.rpcError.code }
    public var reason: String { self.rpcError.details.first?.reason ?? "" }
    public var field: String { self.rpcError.details.first?.field ?? "" }
    public var message: String { self.rpcError.message }
    public var description: String { self.rpcError.description }

    /// `INVALID_ARGUMENT` (`FIELD_REQUIRED`): `field` is empty.
    public static func missing(_ field: String, _ what: String) -> ServiceError {
        ServiceError(.invalidArgument, reason: "FIELD_REQUIRED", field: field, "\(field) is required: \(what)")
    }

    /// `INVALID_ARGUMENT` (`FIELD_INVALID`): `field` holds a value no state
    /// of the system accepts.
    public static func invalid(_ field: String, _ message: String) -> ServiceError {
        ServiceError(.invalidArgument, reason: "FIELD_INVALID", field: field, message)
    }

    /// `NOT_FOUND` (`<WHAT>_NOT_FOUND`): no `what` with this id exists (or
    /// the caller may not know that it does).
    public static func notFound(_ what: String, _ id: String, field: String = "", hint: String = "check the id") -> ServiceError {
        ServiceError(
            .notFound, reason: "\(what.uppercased().replacingOccurrences(of: " ", with: "_"))_NOT_FOUND", field: field,
            "no \(what) \(id) exists; \(hint)"
        )
    }
}
