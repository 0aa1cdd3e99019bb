import ServiceKit
import Foundation
import SupportProto

/// The escalation ladder (R-ESC-1) and who may climb it (R-ESC-2).
enum EscalationRules {
    /// One level up or down; 3 is the ceiling and 1 the floor.
    static func next(from level: Level, direction: Support_Escalation_V1_Direction) throws -> Level {
        switch direction {
        case .down:
            guard level.rawValue > 1 else {
                throw ServiceError(.failedPrecondition, reason: "LEVEL_FLOOR", "the incident is at level 1 (the TAM); it cannot go lower")
            }
            // A proto enum's init(rawValue:) never fails (an unknown number
            // is UNRECOGNIZED), so no stored level reaches a nil here.
            return Level(rawValue: level.rawValue - 1)!
        default:
            guard level.rawValue < 3 else {
                throw ServiceError(
                    .failedPrecondition, reason: "LEVEL_CEILING",
                    "the incident is already at level 3, the business account manager (R-ESC-1); there is no higher level"
                )
            }
            return Level(rawValue: level.rawValue + 1)!
        }
    }

    /// R-ESC-2: a customer escalates only an unresolved incident on the
    /// vendor's side, and only upwards.
    static func checkCustomer(_ snapshot: Support_Events_V1_IncidentSnapshot, incident: String, direction: Support_Escalation_V1_Direction) throws {
        guard direction != .down else {
            throw ServiceError(.permissionDenied, reason: "STAFF_ONLY", field: "direction", "only staff may de-escalate an incident")
        }
        switch snapshot.state {
        case .resolved, .closed:
            throw ServiceError(
                .failedPrecondition, reason: "INCIDENT_RESOLVED",
                "\(incident) is \(snapshot.state == .resolved ? "resolved" : "closed"); only an unresolved incident can be escalated (R-ESC-2). Reopen it first."
            )
        default:
            break
        }
        guard snapshot.side == .vendor else {
            throw ServiceError(
                .failedPrecondition, reason: "CUSTOMER_SIDE",
                "\(incident) is waiting for your information; provide it first, then escalate if it is still needed (R-ESC-2)"
            )
        }
    }
}
