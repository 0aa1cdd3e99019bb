import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto

/// What notifier does with every other service's events, inside the inbox
/// transaction: keep its view of incidents and certificates, and create the
/// messages an event calls for, once per (event, template, recipient,
/// transport), so a redelivered event sends nothing twice.
struct NotifierEngine: Sendable {
    let config: NotifierConfig
    let offices: OfficeDirectory
    let templates: Templates
    let clock: any ServiceClock
    /// escalation's rosters as last heard (issue 23, R-ORG-4): every staff
    /// recipient is resolved from them.
    var rosterBook = RosterBook()

    var recipients: Recipients { Recipients(config: self.config, offices: self.offices, rosters: self.rosterBook.current) }

    /// Why an event cannot be applied (yet). An incident notifier has not
    /// heard of is early, not bad: `UNAVAILABLE`, so the producer delivers
    /// it again. An office or template problem needs an operator: the event
    /// is parked until they fix it and retry it (`supportctl events retry`).
    enum EngineError {
        static func unknownIncident(_ id: String, event: String) -> ServiceError {
            ServiceError(
                .unavailable, reason: "INCIDENT_NOT_YET_KNOWN",
                "notifier has not seen intake's events for \(id) yet (\(event) arrived first); deliver it again once they have arrived"
            )
        }

        static func unknownOffice(_ office: String, incident: String) -> ServiceError {
            ServiceError(
                .failedPrecondition, reason: "UNKNOWN_OFFICE",
                "incident \(incident) belongs to office \(office), which notifier's offices.json does not have; add it, restart notifier and retry the parked event"
            )
        }

        static func render(_ message: String) -> ServiceError {
            ServiceError(.failedPrecondition, reason: "TEMPLATE_FAILED", "\(message); fix the template, restart notifier and retry the parked event")
        }
    }

    /// One message to create: a template for one recipient, in its language.
    struct Draft {
        var template: String
        var recipient: Recipient
        var values: [String: Any]
        var transport: Support_Notifier_V1_Transport = .maildir
        /// Customers' mail is in their language (R-COM-3); staff's in English.
        var language = Templates.defaultLanguage
    }

    // MARK: Events

