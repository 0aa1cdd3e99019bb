import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto

/// What sla-timer does with intake's events and with its timers, inside the
/// caller's transaction (the inbox's, or a firing's), so a cycle, its timers
/// and the events they cause change together or not at all.
struct SLAEngine: Sendable {
    let policy: SLAPolicy
    let offices: OfficeDirectory
    let outbox: EventOutbox

    /// Why an intake event cannot be applied: both need an operator, so
    /// the event is parked until they fix the configuration and retry it.
    enum EngineError {
        static func unknownOffice(_ office: String, incident: String) -> ServiceError {
            ServiceError(
                .failedPrecondition, reason: "UNKNOWN_OFFICE",
                "incident \(incident) belongs to office \(office), which sla-timer's offices.json does not have; add it, restart sla-timer and retry the parked event"
            )
        }

        static func plan(_ failure: SLAMath.Failure, incident: String) -> ServiceError {
            ServiceError(.failedPrecondition, reason: "NO_POLICY", "no response time can be planned for \(incident): \(failure)")
        }
    }

    // MARK: Intake's events

    func apply(_ event: Event, in db: Database) throws {
        guard let snapshot = event.incidentSnapshot else { return }
        let id = event.incidentID
        let at = event.occurredAt.date
        var view = try SLAStore.view(id, in: db) ?? SLAStore.View(snapshot: snapshot, sideSince: at, cycles: 0)
        // An older snapshot than the one kept (a late event) moves nothing.
        if try IntakeProjection.apply(event, in: db) {
            if snapshot.side != view.snapshot.side || snapshot.previousSide == .unspecified { view.sideSince = at }
            view.snapshot = snapshot
        }
        try SLAStore.save(view, incidentID: id, in: db)

        switch event.payload {
        case .incidentOpened:
            try self.startCycle(for: id, view: &view, receivedAt: at, causedBy: event.eventID, in: db)
        case .responseGiven, .workaroundProvided:
            try self.endCycle(of: id, at: at, causedBy: event.eventID, in: db)
        case .infoRequested, .resolved:
            try self.endCycle(of: id, at: at, causedBy: event.eventID, in: db)
            try self.armCustomerTimeout(for: id, view: view, in: db)
        case .infoProvided:
            // R-SLA-7: back on the vendor's side, a new response is due.
            if snapshot.previousSide == .customer {
                try SLAStore.cancelTimers(of: id, kinds: [.customerTimeoutWarning, .customerTimeout], in: db)
                try self.startCycle(for: id, view: &view, receivedAt: at, causedBy: event.eventID, in: db)
            }
        case .reopened:
            try SLAStore.cancelTimers(of: id, kinds: [.customerTimeoutWarning, .customerTimeout], in: db)
            try self.startCycle(for: id, view: &view, receivedAt: at, causedBy: event.eventID, in: db)
        case .severityChanged(let change):
            try self.retarget(id, to: Int(change.toSeverity), at: at, causedBy: event.eventID, in: db)
        case .closed:
            try self.cancelCycle(of: id, at: at, causedBy: event.eventID, in: db)
            try SLAStore.cancelTimers(of: id, kinds: [.customerTimeoutWarning, .customerTimeout], in: db)
        default:
            break
        }
        try SLAStore.save(view, incidentID: id, in: db)
    }

    func office(_ id: String, incident: String) throws -> OfficeCalendar {
        guard let office = self.offices[id] else { throw EngineError.unknownOffice(id, incident: incident) }
        return office
    }

    static func tierName(_ tier: Support_Common_V1_Tier) -> String { tier == .standard ? "standard" : "enterprise" }

    // MARK: Cycles

    /// A new response cycle (R-SLA-7), with its warnings and breach armed.
    private func startCycle(for id: String, view: inout SLAStore.View, receivedAt: Date, causedBy: String, in db: Database) throws {
        let snapshot = view.snapshot
        let office = try self.office(snapshot.office, incident: id)
        // R-SLA-3 only for the first cycle, as intake told the customer.
        let deferred = view.cycles == 0 && snapshot.phoneAdvised
        let plan: SLAMath.Plan
        do {
            plan = try SLAMath.plan(
                policy: self.policy, office: office, tier: Self.tierName(snapshot.tier), severity: Int(snapshot.severity),
                receivedAt: receivedAt, startsAtNextOpening: deferred
            )
        } catch let failure as SLAMath.Failure {
            throw EngineError.plan(failure, incident: id)
        }
        view.cycles += 1
        var cycle = Cycle()
        cycle.number = UInt32(view.cycles)
        cycle.id = "\(id)/\(cycle.number)"
        cycle.incidentID = id
        cycle.severity = snapshot.severity
        cycle.clockKind = plan.businessHours ? .business : .wall
        cycle.receivedAt = .init(date: plan.receivedAt)
        cycle.startedAt = .init(date: plan.startedAt)
        cycle.dueAt = .init(date: plan.dueAt)
        cycle.target = .init(rounding: plan.target)
        cycle.state = .running
        cycle.policyVersion = self.policy.version
        cycle.calendarVersion = plan.calendarVersion
        cycle.office = snapshot.office
        cycle.tier = snapshot.tier
        cycle.channel = snapshot.channel
        cycle.certificateID = snapshot.certificateID
        cycle.events.append(Self.cycleEvent(
            .started, at: plan.startedAt, cycle: cycle, cause: causedBy,
            detail: deferred ? "R-SLA-3: received \(plan.receivedAt.formatted(.iso8601)) outside business hours by \(snapshot.channel); the clock starts at the next opening" : ""
        ))
        try SLAStore.save(cycle, in: db)
        try self.armCycleTimers(cycle, plan: plan, office: office, in: db)
    }

