import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC

extension IntakeRPCService {
    /// Problems and known errors (section 3, R-SEV-4).
    func registerProblems(into router: inout RPCRouter) {
        router.register(IntakeRPC.createProblem) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id recording the problem")
            let title = try Field.required(request.title, "title", "what the problem is")
            let description = try Field.optional(request.description_p, "description")
            return try await self.writes.write(context) { db, now in
                let number = try IntakeStore.nextNumber(.problem, in: db)
                var problem = Problem()
                problem.id = numberedID("PRB-", number, digits: 5)
                problem.title = title
                problem.description_p = description
                problem.state = .open
                problem.createdBy = actor
                problem.createdAt = .init(date: now)
                try IntakeStore.save(problem, number: number, in: db)
                var events: [Support_Events_V1_Event] = []
                for incidentID in request.incidentIds {
                    events += try self.link(incidentID, to: &problem, by: actor, at: now, in: db).events
                }
                try IntakeStore.save(problem, in: db)
                return (problem, events)
            }
        }
        router.register(IntakeRPC.linkIncident) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id linking")
            let problemID = try Field.required(request.problemID, "problem_id", "the problem")
            let incidentID = try Field.required(request.incidentID, "incident_id", "the incident to link")
            return try await self.writes.write(context) { db, now in
                guard var problem = try IntakeStore.problem(problemID, in: db) else { throw ServiceError.notFound("problem", problemID) }
                let (reclassified, events) = try self.link(incidentID, to: &problem, by: actor, at: now, in: db)
                try IntakeStore.save(problem, in: db)
                var response = Support_Intake_V1_LinkIncidentResponse()
                response.problem = problem
                response.reclassified = reclassified
                return (response, events)
            }
        }
        router.register(IntakeRPC.recordKnownError) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id recording it")
            let problemID = try Field.required(request.problemID, "problem_id", "the problem")
            let rootCause = try Field.required(request.rootCause, "root_cause", "the identified root cause", max: Field.longText)
            let workaround = try Field.optional(request.workaround, "workaround")
            let fix = try Field.optional(request.permanentFix, "permanent_fix")
            guard !workaround.isEmpty || !fix.isEmpty else {
                throw ServiceError.missing("workaround", "a known error has a workaround or a permanent fix")
            }
            return try await self.writes.write(context) { db, now in
                guard var problem = try IntakeStore.problem(problemID, in: db) else { throw ServiceError.notFound("problem", problemID) }
                let hadWorkaround = !problem.workaround.isEmpty
                problem.rootCause = rootCause
                problem.workaround = workaround
                problem.permanentFix = fix
                problem.state = .knownError
                problem.knownErrorBy = actor
                problem.knownErrorAt = .init(date: now)
                try IntakeStore.save(problem, in: db)
                var response = Support_Intake_V1_RecordKnownErrorResponse()
                var events: [Support_Events_V1_Event] = []
                // R-SEV-4: the workaround reaches every open linked incident once.
                if !workaround.isEmpty && !hadWorkaround {
                    for incidentID in problem.incidentIds {
                        guard let incident = try self.incident(incidentID, in: db),
                            [.new, .inProgress, .waitingCustomer].contains(incident.state)
                        else { continue }
                        var lifecycle = IncidentLifecycle(incident, now: now)
                        try lifecycle.provideWorkaround(actor: actor, text: workaround, problemID: problem.id)
                        try IntakeStore.update(lifecycle.incident, adding: lifecycle.addedArticles, in: db)
                        if incident.severity == 1 { response.reclassifiedIncidentIds.append(incidentID) }
                        events += lifecycle.events.map { IncidentSnapshots.event($0.payload, snapshot: $0.snapshot, incidentID: incidentID, at: now) }
                    }
                }
                response.problem = problem
                return (response, events)
            }
        }
        router.register(IntakeRPC.getProblem) { request, context in
            let id = try Field.required(request.problemID, "problem_id", "the problem to show")
            return try await self.writes.read(context) { db in
                guard let problem = try IntakeStore.problem(id, in: db) else { throw ServiceError.notFound("problem", id) }
                return problem
            }
        }
        router.register(IntakeRPC.listProblems) { request, context in
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            return try await self.writes.read(context) { db in
                var response = Support_Intake_V1_ListProblemsResponse()
                (response.problems, response.nextPageToken) = paging.page(
                    try IntakeStore.problems(state: request.state, offset: paging.offset, limit: paging.fetchLimit, in: db)
                )
                return response
            }
        }
    }

    /// Links an incident; a known error with a workaround reclassifies a
    /// severity-1 incident at once (R-SEV-4).
    private func link(
        _ incidentID: String, to problem: inout Problem, by actor: String, at now: Date, in db: Database
    ) throws -> (reclassified: Bool, events: [Support_Events_V1_Event]) {
        guard var incident = try self.incident(incidentID, in: db) else { throw ServiceError.notFound("incident", incidentID) }
        if incident.problemID == problem.id { return (false, []) }
        guard incident.problemID.isEmpty else {
            throw ServiceError(.failedPrecondition, reason: "ALREADY_LINKED", field: "incident_id", "\(incidentID) is linked to \(incident.problemID) already; an incident belongs to one problem")
        }
        guard incident.state != .closed else {
            throw ServiceError.illegal("linked", state: .closed, incident: incidentID, hint: "Link open incidents only.")
        }
        incident.problemID = problem.id
        problem.incidentIds.append(incidentID)
        var events: [Support_Events_V1_Event] = []
        var reclassified = false
        var articles: [Article] = []
        if problem.state == .knownError && !problem.workaround.isEmpty && incident.state != .resolved {
            var lifecycle = IncidentLifecycle(incident, now: now)
            try lifecycle.provideWorkaround(actor: actor, text: problem.workaround, problemID: problem.id)
            reclassified = incident.severity == 1
            incident = lifecycle.incident
            articles = lifecycle.addedArticles
            events = lifecycle.events.map { IncidentSnapshots.event($0.payload, snapshot: $0.snapshot, incidentID: incidentID, at: now) }
        }
        try IntakeStore.update(incident, adding: articles, in: db)
        return (reclassified, events)
    }

    /// The Company Account (R-CH-3) and offices.
    func registerAccount(into router: inout RPCRouter) {
        router.register(IntakeRPC.setCompanyAccountAvailability) { request, context in
            let actor = try Field.required(request.actor, "actor", "the operator changing it")
            let note = try Field.optional(request.note, "note")
            return try await self.accounts.changing { change in try await self.writes.write(context) { db, now in
                var account = try IntakeStore.companyAccount(in: db)
                guard account.available != request.available || !account.hasSince else { return (account, []) }
                account.available = request.available
                account.since = .init(date: now)
                account.changedBy = actor
                account.note = note
                try IntakeStore.save(account, in: db, during: change)
                var changed = Support_Events_V1_CompanyAccountAvailabilityChanged()
                changed.available = request.available
                changed.changedBy = actor
                changed.note = note
                var event = Support_Events_V1_Event()
                event.occurredAt = .init(date: now)
                event.payload = .companyAccountAvailabilityChanged(changed)
                return (account, [event])
            } }
        }
        router.register(IntakeRPC.getCompanyAccountAvailability) { _, context in
            try await self.writes.read(context) { db in try IntakeStore.companyAccount(in: db) }
        }
        router.register(IntakeRPC.listOffices) { _, _ in
            let now = self.now
            var response = Support_Intake_V1_ListOfficesResponse()
            response.offices = self.offices.ids.compactMap { id in
                guard let calendar = self.offices.calendar(id) else { return nil }
                var office = Support_Intake_V1_Office()
                office.id = id
                office.name = id
                office.timeZone = calendar.timeZone.identifier
                office.hoursSummary = self.offices.summary(id)
                office.calendarVersion = calendar.version
                office.openNow = calendar.isOpen(at: now)
                office.language = self.offices.language(id)
                return office
            }
            return response
        }
    }
}
