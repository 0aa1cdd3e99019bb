import Foundation
import GRDB
import ServiceKit
import SupportProto

extension IntakeRPCService {
    /// Applies sla-timer's events in the inbox transaction: a customer
    /// timeout closes the incident (R-SLA-6) exactly once, with its Closed
    /// event in the same transaction.
    func apply(_ db: Database, _ event: Event) throws {
        guard case .customerTimeout(let timeout) = event.payload else { return }
        guard let incident = try self.incident(event.incidentID, in: db) else { return }
        var lifecycle = IncidentLifecycle(incident, now: timeout.timedOutAt.date)
        do {
            try lifecycle.closeForCustomerTimeout(waitingSince: timeout.waitingSince.date)
        } catch let error as ServiceError where error.reason == "STALE_TIMEOUT" {
            // The customer answered while the timeout was on its way.
            self.environment.logger.info("stale customer timeout ignored", metadata: ["incident": "\(incident.id)"])
            return
        }
        guard lifecycle.incident != incident else { return }
        try IntakeStore.update(lifecycle.incident, adding: lifecycle.addedArticles, in: db)
        for change in lifecycle.events {
            var closed = IncidentSnapshots.event(change.payload, snapshot: change.snapshot, incidentID: incident.id, at: timeout.timedOutAt.date)
            closed.causationEventID = event.eventID
            try self.environment.outbox.append(closed, in: db)
        }
    }
}
