import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC

/// `support.escalation.v1.Escalation`.
struct EscalationRPCService: RPCService {
    let environment: ServiceEnvironment
    let engine: EscalationEngine

    var database: ServiceDatabase { self.environment.database }

    func register(into router: inout RPCRouter) {
        router.register(EscalationRPC.escalate) { request, context in
            let id = try Field.required(request.incidentID, "incident_id", "the incident to escalate")
            let contact = try Field.optional(request.contactEmail, "contact_email", max: Field.shortText)
            let actor = try Field.optional(request.actor, "actor", max: Field.shortText)
            // A call made for a contact escalates as that contact, and an
            // incident of another organisation does not exist for it.
            if case .contact(let email) = context.caller, contact.lowercased() != email || !actor.isEmpty {
                throw ServiceError(.permissionDenied, reason: "NOT_YOURSELF", field: "contact_email", "a call made for \(email) may escalate only as that contact")
            }
            guard contact.isEmpty != actor.isEmpty else {
                throw ServiceError.invalid("contact_email", "give either contact_email (a customer) or actor (staff), not \(contact.isEmpty ? "neither" : "both")")
            }
            let reason = try Field.optional(request.reason, "reason", max: 2000)
            if !actor.isEmpty && reason.isEmpty {
                throw ServiceError.invalid("reason", "staff escalations and de-escalations need a reason")
            }
            let requester: EscalationEngine.Requester = contact.isEmpty ? .staff(actor) : .customer(contact)
            return try await self.environment.writes.write(context) { db, now in
                if case .contact(let email) = context.caller, !(try EscalationStore.isContact(email, ofIncident: id, in: db)) {
                    throw ServiceError(.notFound, reason: "INCIDENT_NOT_FOUND", "escalation knows no incident \(id); check the id (it arrives from intake within moments of opening)")
                }
                let (record, escalated) = try self.engine.escalate(
                    id, by: requester, direction: request.direction == .down ? .down : .up,
                    reason: reason.isEmpty ? "escalated by the customer" : reason, at: now, in: db
                )
                return (record, [escalated])
            }
        }
        router.register(EscalationRPC.getEscalations) { request, _ in
            let id = try Field.required(request.incidentID, "incident_id", "the incident to show")
            let now = self.environment.clock.now()
            return try await self.database.writer.read { db in
                var response = Support_Escalation_V1_GetEscalationsResponse()
                response.status = try self.engine.status(id, at: now, in: db)
                response.records = try EscalationStore.records(of: id, in: db)
                return response
            }
        }
        router.register(EscalationRPC.listOpenEscalations) { request, _ in
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            let now = self.environment.clock.now()
            return try await self.database.writer.read { db in
                let fetched = try EscalationStore.openEscalated(
                    level: request.level.rawValue, office: request.office, offset: paging.offset, limit: paging.fetchLimit, in: db
                )
                let (rows, next) = paging.page(fetched)
                var response = Support_Escalation_V1_ListOpenEscalationsResponse()
                response.escalations = try rows.map { try self.engine.status($0.0, at: now, in: db) }
                response.nextPageToken = next
                return response
            }
        }
        router.register(EscalationRPC.responsible) { request, _ in
            let id = try Field.required(request.incidentID, "incident_id", "the incident whose responsible person to name")
            let at = request.hasAt ? request.at.date : self.environment.clock.now()
            return try await self.database.writer.read { db in
                guard let view = try EscalationStore.incident(id, in: db) else {
                    throw ServiceError(.notFound, reason: "INCIDENT_NOT_FOUND", "escalation knows no incident \(id); check the id")
                }
                let (roster, office) = try self.engine.roster(for: view.snapshot, in: db)
                let who = RosterRules.responsibility(
                    level: view.level, at: at, roster: roster, office: office, officeID: view.snapshot.office, certificateTAM: view.snapshot.tam
                )
                guard let responsible = who.responsible else {
                    throw ServiceError(.failedPrecondition, reason: "ROSTER_GAP", "\(who.gap ?? "nobody is responsible"); set it with `supportctl roster set`")
                }
                var response = Support_Escalation_V1_ResponsibleResponse()
                response.incidentID = id
                response.level = view.level
                if let person = who.levelOwner { response.levelOwner = person }
                response.responsible = responsible
                if let person = who.tamContact { response.tamContact = person }
                response.dutyManagerReplacedTam = who.dutyManagerReplacedTAM
                response.at = .init(date: at)
                response.rosterVersion = roster?.version ?? 0
                return response
            }
        }
        router.register(EscalationRPC.setRoster) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id changing the roster")
            let requested = request.roster
            try RosterRules.validate(requested)
            guard requested.office == RosterRules.fallbackOffice || self.engine.offices[requested.office] != nil else {
                throw ServiceError(
                    .notFound, reason: "UNKNOWN_OFFICE",
                    "there is no office \(requested.office); known offices: \(self.engine.offices.ids.joined(separator: ", ")), or \"\(RosterRules.fallbackOffice)\" for the fallback roster"
                )
            }
            return try await self.environment.writes.write(context) { db, now in
                var roster = RosterRules.normalised(requested)
                let current = try EscalationStore.roster(office: roster.office, certificate: roster.certificateID, in: db)
                let version = current?.version ?? 0
                guard request.expectedVersion == 0 || request.expectedVersion == version else {
                    throw ServiceError(.aborted, reason: "VERSION_MISMATCH", field: "expected_version", "the roster is at version \(version), not \(request.expectedVersion); re-read it and retry")
                }
                roster.version = version + 1
                roster.updatedBy = actor
                roster.updatedAt = .init(date: now)
                try EscalationStore.save(roster, in: db)
                // R-ORG-4, issue 23: notifier alerts from this roster once
                // the event reaches it, within moments.
                return Written(roster, events: [try EscalationStore.published(roster, in: db)])
            }
        }
        router.register(EscalationRPC.getRoster) { request, _ in
            let office = try Field.required(request.office, "office", "the office whose roster to show")
            return try await self.database.writer.read { db in
                guard let base = try EscalationStore.roster(office: office, in: db) else {
                    let fallback = try EscalationStore.roster(office: RosterRules.fallbackOffice, in: db) != nil
                    throw ServiceError(
                        .notFound, reason: "ROSTER_NOT_FOUND",
                        fallback
                            ? "office \(office) has no roster of its own and uses the fallback roster (`supportctl roster show --office '*'`); set one with `supportctl roster set`"
                            : "office \(office) has no roster and there is no fallback roster; set one with `supportctl roster set`"
                    )
                }
                guard !request.certificateID.isEmpty else { return base }
                let override = try EscalationStore.roster(office: office, certificate: request.certificateID, in: db)
                if request.effective { return RosterRules.effective(office: base, override: override) }
                guard let override else {
                    throw ServiceError(.notFound, reason: "ROSTER_NOT_FOUND", "certificate \(request.certificateID) has no roster override; ask with effective to see what applies")
                }
                return override
            }
        }
    }
}