    /// Arms the cycle's warnings (those after `notBefore`) and its breach.
    private func armCycleTimers(_ cycle: Cycle, plan: SLAMath.Plan, office: OfficeCalendar, notBefore: Date = .distantPast, in db: Database) throws {
        for warning in SLAMath.warnings(policy: self.policy, office: office, plan: plan) where warning.at > notBefore {
            var timer = Timer()
            timer.kind = .warning
            timer.incidentID = cycle.incidentID
            timer.cycleID = cycle.id
            timer.dueAt = .init(date: warning.at)
            timer.threshold.percentOfTarget = warning.percent
            timer.threshold.beforeDue = .init(rounding: warning.before)
            try SLAStore.arm(timer, in: db)
        }
        var breach = Timer()
        breach.kind = .breach
        breach.incidentID = cycle.incidentID
        breach.cycleID = cycle.id
        breach.dueAt = cycle.dueAt
        try SLAStore.arm(breach, in: db)
    }

    /// The vendor answered: met if in time (R-SLA-1). A cycle already
    /// breached keeps its verdict and only records when it ended, unless the
    /// answer was recorded by its due time: then it reached sla-timer only
    /// after the breach timer fired (sla-timer was down at due time, or
    /// intake's events were behind), and the breach is withdrawn.
    private func endCycle(of id: String, at: Date, causedBy: String, in db: Database) throws {
        guard var cycle = try SLAStore.lastCycle(of: id, in: db), !cycle.hasEndedAt else { return }
        try SLAStore.cancelTimers(of: id, kinds: [.warning, .breach], cycle: cycle.id, in: db)
        cycle.endedAt = .init(date: at)
        cycle.elapsed = .init(rounding: at.timeIntervalSince(cycle.startedAt.date))
        let inTime = at <= cycle.dueAt.date
        switch cycle.state {
        case .running where inTime:
            cycle.state = .met
            cycle.events.append(Self.cycleEvent(.met, at: at, cycle: cycle, cause: causedBy))
            try self.publishMet(cycle, at: at, withdrawing: false, causedBy: causedBy, in: db)
        case .running:
            // The breach timer has not fired yet (the event overtook it):
            // the verdict is still a breach.
            try self.breach(&cycle, at: at, causedBy: causedBy, in: db)
        case .breached where inTime:
            cycle.state = .met
            cycle.events.append(Self.cycleEvent(
                .breachWithdrawn, at: at, cycle: cycle, cause: causedBy,
                detail: "the answer recorded at \(at.formatted(.iso8601)) reached sla-timer after the breach timer fired"
            ))
            try self.publishMet(cycle, at: at, withdrawing: true, causedBy: causedBy, in: db)
        default:
            break
        }
        try SLAStore.save(cycle, in: db)
    }

    private func publishMet(_ cycle: Cycle, at: Date, withdrawing: Bool, causedBy: String, in db: Database) throws {
        var met = Support_Events_V1_SLAMet()
        met.cycle = Self.facts(cycle)
        met.metAt = .init(date: at)
        met.elapsed = cycle.elapsed
        met.withdrawsBreach = withdrawing
        try self.publish(.slaMet(met), incident: cycle.incidentID, at: at, cause: causedBy, in: db)
    }

    private func cancelCycle(of id: String, at: Date, causedBy: String, in db: Database) throws {
        try SLAStore.cancelTimers(of: id, kinds: [.warning, .breach], in: db)
        guard var cycle = try SLAStore.runningCycle(of: id, in: db) else { return }
        cycle.state = .cancelled
        cycle.endedAt = .init(date: at)
        cycle.events.append(Self.cycleEvent(.cancelled, at: at, cycle: cycle, cause: causedBy, detail: "closed"))
        try SLAStore.save(cycle, in: db)
    }

