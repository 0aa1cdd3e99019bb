import BusinessCalendar
import ServiceKit
import Foundation
import GRDB
import SupportProto

extension NotifierEngine {
    /// Keeps the incident's due time (what "Response due by" shows) in step
    /// with intake's events, which start, re-target and end response cycles
    /// the way sla-timer does (R-SLA-7): before issue 23 only the
    /// acknowledgement and sla-timer's warnings and breaches set it, so after
    /// the customer answered a question or the incident was reopened the
    /// escalation mail said "no response is pending" while a cycle ran
    /// (finding 8).
    ///
    /// The due is worked out from the R-SLA-2 table; sla-timer's own figure,
    /// from its policy, replaces it with its next warning or breach.
    func trackDue(_ event: Event, in db: Database) throws {
        guard let view = try NotifierStore.incident(event.incidentID, in: db) else { return }
        let snapshot = view.snapshot
        let office = try self.office(snapshot.office, incident: event.incidentID)
        let due = try Self.runningCycleStart(of: event.incidentID, office: office, in: db).flatMap {
            ResponseTimeTarget(severity: Int(snapshot.severity))?.due(from: $0, office: office)
        }
        try NotifierStore.setDue(due, incidentID: event.incidentID, in: db)
    }

    /// sla-timer met a cycle: no response is pending, unless intake's events
    /// already started a later cycle (its SLAMet can arrive after intake's
    /// next events: the two streams are not ordered with each other).
    func cycleMet(_ met: Support_Events_V1_SLAMet, incident: String, snapshot: Snapshot, in db: Database) throws {
        let office = try self.office(snapshot.office, incident: incident)
        if let start = try Self.runningCycleStart(of: incident, office: office, in: db), start > met.metAt.date { return }
        try NotifierStore.setDue(nil, incidentID: incident, in: db)
    }

    /// When the incident's running response cycle started, from the events
    /// notifier recorded of it; nil when none runs. A cycle starts at the
    /// opening (at the next opening for a severity 1 told to call, R-SLA-3),
    /// when the customer answers a question (R-SLA-5) and at a reopening;
    /// it ends with a response, a workaround, a question, a resolution or
    /// the closure.
    static func runningCycleStart(of incident: String, office: OfficeCalendar, in db: Database) throws -> Date? {
        for event in try NotifierStore.events(of: incident, in: db).reversed() {
            switch event.payload {
            case .incidentOpened(let opened):
                let snapshot = opened.incident
                let received = snapshot.openedAt.date
                return snapshot.phoneAdvised ? (office.nextOpening(atOrAfter: received) ?? received) : received
            case .infoProvided(let provided) where provided.incident.previousSide == .customer:
                return event.occurredAt.date
            case .reopened:
                return event.occurredAt.date
            case .responseGiven, .workaroundProvided, .infoRequested, .resolved, .closed:
                return nil
            default:
                continue
            }
        }
        return nil
    }
}
