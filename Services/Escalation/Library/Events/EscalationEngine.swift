import BusinessCalendar
import Foundation
import GRDB
import Logging
import ServiceKit
import SupportProto

/// escalation's domain inside a caller's transaction: its view of incidents
/// from intake's events, automatic escalation on a breach (R-ESC-3), and
/// escalations asked for by customers and staff (R-ESC-1, R-ESC-2).
struct EscalationEngine: Sendable {
    let offices: OfficeDirectory
    let outbox: EventOutbox
    let logger: Logger

    enum Requester {
        case customer(String)
        case staff(String)
        case slaBreach(cycle: String, event: String)
        /// sla-timer withdrew the breach that escalated the incident.
        case slaBreachWithdrawn(cycle: String, event: String)
    }

    // MARK: Events

    func apply(_ event: Event, in db: Database) throws {
        switch event.payload {
        case .certificateChanged, .contactsChanged:
            // A late revision leaves the newer one (R-ORG-2).
            try IntakeProjection.apply(event, in: db)
        case .slaBreached(let breach):
            guard try !EscalationStore.escalated(cycle: breach.cycle.cycleID, in: db) else { return }
            // sla-timer's breach can arrive before intake's IncidentOpened
            // (two producers, two relays; one was behind after a restart).
            // Dropping it lost the escalation (R-ESC-3, found by
            // scripts/chaos, issue 10): refuse it instead, so the inbox does
            // not record it and sla-timer's relay delivers it again once
            // intake's events are here.
            guard let view = try EscalationStore.incident(event.incidentID, in: db) else {
                throw ServiceError(
                    .unavailable, reason: "INCIDENT_NOT_YET_KNOWN",
                    "escalation has not yet heard of \(event.incidentID) from intake; deliver the breach again once it has"
                )
            }
            guard ![.resolved, .closed].contains(view.snapshot.state) else { return }
            guard view.level.rawValue < 3 else {
                self.logger.notice("breach at level 3: no higher level to escalate to", metadata: ["incident": "\(event.incidentID)"])
                return
            }
            let (_, escalated) = try self.escalate(
                event.incidentID, by: .slaBreach(cycle: breach.cycle.cycleID, event: event.eventID), direction: .up,
                reason: "SLA breached: a response was due \(breach.cycle.dueAt.date.formatted(.iso8601)) (R-ESC-3)",
                at: event.occurredAt.date, in: db
            )
            try self.outbox.append(escalated, in: db)
        case .slaMet(let met) where met.withdrawsBreach:
            try self.withdraw(met, event: event, in: db)
        default:
            guard let snapshot = event.incidentSnapshot else { return }
            var view = try EscalationStore.incident(event.incidentID, in: db)
                ?? EscalationStore.IncidentView(snapshot: snapshot, level: .tam, levelSince: event.occurredAt.date, escalations: 0)
            // An older snapshot than the one kept (a late event) moves nothing.
            if try IntakeProjection.apply(event, in: db) { view.snapshot = snapshot }
            try EscalationStore.save(view, id: event.incidentID, in: db)
        }
    }

    /// The breach of `met`'s cycle was withdrawn (the answer was recorded in
    /// time and reached sla-timer late): the level it raised goes back down
    /// (R-ESC-3), recorded as such. Only while nothing moved the incident
    /// since: a later escalation (by staff, a customer or another breach)
    /// was someone's decision at the level the breach had set, and stands.
    private func withdraw(_ met: Support_Events_V1_SLAMet, event: Event, in db: Database) throws {
        let cycle = met.cycle.cycleID
        let records = try EscalationStore.records(of: event.incidentID, in: db)
        guard let raised = records.last(where: { $0.trigger == .slaBreach && $0.slaCycleID == cycle }),
            !records.contains(where: { $0.trigger == .slaBreachWithdrawn && $0.slaCycleID == cycle }),
            let view = try EscalationStore.incident(event.incidentID, in: db)
        else { return }
        guard records.last?.id == raised.id, view.level == raised.toLevel else {
            self.logger.notice("breach withdrawn, but the incident moved since its automatic escalation; its level stands", metadata: [
                "incident": "\(event.incidentID)", "cycle": "\(cycle)", "escalation": "\(raised.id)",
            ])
            return
        }
        let (_, escalated) = try self.escalate(
            event.incidentID, by: .slaBreachWithdrawn(cycle: cycle, event: event.eventID), direction: .down,
            reason: "SLA breach withdrawn: the answer was recorded by \(met.cycle.dueAt.date.formatted(.iso8601)), in time; "
                + "escalation \(raised.id) is undone (R-ESC-3)",
            at: event.occurredAt.date, in: db
        )
        try self.outbox.append(escalated, in: db)
    }

    // MARK: Escalating