    /// R-SLA-7: a severity change re-targets the running cycle from its
    /// original start; completed cycles are never rewritten.
    private func retarget(_ id: String, to severity: Int, at: Date, causedBy: String, in db: Database) throws {
        guard var cycle = try SLAStore.runningCycle(of: id, in: db) else { return }
        let office = try self.office(cycle.office, incident: id)
        var plan: SLAMath.Plan
        do {
            plan = try SLAMath.plan(
                policy: self.policy, office: office, tier: Self.tierName(cycle.tier), severity: severity,
                receivedAt: cycle.receivedAt.date, startsAtNextOpening: false
            )
            // Keep the original start (including an R-SLA-3 deferral).
            let clock: any ResponseClock = plan.businessHours ? office : WallClock24x7()
            plan.startedAt = cycle.startedAt.date
            plan.dueAt = clock.add(businessDuration: plan.target, to: plan.startedAt) ?? plan.dueAt
        } catch let failure as SLAMath.Failure {
            throw EngineError.plan(failure, incident: id)
        }
        try SLAStore.cancelTimers(of: id, kinds: [.warning, .breach], cycle: cycle.id, in: db)
        cycle.severity = Int32(severity)
        cycle.dueAt = .init(date: plan.dueAt)
        cycle.target = .init(rounding: plan.target)
        cycle.clockKind = plan.businessHours ? .business : .wall
        cycle.calendarVersion = plan.calendarVersion
        cycle.events.append(Self.cycleEvent(.retargeted, at: at, cycle: cycle, cause: causedBy, detail: "severity \(severity)"))
        try SLAStore.save(cycle, in: db)
        // Warnings already behind us are not sent late; the breach fires at
        // once if the new due time has passed.
        try self.armCycleTimers(cycle, plan: plan, office: office, notBefore: at, in: db)
    }

    /// R-SLA-6: a month on the customer's side, with a warning a week before.
    private func armCustomerTimeout(for id: String, view: SLAStore.View, in db: Database) throws {
        try SLAStore.cancelTimers(of: id, kinds: [.customerTimeoutWarning, .customerTimeout], in: db)
        let office = try self.office(view.snapshot.office, incident: id)
        let (warning, closes) = SLAMath.customerTimeout(sideSince: view.sideSince, timeZone: office.timeZone)
        for (kind, due) in [(Support_Sla_V1_TimerKind.customerTimeoutWarning, warning), (.customerTimeout, closes)] {
            var timer = Timer()
            timer.kind = kind
            timer.incidentID = id
            timer.dueAt = .init(date: due)
            try SLAStore.arm(timer, in: db)
        }
    }

    // MARK: Shared pieces

    /// Marks the cycle breached and publishes SLABreached; returns the log
    /// entry it appended.
    @discardableResult
    func breach(_ cycle: inout Cycle, at: Date, causedBy: String, in db: Database) throws -> Support_Sla_V1_CycleEvent {
        cycle.state = .breached
        let entry = Self.cycleEvent(.breached, at: at, cycle: cycle, cause: causedBy)
        cycle.events.append(entry)
        var breached = Support_Events_V1_SLABreached()
        breached.cycle = Self.facts(cycle)
        breached.firedAt = .init(date: at)
        try self.publish(.slaBreached(breached), incident: cycle.incidentID, at: at, cause: causedBy, in: db)
        return entry
    }

    func publish(_ payload: Support_Events_V1_Event.OneOf_Payload, incident: String, at: Date, cause: String, in db: Database) throws {
        var event = Event()
        event.incidentID = incident
        event.occurredAt = .init(date: at)
        event.causationEventID = cause
        event.payload = payload
        try self.outbox.append(event, in: db)
    }

    static func facts(_ cycle: Cycle) -> Support_Events_V1_CycleFacts {
        var facts = Support_Events_V1_CycleFacts()
        facts.cycleID = cycle.id
        facts.cycleNumber = cycle.number
        facts.severity = cycle.severity
        facts.clockKind = cycle.clockKind
        facts.startedAt = cycle.startedAt
        facts.dueAt = cycle.dueAt
        facts.target = cycle.target
        facts.office = cycle.office
        facts.tier = cycle.tier
        facts.certificateID = cycle.certificateID
        facts.policyVersion = cycle.policyVersion
        return facts
    }

    static func cycleEvent(
        _ kind: Support_Sla_V1_CycleEvent.Kind, at: Date, cycle: Cycle, cause: String, detail: String = ""
    ) -> Support_Sla_V1_CycleEvent {
        var event = Support_Sla_V1_CycleEvent()
        event.kind = kind
        event.at = .init(date: at)
        event.severity = cycle.severity
        event.dueAt = cycle.dueAt
        event.causeEventID = cause
        event.detail = detail
        return event
    }
}
