import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC

/// `support.sla.v1.SLATimer`: clocks, due and breached cycles, and the pure
/// calendar questions tools ask.
struct SLARPCService: RPCService {
    let environment: ServiceEnvironment
    let engine: SLAEngine

    var database: ServiceDatabase { self.environment.database }

    func register(into router: inout RPCRouter) {
        router.register(SLATimerRPC.getClock) { request, _ in
            let id = try Field.required(request.incidentID, "incident_id", "the incident whose clock to show")
            let now = self.environment.clock.now()
            return try await self.database.writer.read { db in
                guard let view = try SLAStore.view(id, in: db) else {
                    throw ServiceError(
                        .notFound, reason: "INCIDENT_NOT_FOUND", field: "incident_id",
                        "sla-timer has no clock for \(id); it starts when intake's IncidentOpened arrives"
                    )
                }
                var response = Support_Sla_V1_GetClockResponse()
                response.incidentID = id
                response.now = .init(date: now)
                response.side = view.snapshot.side
                response.sideSince = .init(date: view.sideSince)
                response.history = try SLAStore.cycles(of: id, in: db)
                response.timers = try SLAStore.timers(of: id, in: db)
                // As sla.proto says: the open cycle only; one that was met,
                // cancelled or answered after its breach is history.
                if let current = response.history.last, !current.hasEndedAt {
                    response.current = current
                    if current.state == .running, let office = self.engine.offices[current.office] {
                        let clock: any ResponseClock = current.clockKind == .business ? office : WallClock24x7()
                        let from = max(now, current.startedAt.date)
                        let remaining = current.dueAt.date > from ? clock.businessDuration(from: from, to: current.dueAt.date) : 0
                        response.remaining = .init(rounding: remaining)
                        response.remainingWall = .init(rounding: current.dueAt.date.timeIntervalSince(now))
                    }
                }
                if let timeout = response.timers.first(where: { $0.kind == .customerTimeout && $0.state == .armed }) {
                    response.customerTimeoutAt = timeout.dueAt
                }
                return response
            }
        }
        router.register(SLATimerRPC.listDue) { request, _ in
            let before = request.hasBefore ? request.before.date : Date.distantFuture
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            return try await self.database.writer.read { db in
                let fetched = try SLAStore.cycles(
                    state: .running, dueFrom: .distantPast, dueBefore: before, office: request.office, certificate: "",
                    offset: paging.offset, limit: paging.fetchLimit, in: db
                )
                var response = Support_Sla_V1_ListDueResponse()
                (response.cycles, response.nextPageToken) = paging.page(fetched)
                return response
            }
        }
        router.register(SLATimerRPC.listBreaches) { request, _ in
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            return try await self.database.writer.read { db in
                let fetched = try SLAStore.cycles(
                    state: .breached, dueFrom: request.hasFrom ? request.from.date : .distantPast,
                    dueBefore: request.hasTo ? request.to.date : .distantFuture, office: request.office,
                    certificate: request.certificateID, offset: paging.offset, limit: paging.fetchLimit, in: db
                )
                var response = Support_Sla_V1_ListBreachesResponse()
                (response.cycles, response.nextPageToken) = paging.page(fetched)
                return response
            }
        }
        router.register(SLATimerRPC.computeDue) { request, _ in
            let office = try self.office(request.office)
            guard (1...4).contains(request.severity) else {
                throw ServiceError.invalid("severity", "severity is 1 to 4, not \(request.severity)")
            }
            guard request.hasStart else { throw ServiceError.missing("start", "when the request was received") }
            // As sla.proto says: the delayed start depends on the channel
            // (R-SLA-3) and the target on the tier; neither has a default.
            guard request.channel != .unspecified, Support_Common_V1_Channel.allCases.contains(request.channel) else {
                throw ServiceError.missing("channel", "portal, phone, email or tam")
            }
            guard request.tier != .unspecified, Support_Common_V1_Tier.allCases.contains(request.tier) else {
                throw ServiceError.missing("tier", "enterprise or standard")
            }
            let deferred = SLAMath.startsAtNextOpening(
                severity: Int(request.severity), channel: request.channel, receivedAt: request.start.date, office: office
            )
            let plan: SLAMath.Plan
            do {
                plan = try SLAMath.plan(
                    policy: self.engine.policy, office: office, tier: SLAEngine.tierName(request.tier), severity: Int(request.severity),
                    receivedAt: request.start.date, startsAtNextOpening: deferred
                )
            } catch SLAMath.Failure.beyondSupportedTimes {
                throw ServiceError(
                    .invalidArgument, reason: "FIELD_OUT_OF_RANGE", field: "start",
                    "a response to a request received at start would be due after 9999-12-31T23:59:59Z, the last time SupportDesk handles; give an earlier start"
                )
            } catch {
                throw ServiceError(.failedPrecondition, reason: "NO_POLICY", "no due time can be computed: \(error)")
            }
            var response = Support_Sla_V1_ComputeDueResponse()
            response.startedAt = .init(date: plan.startedAt)
            response.dueAt = .init(date: plan.dueAt)
            response.target = .init(rounding: plan.target)
            response.clockKind = plan.businessHours ? .business : .wall
            response.phoneAdvised = deferred
            response.policyVersion = self.engine.policy.version
            response.calendarVersion = plan.calendarVersion
            response.dueLocal = Self.local(plan.dueAt, office.timeZone)
            return response
        }
        router.register(SLATimerRPC.isOpen) { request, _ in
            let office = try self.office(request.office)
            let at = request.hasAt ? request.at.date : self.environment.clock.now()
            var response = Support_Sla_V1_IsOpenResponse()
            response.open = office.isOpen(at: at)
            response.localTime = Self.local(at, office.timeZone)
            response.calendarVersion = office.version
            // RequestLimits keeps `at` in years 1970-9999 and the clock
            // stays there too, so this is a guard, not a path (issue 21).
            guard let day = office.localDate(at: at) else {
                throw ServiceError(.invalidArgument, reason: "FIELD_OUT_OF_RANGE", field: "at", "at is outside the years 1970-9999; give a time in that range")
            }
            if response.open {
                if let interval = office.openIntervals(on: day).first(where: { $0.contains(at) }) {
                    response.changesAt = .init(date: interval.end)
                }
                response.reason = "within business hours"
            } else {
                if let opening = office.nextOpening(atOrAfter: at) { response.changesAt = .init(date: opening) }
                response.reason = office.isBusinessDay(day) ? "outside business hours" : "not a business day"
            }
            return response
        }
        router.register(SLATimerRPC.nextOpening) { request, _ in
            let office = try self.office(request.office)
            let after = request.hasAfter ? request.after.date : self.environment.clock.now()
            guard let opening = office.nextOpening(atOrAfter: after) else {
                throw ServiceError(
                    .failedPrecondition, reason: "OFFICE_NEVER_OPENS", field: "office",
                    "office \(request.office) never opens again under its calendar; check its hours in offices.json"
                )
            }
            var response = Support_Sla_V1_NextOpeningResponse()
            response.opening = .init(date: opening)
            response.localTime = Self.local(opening, office.timeZone)
            response.alreadyOpen = opening == after
            return response
        }
    }

    private func office(_ id: String) throws -> OfficeCalendar {
        let id = try Field.required(id, "office", "the office, e.g. tokyo")
        guard let office = self.engine.offices[id] else {
            throw ServiceError(
                .notFound, reason: "OFFICE_NOT_FOUND", field: "office",
                "there is no office \(id); known offices: \(self.engine.offices.ids.joined(separator: ", "))"
            )
        }
        return office
    }

    /// "2026-12-07 15:00 (Mon) Asia/Tokyo"
    static func local(_ date: Date, _ timeZone: TimeZone) -> String {
        var style = Date.VerbatimFormatStyle(
            format: "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits) (\(weekday: .abbreviated))",
            timeZone: timeZone, calendar: Calendar(identifier: .gregorian)
        )
        style.locale = Locale(identifier: "en_US_POSIX")
        return "\(date.formatted(style)) \(timeZone.identifier)"
    }
}