    func apply(_ event: Event, in db: Database) throws {
        if !event.incidentID.isEmpty { try NotifierStore.record(event, in: db) }
        // Incident snapshots and certificates, never going back to an older one.
        if try IntakeProjection.apply(event, in: db), let snapshot = event.incidentSnapshot {
            try NotifierStore.save(snapshot, incidentID: event.incidentID, in: db)
        }
        let at = event.occurredAt.date
        var drafts: [Draft] = []
        switch event.payload {
        case .rosterChanged(let changed):
            // R-ORG-4: the next alert goes to whoever this roster names.
            if try NotifierStore.save(changed.roster, in: db) { self.rosterBook.apply(changed.roster) }
        case .incidentOpened(let opened):
            drafts = try self.acknowledgement(opened.incident, incident: event.incidentID, in: db)
            // R-ORG-4: severity 1 and 2 reach the responsible person at once (issue 23).
            drafts += try self.arrivalAlert(incident: event.incidentID, raisedFrom: nil, at: at, in: db)
        case .severityChanged(let change):
            // R-SLA-7: the running cycle is re-targeted from its start, as sla-timer does.
            try self.trackDue(event, in: db)
            drafts = try self.arrivalAlert(incident: event.incidentID, raisedFrom: Int(change.fromSeverity), at: at, in: db)
        case .infoProvided, .reopened, .responseGiven, .workaroundProvided, .infoRequested, .resolved, .closed:
            try self.trackDue(event, in: db)
        case .articleAdded(let added):
            // R-COM-1: every public vendor article reaches the customer; the
            // closure's (R-SLA-6 and R-SCOPE included) is the one closure mail.
            drafts = try self.articleDrafts(added, incident: event.incidentID, at: at, in: db)
        case .slaWarning(let warning):
            let view = try self.view(event, in: db)
            try NotifierStore.setDue(warning.cycle.dueAt.date, incidentID: event.incidentID, in: db)
            var values = try self.values(event.incidentID, snapshot: view.snapshot, due: warning.cycle.dueAt.date)
            values["remaining"] = Self.duration(warning.remaining.seconds)
            // The responsible person at level 1 is the TAM, or the duty manager out of hours (R-ORG-4).
            if let staff = self.recipients.levelOwner(
                view.level, tam: view.snapshot.tam, office: view.snapshot.office, at: at, certificate: view.snapshot.certificateID
            ) {
                drafts.append(self.staffDraft("sla-warning", staff, values))
            }
        case .slaBreached(let breach):
            let view = try self.view(event, in: db)
            let due = breach.cycle.dueAt.date
            try NotifierStore.setDue(due, incidentID: event.incidentID, in: db)
            // The breach alert goes to the person responsible at the incident's
            // level and the TAM (or the duty manager, R-ORG-4). escalation's
            // Escalated event, which follows (R-ESC-3), tells the new level.
            var values = try self.values(event.incidentID, snapshot: view.snapshot, due: due)
            values["level"] = view.level
            values["level_name"] = Recipients.levelName(view.level)
            drafts = self.levelOwnerAndTAM(view, at: at).flatMap { self.staffDrafts("sla-breached", $0, values) }
        case .escalated(let escalated):
            let view = try self.view(event, in: db)
            let level = max(1, escalated.toLevel.rawValue)
            try NotifierStore.setLevel(level, incidentID: event.incidentID, in: db)
            var values = try self.values(event.incidentID, snapshot: view.snapshot, due: view.dueAt)
            values["level"] = level
            values["level_name"] = Recipients.levelName(level)
            values["from_level"] = max(1, escalated.fromLevel.rawValue)
            // escalation writes instants in UTC; staff read their office's time.
            let zone = try self.office(view.snapshot.office, incident: event.incidentID).timeZone
            values["reason"] = escalated.reason.isEmpty ? "\(escalated.trigger)" : Self.localisingTimestamps(escalated.reason, zone)
            // Issue 23: when escalation could not name everyone, the
            // fallback duty address learns why (first, so that its mail is
            // the one kept when it is also who stands in).
            drafts = escalated.unstaffedReason.isEmpty ? [] : self.unstaffedAlert(escalated, office: view.snapshot.office, values: values)
            let alerted = Set(drafts.map { $0.recipient.email.lowercased() })
            drafts += Self.unique(self.escalationStaff(escalated, view: view, level: level, at: at))
                .filter { !alerted.contains($0.recipient.email.lowercased()) }
                .flatMap { self.staffDrafts("escalated", $0, values) }
            if escalated.trigger == .customer {
                // R-ESC-2: the customer learns its escalation arrived and who owns the incident now.
                drafts += try self.escalationReceived(escalated, incident: event.incidentID, view: view, level: level, at: at, in: db)
            }
        case .customerTimeoutWarning(let warning):
            let view = try self.view(event, in: db)
            let zone = try self.office(view.snapshot.office, incident: event.incidentID).timeZone
            var values = try self.values(event.incidentID, snapshot: view.snapshot, due: nil)
            values["closes_local"] = LocalTime.text(warning.closesAt.date, zone)
            values["waiting_local"] = LocalTime.text(warning.waitingSince.date, zone)
            // R-SLA-6: the warning quotes what was asked and when.
            if let asked = try NotifierStore.infoRequest(event.incidentID, in: db) {
                values["asked"] = ["text": asked.text, "at_local": LocalTime.text(asked.askedAt, zone)]
            }
            drafts = Self.customerDrafts("customer-timeout-warning", view.snapshot, values)
        case .slaMet(let met):
            // A met cycle of an incident not yet known changes nothing notifier shows.
            let known = try NotifierStore.incident(event.incidentID, in: db) != nil
            guard met.withdrawsBreach || known else { break }
            let view = try self.view(event, in: db)
            try self.cycleMet(met, incident: event.incidentID, snapshot: view.snapshot, in: db)
            guard met.withdrawsBreach else { break }
            // The breach alert went to the level's owner and the TAM: they
            // learn it was wrong. An escalation it caused is undone by
            // escalation, whose Escalated event says so separately.
            var values = try self.values(event.incidentID, snapshot: view.snapshot, due: met.cycle.dueAt.date)
            values["met_local"] = try LocalTime.text(met.metAt.date, self.office(view.snapshot.office, incident: event.incidentID).timeZone)
            values["level"] = view.level
            values["level_name"] = Recipients.levelName(view.level)
            drafts = self.levelOwnerAndTAM(view, at: at).map { self.staffDraft("sla-breach-withdrawn", $0, values) }
        case .healthCheckFindingsRecorded(let recorded):
            try self.healthCheckFindings(recorded, event: event, in: db)  // R-HC-1, NotifierEngine+HealthChecks
        default:
            break
        }
        let now = self.clock.now()
        for draft in drafts {
            let key = "\(event.eventID)|\(draft.template)|\(draft.recipient.email.lowercased())|\(draft.transport.rawValue)"
            try self.create(draft, incident: event.incidentID, eventID: event.eventID, certificate: event.incidentSnapshot?.certificateID ?? "", now: now, dedupKey: key, in: db)
        }
    }