    /// Moves the incident one level and records who is responsible now.
    ///
    /// - Returns: The record, and the `Escalated` event for notifier, which
    ///   the caller appends to the outbox (the RPC's write path does, with
    ///   its idempotency record).
    func escalate(
        _ incidentID: String, by requester: Requester, direction: Support_Escalation_V1_Direction, reason: String,
        at now: Date, in db: Database
    ) throws -> (Record, Event) {
        guard var view = try EscalationStore.incident(incidentID, in: db) else {
            throw ServiceError(.notFound, reason: "INCIDENT_NOT_FOUND", "escalation knows no incident \(incidentID); check the id (it arrives from intake within moments of opening)")
        }
        if case .customer(let email) = requester {
            guard let certificate = try IntakeProjection.certificate(view.snapshot.certificateID, in: db),
                certificate.contacts.contains(where: { $0.email == email.lowercased() })
            else {
                throw ServiceError(.permissionDenied, reason: "CONTACT_NOT_AUTHORISED", field: "contact_email", "\(email) is not an authorised contact of certificate \(view.snapshot.certificateID) (R-ORG-3)")
            }
            try EscalationRules.checkCustomer(view.snapshot, incident: incidentID, direction: direction)
        }
        if [.resolved, .closed].contains(view.snapshot.state), case .staff = requester, direction == .up {
            throw ServiceError(.failedPrecondition, reason: "INCIDENT_RESOLVED", "\(incidentID) is resolved or closed; reopen it before escalating")
        }
        let to = try EscalationRules.next(from: view.level, direction: direction)
        // Missing staff never blocks a stream (issue 23): the level moves and
        // the gap is recorded and alerted, rather than the event refused.
        let (roster, office) = try self.roster(for: view.snapshot, in: db)
        let who = RosterRules.responsibility(
            level: to, at: now, roster: roster, office: office, officeID: view.snapshot.office, certificateTAM: view.snapshot.tam
        )

        var record = Record()
        record.incidentID = incidentID
        record.fromLevel = view.level
        record.toLevel = to
        record.reason = reason
        if let person = who.levelOwner { record.levelOwner = person }
        if let person = who.responsible { record.responsible = person }
        if let person = who.tamContact { record.tamContact = person }
        record.dutyManagerReplacedTam = who.dutyManagerReplacedTAM
        record.unstaffedReason = who.gap ?? ""
        record.at = .init(date: now)
        record.rosterVersion = roster?.version ?? 0
        switch requester {
        case .customer(let email):
            record.trigger = .customer
            record.requestedBy = email.lowercased()
        case .staff(let actor):
            record.trigger = .staff
            record.requestedBy = actor
        case .slaBreach(let cycle, let event):
            record.trigger = .slaBreach
            record.requestedBy = "sla-timer"
            record.slaCycleID = cycle
            record.causeEventID = event
        case .slaBreachWithdrawn(let cycle, let event):
            record.trigger = .slaBreachWithdrawn
            record.requestedBy = "sla-timer"
            record.slaCycleID = cycle
            record.causeEventID = event
        }
        view.escalations += 1
        record.id = "\(incidentID)/E\(view.escalations)"
        view.level = to
        view.levelSince = now
        try EscalationStore.insert(record, number: view.escalations, in: db)
        try EscalationStore.save(view, id: incidentID, in: db)
        if let gap = who.gap {
            self.logger.warning("escalated without full staff; alerting the fallback duty address", metadata: [
                "incident": "\(incidentID)", "escalation": "\(record.id)", "office": "\(view.snapshot.office)", "gap": "\(gap)",
            ])
        }

        var escalated = Support_Events_V1_Escalated()
        escalated.escalationID = record.id
        escalated.fromLevel = record.fromLevel
        escalated.toLevel = to
        escalated.trigger = record.trigger
        escalated.requestedBy = record.requestedBy
        escalated.reason = reason
        if let person = who.levelOwner { escalated.levelOwner = person }
        if let person = who.responsible { escalated.responsible = person }
        if let person = who.tamContact { escalated.tamContact = person }
        escalated.dutyManagerReplacedTam = who.dutyManagerReplacedTAM
        escalated.unstaffedReason = record.unstaffedReason
        escalated.slaCycleID = record.slaCycleID
        escalated.certificateID = view.snapshot.certificateID
        escalated.office = view.snapshot.office
        escalated.tier = view.snapshot.tier
        escalated.severity = view.snapshot.severity
        escalated.title = view.snapshot.title
        var event = Event()
        event.incidentID = incidentID
        event.occurredAt = .init(date: now)
        event.causationEventID = record.causeEventID
        event.payload = .escalated(escalated)
        return (record, event)
    }

    /// The effective roster of an incident's certificate: its office's
    /// roster, else the fallback roster, with the certificate's override on
    /// top; nil for either when there is none (the caller flags the gap).
    func roster(for snapshot: Snapshot, in db: Database) throws -> (Roster?, OfficeCalendar?) {
        let office = self.offices[snapshot.office]
        let base = try EscalationStore.roster(office: snapshot.office, in: db)
            ?? EscalationStore.roster(office: RosterRules.fallbackOffice, in: db)
        let override = try EscalationStore.roster(office: snapshot.office, certificate: snapshot.certificateID, in: db)
        guard let base else { return (override, office) }
        return (RosterRules.effective(office: base, override: override), office)
    }

    func status(_ incidentID: String, at now: Date, in db: Database) throws -> Support_Escalation_V1_EscalationStatus {
        guard let view = try EscalationStore.incident(incidentID, in: db) else {
            throw ServiceError(.notFound, reason: "INCIDENT_NOT_FOUND", "escalation knows no incident \(incidentID); check the id")
        }
        var status = Support_Escalation_V1_EscalationStatus()
        status.incidentID = incidentID
        status.certificateID = view.snapshot.certificateID
        status.office = view.snapshot.office
        status.tier = view.snapshot.tier
        status.severity = view.snapshot.severity
        status.state = view.snapshot.state
        status.side = view.snapshot.side
        status.currentLevel = view.level
        status.levelSince = .init(date: view.levelSince)
        let (roster, office) = try self.roster(for: view.snapshot, in: db)
        let who = RosterRules.responsibility(
            level: view.level, at: now, roster: roster, office: office, officeID: view.snapshot.office, certificateTAM: view.snapshot.tam
        )
        if let person = who.responsible { status.responsible = person }
        status.unstaffedReason = who.gap ?? ""
        if let last = try EscalationStore.records(of: incidentID, in: db).last { status.lastEscalation = last }
        return status
    }
}
