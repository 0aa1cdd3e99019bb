import SupportProto
import SupportRPC

/// Why escalation refused a call: a code and a sentence that says what to
/// do next.
struct EscalationError: Error, RPCErrorConvertible, CustomStringConvertible {
    let rpcError: RPCError

    init(_ code: RPCError.Code, reason: String, field: String = "", _ message: String) {
        var detail = Support_Rpc_V1_StatusDetail()
        detail.reason = reason
        detail.field = field
        detail.description_p = message
        self.rpcError = RPCError(code, message, details: [detail])
    }

    var reason: String { self.rpcError.details.first?.reason ?? "" }
    var description: String { self.rpcError.description }

    static func invalid(_ field: String, _ message: String) -> EscalationError {
        EscalationError(.invalidArgument, reason: "FIELD_INVALID", field: field, message)
    }
}
