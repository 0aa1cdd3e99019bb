import SupportProto
import SupportRPC

/// Why intake refused a call: a code for the wire and a sentence that says
/// what to do next.
public struct IntakeError: Error, RPCErrorConvertible, Equatable, CustomStringConvertible {
    public let rpcError: RPCError

    init(_ code: RPCError.Code, reason: String, field: String = "", _ message: String) {
        var detail = Support_Rpc_V1_StatusDetail()
        detail.reason = reason
        detail.field = field
        detail.description_p = message
        self.rpcError = RPCError(code, message, details: [detail])
    }

    public var code: RPCError.Code { self.rpcError.code }
    public var reason: String { self.rpcError.details.first?.reason ?? "" }
    public var description: String { self.rpcError.description }

    static func missing(_ field: String, _ what: String) -> IntakeError {
        IntakeError(.invalidArgument, reason: "FIELD_REQUIRED", field: field, "\(field) is required: \(what)")
    }

    static func invalid(_ field: String, _ message: String) -> IntakeError {
        IntakeError(.invalidArgument, reason: "FIELD_INVALID", field: field, message)
    }

    static func notFound(_ what: String, _ id: String) -> IntakeError {
        IntakeError(.notFound, reason: "\(what.uppercased().replacingOccurrences(of: " ", with: "_"))_NOT_FOUND", "no \(what) \(id) exists; check the id")
    }

    static func illegal(_ action: String, state: Support_Common_V1_IncidentState, incident: String, hint: String) -> IntakeError {
        IntakeError(
            .failedPrecondition, reason: "ILLEGAL_TRANSITION",
            "\(incident) is \(state.label); it cannot be \(action) now. \(hint)"
        )
    }
}

/// The longest text intake stores in one field; longer is INVALID_ARGUMENT.
enum Limits {
    static let shortText = 200
    static let longText = 20_000
}

func require(_ value: String, _ field: String, _ what: String, max: Int = Limits.shortText) throws -> String {
    let trimmed = value.trimmedOfWhitespace()
    guard !trimmed.isEmpty else { throw IntakeError.missing(field, what) }
    guard trimmed.count <= max else {
        throw IntakeError.invalid(field, "\(field) is \(trimmed.count) characters; at most \(max) are accepted")
    }
    return trimmed
}

func optional(_ value: String, _ field: String, max: Int = Limits.longText) throws -> String {
    let trimmed = value.trimmedOfWhitespace()
    guard trimmed.count <= max else {
        throw IntakeError.invalid(field, "\(field) is \(trimmed.count) characters; at most \(max) are accepted")
    }
    return trimmed
}

extension String {
    /// The text without leading and trailing whitespace and line breaks:
    /// what Foundation's `.whitespacesAndNewlines` names, which is Unicode's
    /// White_Space and the zero-width space.
    ///
    /// Native on purpose: Foundation's `trimmingCharacters(in:)` goes
    /// through NSString and was 3% of intake's CPU under OpenIncident load,
    /// where every field is checked this way (issue 9). Text with nothing to
    /// trim is returned as it is, without a copy.
    func trimmedOfWhitespace() -> String {
        func blank(_ character: Character?) -> Bool {
            guard let character else { return false }
            return character.isWhitespace || character == "\u{200B}"
        }
        guard blank(self.first) || blank(self.last) else { return self }
        var text = Substring(self)
        while blank(text.first) { text.removeFirst() }
        while blank(text.last) { text.removeLast() }
        return String(text)
    }
}

import Foundation

extension Support_Common_V1_IncidentState {
    /// The name operators use: `new`, `in-progress`, `waiting-customer`, …
    var label: String {
        switch self {
        case .new: "new"
        case .inProgress: "in-progress"
        case .waitingCustomer: "waiting-customer"
        case .resolved: "resolved"
        case .closed: "closed"
        default: "unspecified"
        }
    }
}

extension Support_Common_V1_Channel {
    var label: String {
        switch self {
        case .portal: "portal"
        case .phone: "phone"
        case .email: "email"
        case .tam: "tam"
        default: "unspecified"
        }
    }
}
