import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto

extension SLAEngine {
    /// Fires the earliest armed timer due by `now`, if any, and returns it.
    /// One timer per transaction: marking it fired and writing the events it
    /// causes commit together, so a crash either fires it again after the
    /// restart or never.
    func fireNext(dueBy now: Date, in db: Database) throws -> Timer? {
        guard let timer = try SLAStore.nextDueTimer(by: now, in: db) else { return nil }
        return try self.fire(timer, at: now, in: db)
    }

    /// Fires `timer`, which is armed and due by `now`: marks it fired and
    /// writes what it causes, in the caller's transaction.
    func fire(_ timer: Timer, at now: Date, in db: Database) throws -> Timer {
        var timer = timer
        timer.state = .fired
        timer.firedAt = .init(date: now)
        try SLAStore.update(timer, in: db)
        let cause = timer.id
        switch timer.kind {
        case .warning:
            guard let cycle = try SLAStore.cycle(timer.cycleID, in: db), cycle.state == .running else { break }
            try SLAStore.append(Self.cycleEvent(.warned, at: now, cycle: cycle, cause: cause, detail: Self.describe(timer.threshold)), to: cycle.id, in: db)
            var warning = Support_Events_V1_SLAWarning()
            warning.cycle = Self.facts(cycle)
            warning.threshold = timer.threshold
            warning.remaining = .init(rounding: max(0, cycle.dueAt.date.timeIntervalSince(now)))
            try self.publish(.slaWarning(warning), incident: timer.incidentID, at: now, cause: cause, in: db)
        case .breach:
            guard var cycle = try SLAStore.cycle(timer.cycleID, in: db), cycle.state == .running else { break }
            try SLAStore.cancelTimers(of: timer.incidentID, kinds: [.warning], cycle: cycle.id, in: db)
            let entry = try self.breach(&cycle, at: now, causedBy: cause, in: db)
            try SLAStore.append(entry, state: .breached, to: cycle.id, in: db)
        case .customerTimeoutWarning, .customerTimeout:
            guard let view = try SLAStore.view(timer.incidentID, in: db), view.snapshot.side == .customer, view.snapshot.state != .closed else {
                break
            }
            if timer.kind == .customerTimeoutWarning {
                var warning = Support_Events_V1_CustomerTimeoutWarning()
                warning.waitingSince = .init(date: view.sideSince)
                warning.closesAt = .init(date: SLAMath.customerTimeout(sideSince: view.sideSince, timeZone: try self.office(view.snapshot.office, incident: timer.incidentID).timeZone).closes)
                warning.certificateID = view.snapshot.certificateID
                warning.office = view.snapshot.office
                try self.publish(.customerTimeoutWarning(warning), incident: timer.incidentID, at: now, cause: cause, in: db)
            } else {
                // intake subscribes to these and closes the incident (R-SLA-6).
                var timeout = Support_Events_V1_CustomerTimeout()
                timeout.waitingSince = .init(date: view.sideSince)
                timeout.timedOutAt = .init(date: now)
                timeout.certificateID = view.snapshot.certificateID
                timeout.office = view.snapshot.office
                try self.publish(.customerTimeout(timeout), incident: timer.incidentID, at: now, cause: cause, in: db)
            }
        default:
            break
        }
        return timer
    }

    static func describe(_ threshold: Support_Events_V1_WarningThreshold) -> String {
        threshold.percentOfTarget > 0
            ? "\(threshold.percentOfTarget)% of the target has passed"
            : "\(Int(threshold.beforeDue.seconds / 60)) minutes before due"
    }
}
