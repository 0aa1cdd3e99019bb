import ServiceKit
import SupportProto

extension ServiceError {
    /// `FAILED_PRECONDITION` (`ILLEGAL_TRANSITION`): the incident's state
    /// does not allow `action`; `hint` says what would.
    static func illegal(_ action: String, state: Support_Common_V1_IncidentState, incident: String, hint: String) -> ServiceError {
        ServiceError(
            .failedPrecondition, reason: "ILLEGAL_TRANSITION",
            "\(incident) is \(state.label); it cannot be \(action) now. \(hint)"
        )
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