    /// R-SLA-3: the acknowledgement states the due time and, for severity 1
    /// out of hours by a non-phone channel, tells the customer to call.
    private func acknowledgement(_ snapshot: Snapshot, incident: String, in db: Database) throws -> [Draft] {
        let office = try self.office(snapshot.office, incident: incident)
        let received = snapshot.openedAt.date
        let start = snapshot.phoneAdvised ? (office.nextOpening(atOrAfter: received) ?? received) : received
        let due = ResponseTimeTarget(severity: Int(snapshot.severity))?.due(from: start, office: office)
        try NotifierStore.setDue(due, incidentID: incident, in: db)
        var values = try self.values(incident, snapshot: snapshot, due: due)
        values["phone_advised"] = snapshot.phoneAdvised
        values["priority_line"] = self.config.priorityLine
        return Self.customerDrafts("incident-opened", snapshot, values)
    }

    /// The mail to the fallback duty address about an escalation made
    /// without full staff (issue 23), or none when no roster names one
    /// (escalation's log and metric still show it).
    private func unstaffedAlert(_ escalated: Support_Events_V1_Escalated, office: String, values: [String: Any]) -> [Draft] {
        guard let duty = self.recipients.fallbackDuty(office: escalated.office.isEmpty ? office : escalated.office) else { return [] }
        var values = values
        values["reason"] = "\(values["reason"] ?? "")\nNOT FULLY STAFFED: \(escalated.unstaffedReason). Find who takes it and fix the roster (`supportctl roster set`)."
        var draft = self.staffDraft("escalated", duty, values)
        draft.values["role"] = "fallback duty address: escalation could not name everyone"
        draft.values["duty_manager"] = false
        return [draft]
    }

    private func escalationStaff(_ escalated: Support_Events_V1_Escalated, view: NotifierStore.IncidentView, level: Int, at: Date) -> [Recipients.Staff] {
        var staff: [Recipients.Staff] = []
        let office = escalated.office.isEmpty ? view.snapshot.office : escalated.office
        // escalation resolved the roster already; use its people when present.
        if escalated.hasResponsible, !escalated.responsible.email.isEmpty {
            let role: Support_Notifier_V1_RecipientRole =
                level == 1 ? (escalated.dutyManagerReplacedTam ? .dutyManager : .tam) : level == 2 ? .supportLead : .businessAccountManager
            staff.append(.init(recipient: Recipients.recipient(name: escalated.responsible.name, email: escalated.responsible.email, phone: escalated.responsible.phone, role: role), standsInForTAM: level == 1 && escalated.dutyManagerReplacedTam))
        } else if let owner = self.recipients.levelOwner(level, tam: view.snapshot.tam, office: office, at: at, certificate: view.snapshot.certificateID) {
            staff.append(owner)
        }
        if escalated.hasTamContact, !escalated.tamContact.email.isEmpty {
            let person = escalated.tamContact
            staff.append(.init(recipient: Recipients.recipient(name: person.name, email: person.email, phone: person.phone, role: escalated.dutyManagerReplacedTam ? .dutyManager : .tam), standsInForTAM: escalated.dutyManagerReplacedTam))
        } else if let tam = self.recipients.tamOrDutyManager(tam: view.snapshot.tam, office: office, at: at, certificate: view.snapshot.certificateID) {
            staff.append(tam)
        }
        return staff
    }

    // MARK: Pieces

    /// Who is told of a breach (and of its withdrawal): the person
    /// responsible at the incident's level and the TAM, or the duty manager
    /// out of the TAM's hours (R-ORG-4), each once.
    func levelOwnerAndTAM(_ view: NotifierStore.IncidentView, at: Date) -> [Recipients.Staff] {
        let (tam, office, certificate) = (view.snapshot.tam, view.snapshot.office, view.snapshot.certificateID)
        return Self.unique([
            self.recipients.levelOwner(view.level, tam: tam, office: office, at: at, certificate: certificate),
            self.recipients.tamOrDutyManager(tam: tam, office: office, at: at, certificate: certificate),
        ].compactMap { $0 })
    }

