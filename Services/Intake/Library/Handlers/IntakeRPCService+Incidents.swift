import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC

extension IntakeRPCService {
    func registerIncidents(into router: inout RPCRouter) {
        router.registerEncoded(IntakeRPC.openIncident) { request, context in
            let certificateID = try Field.required(request.certificateID, "certificate_id", "the certificate the incident is under")
            let email = try Field.required(request.contactEmail, "contact_email", "the authorised contact reporting it (R-ORG-3)")
            guard request.channel != .unspecified, Channel.allCases.contains(request.channel) else {
                throw ServiceError.missing("channel", "portal, phone, email or tam")
            }
            guard request.kind != .unspecified, Support_Common_V1_IncidentKind.allCases.contains(request.kind) else {
                throw ServiceError.missing("kind", "product, outbreak, malware, false-positive, service, definitions-release or patch")
            }
            guard (1...4).contains(request.severity) else {
                throw ServiceError.invalid("severity", "severity is 1 (critical) to 4 (low), not \(request.severity) (R-SEV-1)")
            }
            try Self.actsForItself(context.caller, contactEmail: email)
            let title = try Field.required(request.title, "title", "a one-line summary")
            let description = try Field.optional(request.description_p, "description")
            let actor = try Field.optional(request.actor, "actor", max: Field.shortText)

            // The incident's document is the response: sent as stored.
            return try await self.writes.writeEncoded(context) { db, now in
                guard let certificate = try self.accounts.certificate(certificateID, in: db) else {
                    throw ServiceError.notFound("certificate", certificateID)
                }
                let contact = try CertificateRules.authorise(email, on: certificate, at: now)
                let policy = ChannelPolicy(
                    businessHoursNow: self.offices.isOpen(certificate.office, at: now),
                    companyAccountAvailable: try self.accounts.companyAccount(in: db).available,
                    hoursSummary: self.offices.summary(certificate.office)
                )
                try policy.check(request.channel, severity: request.severity)

                let number = try IntakeStore.nextNumber(.incident, in: db)
                var incident = Incident()
                incident.id = numberedID("INC-", number, digits: 6)
                incident.certificateID = certificate.id
                incident.customer = certificate.customer
                incident.tier = certificate.tier
                incident.office = certificate.office
                incident.tam = certificate.tam
                incident.contact = contact
                incident.channel = request.channel
                incident.kind = request.kind
                incident.severity = request.severity
                incident.title = title
                incident.description_p = description
                incident.state = .new
                incident.side = .vendor
                incident.sideSince = .init(date: now)
                incident.phoneAdvised = policy.phoneAdvised(request.channel, severity: request.severity)  // R-SLA-3
                incident.openedAt = .init(date: now)
                incident.updatedAt = .init(date: now)
                // As intake.proto says: the staff id that recorded it, empty
                // when the contact opened it themselves.
                incident.enteredBy = actor
                var first = Support_Intake_V1_SeverityChange()
                first.toSeverity = request.severity
                first.changedBy = contact.email
                first.at = .init(date: now)
                first.reason = "reported"
                incident.severityHistory = [first]
                let document = try IntakeStore.insert(incident, number: number, in: db)

                var opened = Support_Events_V1_IncidentOpened()
                opened.description_p = description
                let snapshot = IncidentSnapshots.snapshot(of: incident, previous: (.unspecified, .unspecified))
                let event = IncidentSnapshots.event(.incidentOpened(opened), snapshot: snapshot, incidentID: incident.id, at: now)
                return Written(incident, events: [event], encoded: document)
            }
        }

        router.register(IntakeRPC.getIncident) { request, context in
            let id = try Field.required(request.incidentID, "incident_id", "the incident to show")
            return try await self.writes.read(context) { db in
                guard let incident = try IntakeStore.incident(id, in: db),
                    try Self.visible(incident, to: context.caller, in: db)
                else { throw ServiceError.notFound("incident", id) }
                return incident
            }
        }

        router.register(IntakeRPC.listIncidents) { request, context in
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            guard (0...4).contains(request.severity) else {
                throw ServiceError.invalid("severity", "severity filters by 1 to 4 (0 for all), not \(request.severity)")
            }
            return try await self.writes.read(context) { db in
                let filter = IntakeStore.QueueFilter(
                    certificateID: try Self.certificateFilter(request.certificateID, for: context.caller, in: db),
                    office: request.office, states: request.states, side: request.side, severity: request.severity
                )
                let (incidents, next) = paging.page(try IntakeStore.queue(filter, offset: paging.offset, limit: paging.fetchLimit, in: db))
                var response = Support_Intake_V1_ListIncidentsResponse()
                response.nextPageToken = next
                response.incidents = incidents.map { incident in
                    var summary = incident
                    summary.severityHistory = []
                    summary.conversation = []
                    summary.transitions = []
                    return summary
                }
                return response
            }
        }

        router.register(IntakeRPC.respond) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id answering")
            let text = try Field.required(request.text, "text", "the answer", max: Field.longText)
            return try await self.change(request.incidentID, context) { lifecycle, _, _ in
                try lifecycle.respond(actor: actor, text: text, via: request.via == .unspecified ? .portal : request.via)
            }
        }
        router.register(IntakeRPC.requestInfo) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id asking")
            let text = try Field.required(request.text, "text", "what the customer must provide or do", max: Field.longText)
            return try await self.change(request.incidentID, context) { lifecycle, _, _ in
                try lifecycle.requestInfo(actor: actor, text: text)
            }
        }
        router.register(IntakeRPC.provideInfo) { request, context in
            let email = try Field.required(request.contactEmail, "contact_email", "the authorised contact answering (R-ORG-3)")
            try Self.actsForItself(context.caller, contactEmail: email)
            let text = try Field.required(request.text, "text", "the information", max: Field.longText)
            return try await self.change(request.incidentID, context) { lifecycle, certificate, now in
                let contact = try CertificateRules.authorise(email, on: certificate, at: now)
                try lifecycle.provideInfo(contact: contact.email, text: text)
            }
        }
        router.register(IntakeRPC.resolve) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id resolving")
            let resolution = try Field.required(request.resolution, "resolution", "what resolved it", max: Field.longText)
            return try await self.change(request.incidentID, context) { lifecycle, _, _ in
                try lifecycle.resolve(actor: actor, resolution: resolution)
            }
        }
        router.register(IntakeRPC.reopen) { request, context in
            let reason = try Field.required(request.reason, "reason", "why it is reopened", max: Field.longText)
            let party = try Self.party(contact: request.contactEmail, actor: request.actor)
            try Self.actsForItself(context.caller, party: party)
            return try await self.change(request.incidentID, context) { lifecycle, certificate, now in
                if case .contact(let email) = party { _ = try CertificateRules.authorise(email, on: certificate, at: now) }
                try lifecycle.reopen(by: party.name, reason: reason)
            }
        }
        router.register(IntakeRPC.close) { request, context in
            let party = try Self.party(contact: request.contactEmail, actor: request.actor)
            try Self.actsForItself(context.caller, party: party)
            let reason = try Self.validated(request.reason)
            if case .contact = party, reason.kind != .resolved {
                throw ServiceError(.permissionDenied, reason: "STAFF_ONLY", field: "reason.kind", "a customer contact may close an incident only by accepting its resolution; out-of-scope and not-reproducible closures are the vendor's")
            }
            return try await self.change(request.incidentID, context) { lifecycle, certificate, now in
                if case .contact(let email) = party {
                    let contact = try CertificateRules.authorise(email, on: certificate, at: now)
                    try lifecycle.close(by: contact.email, reason: reason)
                } else {
                    try lifecycle.close(by: party.name, reason: reason)
                }
            }
        }
        router.register(IntakeRPC.setSeverity) { request, context in
            guard (1...4).contains(request.severity) else {
                throw ServiceError.invalid("severity", "severity is 1 (critical) to 4 (low), not \(request.severity) (R-SEV-1)")
            }
            let actor = try Field.required(request.actor, "actor", "the staff id re-classifying")
            let reason = try Field.required(request.reason, "reason", "why the level changes (R-SEV-1 keeps who, when and why)", max: Field.longText)
            return try await self.change(request.incidentID, context) { lifecycle, _, _ in
                try lifecycle.setSeverity(request.severity, actor: actor, reason: reason)
            }
        }
        router.register(IntakeRPC.provideWorkaround) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id giving the workaround")
            let text = try Field.required(request.text, "text", "the workaround", max: Field.longText)
            return try await self.change(request.incidentID, context) { lifecycle, _, _ in
                try lifecycle.provideWorkaround(actor: actor, text: text)
            }
        }
        router.register(IntakeRPC.addNote) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id writing the note")
            let text = try Field.required(request.text, "text", "the note", max: Field.longText)
            return try await self.change(request.incidentID, context) { lifecycle, _, _ in
                try lifecycle.addNote(actor: actor, text: text)
            }
        }
        router.register(IntakeRPC.closeForCustomerTimeout) { request, context in
            guard request.hasWaitingSince else { throw ServiceError.missing("waiting_since", "when the incident went to the customer's side") }
            return try await self.change(request.incidentID, context) { lifecycle, _, _ in
                try lifecycle.closeForCustomerTimeout(waitingSince: request.waitingSince.date)
            }
        }
    }

    /// Loads an incident and its certificate, runs one lifecycle step, and
    /// stores the incident with the events the step caused.
    func change(
        _ incidentID: String,
        _ context: ServerContext,
        _ step: @escaping @Sendable (inout IncidentLifecycle, Certificate, Date) throws -> Void
    ) async throws -> Incident {
        let id = try Field.required(incidentID, "incident_id", "the incident to act on")
        return try await self.writes.write(context) { db, now in
            guard let incident = try IntakeStore.incident(id, in: db), try Self.visible(incident, to: context.caller, in: db) else {
                throw ServiceError.notFound("incident", id)
            }
            guard let certificate = try IntakeStore.certificate(incident.certificateID, in: db) else {
                throw RPCError(.internal, "incident \(id) refers to a missing certificate \(incident.certificateID)")
            }
            var lifecycle = IncidentLifecycle(incident, now: now)
            try step(&lifecycle, certificate, now)
            if lifecycle.incident != incident { try IntakeStore.update(lifecycle.incident, in: db) }
            let events = lifecycle.events.map {
                IncidentSnapshots.event($0.payload, snapshot: $0.snapshot, incidentID: id, at: now)
            }
            return (lifecycle.incident, events)
        }
    }

    // MARK: What a customer contact may see (issue 10)

    /// A call made for a contact sees only the incidents of certificates it
    /// is a contact on; to it, the others do not exist (NOT_FOUND, so ids
    /// leak nothing about other organisations).
    static func visible(_ incident: Incident, to caller: Caller, in db: Database) throws -> Bool {
        guard case .contact(let email) = caller else { return true }
        guard let certificate = try IntakeStore.certificate(incident.certificateID, in: db) else { return false }
        return certificate.contacts.contains { $0.email.lowercased() == email }
    }

    /// The certificate a contact's incident list is limited to: the one it
    /// names, or its only one.
    static func certificateFilter(_ requested: String, for caller: Caller, in db: Database) throws -> String {
        guard case .contact(let email) = caller else { return requested }
        let own = try IntakeStore.certificates(withContact: email, in: db)
        if !requested.isEmpty {
            guard own.contains(requested) else { throw ServiceError.notFound("certificate", requested) }
            return requested
        }
        guard own.count == 1, let only = own.first else {
            if own.isEmpty { throw ServiceError.notFound("certificate", "for \(email)") }
            throw ServiceError.missing("certificate_id", "which of your certificates: \(own.sorted().joined(separator: ", "))")
        }
        return only
    }

    /// A call made for a contact acts as that contact, not as another one.
    static func actsForItself(_ caller: Caller, contactEmail: String) throws {
        guard case .contact(let email) = caller, contactEmail.lowercased().trimmingCharacters(in: .whitespaces) != email else { return }
        throw ServiceError(.permissionDenied, reason: "NOT_YOURSELF", field: "contact_email", "a call made for \(email) may act only as that contact")
    }

    static func actsForItself(_ caller: Caller, party: Party) throws {
        switch party {
        case .contact(let email): try Self.actsForItself(caller, contactEmail: email)
        case .staff:
            if case .contact(let email) = caller {
                throw ServiceError(.permissionDenied, reason: "NOT_YOURSELF", field: "actor", "a call made for \(email) may not act as staff")
            }
        }
    }

    enum Party {
        case contact(String)
        case staff(String)

        var name: String {
            switch self {
            case .contact(let email): email.lowercased()
            case .staff(let actor): actor
            }
        }
    }

    /// Exactly one of a contact and a staff actor acts.
    static func party(contact: String, actor: String) throws -> Party {
        let contact = contact.trimmingCharacters(in: .whitespaces)
        let actor = actor.trimmingCharacters(in: .whitespaces)
        switch (contact.isEmpty, actor.isEmpty) {
        case (false, true): return .contact(contact)
        case (true, false): return .staff(actor)
        default:
            throw ServiceError.invalid("contact_email", "give either contact_email (a customer) or actor (staff), not \(contact.isEmpty ? "neither" : "both")")
        }
    }

    static func validated(_ reason: Support_Common_V1_ClosureReason) throws -> Support_Common_V1_ClosureReason {
        switch reason.kind {
        case .resolved, .notReproducible:
            return reason
        case .outOfScope:
            guard reason.outOfScopeReason != .unspecified,
                Support_Common_V1_OutOfScopeReason.allCases.contains(reason.outOfScopeReason)
            else {
                throw ServiceError.missing("reason.out_of_scope_reason", "which R-SCOPE-3 reason puts it out of scope")
            }
            return reason
        case .customerTimeout:
            throw ServiceError.invalid("reason.kind", "customer-timeout closures are sla-timer's alone (R-SLA-6)")
        default:
            throw ServiceError.missing("reason.kind", "resolved, out-of-scope or not-reproducible")
        }
    }
}
