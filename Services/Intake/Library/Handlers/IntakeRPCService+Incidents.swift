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

            // For staff the incident's document is the response: sent as
            // stored, its thread after it.
            return try await self.writes.writeEncoded(context) { db, now in
                guard let certificate = try self.accounts.certificate(certificateID, in: db) else {
                    throw ServiceError.notFound("certificate", certificateID)
                }
                // Issue 22: the contact as it is now, with the language its
                // mail is written in.
                let contact = CertificateRules.resolved(
                    try CertificateRules.authorise(email, on: certificate, at: now), certificateLanguage: self.language(of: certificate)
                )
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
                // The thread starts with the customer's description (issue 22).
                var described = IncidentThread.article(
                    .description_, author: contact.email, direction: .fromCustomer, channel: request.channel, text: description,
                    at: now, enteredBy: actor
                )
                described.number = 1
                incident.thread = [described]
                let document = try IntakeStore.insert(incident, number: number, in: db)

                var opened = Support_Events_V1_IncidentOpened()
                opened.description_p = description
                let snapshot = IncidentSnapshots.snapshot(of: incident, previous: (.unspecified, .unspecified))
                var added = Support_Events_V1_ArticleAdded()
                added.article = described
                let events = [
                    IncidentSnapshots.event(.incidentOpened(opened), snapshot: snapshot, incidentID: incident.id, at: now),
                    IncidentSnapshots.event(
                        .articleAdded(added), snapshot: IncidentSnapshots.snapshot(of: incident, previous: (incident.state, incident.side)),
                        incidentID: incident.id, at: now
                    ),
                ]
                let shown = IncidentView.shown(incident, to: context.caller)
                if case .contact = context.caller { return Written(shown, events: events) }
                // Staff are shown the incident whole, and the description is
                // not part of the deprecated conversation: `shown` is the
                // document with its thread. A repeated field may follow the
                // others on the wire; decoders append it.
                let thread = try Incident.with { $0.thread = incident.thread }.serializedBytes() as Data
                return Written(shown, events: events, encoded: document + thread)
            }
        }

        router.register(IntakeRPC.getIncident) { request, context in
            let id = try Field.required(request.incidentID, "incident_id", "the incident to show")
            return try await self.writes.read(context) { db in
                guard let incident = try self.incident(id, in: db), try Self.visible(incident, to: context.caller, in: db) else {
                    throw ServiceError.notFound("incident", id)
                }
                return IncidentView.shown(incident, to: context.caller)
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
                response.incidents = try incidents.map { incident in
                    var summary = incident
                    summary.severityHistory = []
                    summary.transitions = []
                    // Without the thread (intake.proto), so without the
                    // conversation derived from it.
                    summary.thread = []
                    try self.resolveLanguages(of: &summary, in: db)
                    return IncidentView.shown(summary, to: context.caller)
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
            let (via, actor) = try Self.recorded(via: request.via, actor: request.actor, caller: context.caller)
            return try await self.change(request.incidentID, context) { lifecycle, certificate, now in
                let contact = try CertificateRules.authorise(email, on: certificate, at: now)
                try lifecycle.provideInfo(contact: contact.email, text: text, via: via, enteredBy: actor)
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
                if case .contact(let email) = party {
                    let contact = try CertificateRules.authorise(email, on: certificate, at: now)
                    try lifecycle.reopen(by: contact.email, byCustomer: true, reason: reason)
                } else {
                    try lifecycle.reopen(by: party.name, byCustomer: false, reason: reason)
                }
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
                    try lifecycle.close(by: contact.email, byCustomer: true, reason: reason)
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
    /// stores the incident, the articles the step added and the events it
    /// caused. Answers with the incident as the caller may see it
    /// (``IncidentView``).
    ///
    /// - Parameter alsoStore: Writes what belongs with the step in the same
    ///   transaction, after the incident and its new articles (an
    ///   attachment's bytes under its article's number).
    func change(
        _ incidentID: String,
        _ context: ServerContext,
        alsoStore: (@Sendable (Database, IncidentLifecycle) throws -> Void)? = nil,
        _ step: @escaping @Sendable (inout IncidentLifecycle, Certificate, Date) throws -> Void
    ) async throws -> Incident {
        let id = try Field.required(incidentID, "incident_id", "the incident to act on")
        return try await self.writes.write(context) { db, now in
            guard let incident = try self.incident(id, in: db), try Self.visible(incident, to: context.caller, in: db) else {
                throw ServiceError.notFound("incident", id)
            }
            guard let certificate = try IntakeStore.certificate(incident.certificateID, in: db) else {
                throw RPCError(.internal, "incident \(id) refers to a missing certificate \(incident.certificateID)")
            }
            var lifecycle = IncidentLifecycle(incident, now: now)
            try step(&lifecycle, certificate, now)
            if lifecycle.incident != incident {
                try IntakeStore.update(lifecycle.incident, adding: lifecycle.addedArticles, in: db)
            }
            try alsoStore?(db, lifecycle)
            let events = lifecycle.events.map {
                IncidentSnapshots.event($0.payload, snapshot: $0.snapshot, incidentID: id, at: now)
            }
            return (IncidentView.shown(lifecycle.incident, to: context.caller), events)
        }
    }

    /// The incident with its whole thread (``IntakeStore/incident(_:in:)``),
    /// its contacts' languages resolved: what every handler works on.
    func incident(_ id: String, in db: Database) throws -> Incident? {
        guard var incident = try IntakeStore.incident(id, in: db) else { return nil }
        try self.resolveLanguages(of: &incident, in: db)
        return incident
    }

    /// Fills the reporting contact's and the cc contacts' languages where
    /// the incident has none (opened before issue 22): the certificate's.
    func resolveLanguages(of incident: inout Incident, in db: Database) throws {
        guard incident.contact.language.isEmpty || incident.cc.contains(where: { $0.language.isEmpty }) else { return }
        let language = try self.accounts.certificate(incident.certificateID, in: db).map(self.language(of:))
            ?? self.offices.language(incident.office)
        incident.contact = CertificateRules.resolved(incident.contact, certificateLanguage: language)
        incident.cc = incident.cc.map { CertificateRules.resolved($0, certificateLanguage: language) }
    }

    /// A certificate's mail language: its own, else its office's.
    func language(of certificate: Certificate) -> String {
        CertificateRules.language(of: certificate, officeLanguage: self.offices.language(certificate.office))
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

    /// How a customer's message came, and who recorded it: the portal (the
    /// contact wrote it), or mail or phone recorded for the contact by
    /// staff (`actor`). A call made for a contact records nothing as staff.
    static func recorded(via: Channel, actor: String, caller: Caller) throws -> (Channel, String) {
        let via = via == .unspecified ? Channel.portal : via
        let actor = try Field.optional(actor, "actor", max: Field.shortText)
        if !actor.isEmpty, case .contact(let email) = caller {
            throw ServiceError(.permissionDenied, reason: "NOT_YOURSELF", field: "actor", "a call made for \(email) may not record a message as staff; leave actor empty")
        }
        if !actor.isEmpty && via == .portal {
            throw ServiceError.invalid("via", "staff record a message that came by email or phone (via); a portal message is the contact's own, without actor")
        }
        if actor.isEmpty && via == .phone {
            throw ServiceError.missing("actor", "the staff id that took the call: a phone message is recorded by staff")
        }
        return (via, actor)
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