    func staffDraft(_ template: String, _ staff: Recipients.Staff, _ values: [String: Any]) -> Draft {
        var values = values
        values["recipient_name"] = staff.recipient.name
        values["role"] = Recipients.roleName(staff.recipient.role)
        values["duty_manager"] = staff.standsInForTAM
        return Draft(template: template, recipient: staff.recipient, values: values)
    }

    /// A staff message, plus a call task when the operator wants this kind by phone too.
    private func staffDrafts(_ template: String, _ staff: Recipients.Staff, _ values: [String: Any]) -> [Draft] {
        let mail = self.staffDraft(template, staff, values)
        guard self.config.phoneTemplates.contains(template), !staff.recipient.phone.isEmpty else { return [mail] }
        var call = mail
        call.transport = .phone
        return [mail, call]
    }

    /// One draft of `template` per customer addressee of the incident (the
    /// reporting contact and the cc contacts), each in its language.
    static func customerDrafts(_ template: String, _ snapshot: Snapshot, _ values: [String: Any]) -> [Draft] {
        Recipients.customer(snapshot).map { self.customerDraft(template, $0, values) }
    }

    static func customerDraft(_ template: String, _ addressee: Recipients.Addressee, _ values: [String: Any]) -> Draft {
        var values = values
        values["recipient_name"] = addressee.recipient.name
        return Draft(template: template, recipient: addressee.recipient, values: values, language: addressee.language)
    }

    static func unique(_ staff: [Recipients.Staff]) -> [Recipients.Staff] {
        var seen = Set<String>()
        return staff.filter { seen.insert($0.recipient.email.lowercased()).inserted }
    }

    /// What every template of an incident may show. Times are the
    /// office's local time with its zone ("2026-12-07 10:30 JST", R-COM-3);
    /// `due_local` is absent when no response is pending, so each language
    /// says so in its own words.
    func values(_ incident: String, snapshot: Snapshot, due: Date?) throws -> [String: Any] {
        let zone = try self.office(snapshot.office, incident: incident).timeZone
        var values: [String: Any] = [
            "incident": incident, "severity": Int(snapshot.severity), "title": snapshot.title, "customer": snapshot.customer,
            "recipient_name": Recipients.contact(snapshot).name, "role": "reporting contact", "level": 1, "level_name": "TAM",
        ]
        if let due { values["due_local"] = LocalTime.text(due, zone) }
        return values
    }

    /// Renders `draft` and stores it as a pending message, unless `dedupKey` exists.
    @discardableResult
    func create(
        _ draft: Draft, incident: String, eventID: String, certificate: String, now: Date, dedupKey: String,
        notBefore: Date? = nil, reportDay: String? = nil, state: Support_Notifier_V1_MessageState = .pending, reason: String = "",
        statusReport: StatusReportContent? = nil, in db: Database
    ) throws -> Message {
        let rendered: Templates.Rendered
        do { rendered = try self.templates.render(draft.template, language: draft.language, draft.values) } catch { throw EngineError.render("\(error)") }
        var message = Message()
        message.eventID = eventID
        message.incidentID = incident
        message.certificateID = certificate
        message.templateName = draft.template
        message.recipients = [draft.recipient]
        message.subject = rendered.subject
        message.body = rendered.body
        message.transport = draft.transport == .phone ? .phone : (self.config.transport == .sendmail ? .sendmail : .maildir)
        message.state = state
        message.suppressedReason = reason
        message.createdAt = .init(date: now)
        if state == .pending { message.nextAttemptAt = .init(date: now) }
        if let notBefore { message.notBefore = .init(date: notBefore) }
        if let statusReport { message.statusReport = statusReport }
        return try NotifierStore.insert(message, dedupKey: dedupKey, reportDay: reportDay, in: db)
    }

    func office(_ id: String, incident: String) throws -> OfficeCalendar {
        guard let office = self.offices[id] else { throw EngineError.unknownOffice(id, incident: incident) }
        return office
    }

    private func view(_ event: Event, in db: Database) throws -> NotifierStore.IncidentView {
        guard let view = try NotifierStore.incident(event.incidentID, in: db) else {
            throw EngineError.unknownIncident(event.incidentID, event: "\(event.producer) event \(event.eventID)")
        }
        return view
    }

    static func duration(_ seconds: Int64) -> String {
        let minutes = max(0, seconds) / 60
        return minutes >= 60 ? "\(minutes / 60)h\(minutes % 60 == 0 ? "" : "\(minutes % 60)m")" : "\(minutes)m"
    }
}
