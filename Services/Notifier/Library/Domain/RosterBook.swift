import Foundation
import Synchronization
import SupportProto

typealias StaffRoster = Support_Escalation_V1_Roster

/// notifier's copy of escalation's rosters, the one source of who is on
/// duty (R-ORG-4, issue 23): every office's roster, certificate overrides
/// and the fallback roster (office "*"), each at its latest version.
///
/// The table `roster` is the durable copy (``NotifierStore``); this book is
/// what ``Recipients`` reads without a database, loaded from the table at
/// start and updated as each `RosterChanged` is applied. It is updated
/// inside the inbox transaction, before the commit: if that transaction
/// fails, escalation delivers the same event again, so the book is at most
/// one redelivery ahead of the table, never behind what was committed.
final class RosterBook: Sendable {
    /// By office, then certificate id ("" for the office's own roster).
    struct Snapshot: Sendable {
        var rosters: [String: [String: StaffRoster]] = [:]
    }

    private let state = Mutex(Snapshot())

    init(_ rosters: [StaffRoster] = []) {
        for roster in rosters { self.apply(roster) }
    }

    var current: Snapshot { self.state.withLock { $0 } }

    /// Keeps `roster` unless a newer version of it is kept already (a late
    /// redelivery). Returns whether it was kept.
    @discardableResult
    func apply(_ roster: StaffRoster) -> Bool {
        self.state.withLock { state in
            if let kept = state.rosters[roster.office]?[roster.certificateID], kept.version > roster.version { return false }
            state.rosters[roster.office, default: [:]][roster.certificateID] = roster
            return true
        }
    }
}

extension RosterBook.Snapshot {
    /// The fallback roster's office id (escalation's `RosterRules.fallbackOffice`).
    static let fallbackOffice = "*"

    /// What applies to `office` (and `certificate`'s override): the office's
    /// roster, else the fallback roster; nil when there is neither.
    func roster(office: String, certificate: String = "") -> StaffRoster? {
        guard var roster = self.rosters[office]?[""] ?? self.rosters[Self.fallbackOffice]?[""] else { return nil }
        guard !certificate.isEmpty, let override = self.rosters[office]?[certificate] else { return roster }
        if !override.tams.isEmpty { roster.tams = override.tams }
        if override.hasSupportLead { roster.supportLead = override.supportLead }
        if override.hasBusinessAccountManager { roster.businessAccountManager = override.businessAccountManager }
        if !override.dutyManagers.isEmpty { roster.dutyManagers = override.dutyManagers }
        if override.hasFallbackDuty { roster.fallbackDuty = override.fallbackDuty }
        return roster
    }

    /// Who is alerted when staff is missing for `office`: its roster's
    /// fallback duty, else the fallback roster's (issue 23).
    func fallbackDuty(office: String) -> Support_Common_V1_Person? {
        if let roster = self.rosters[office]?[""], roster.hasFallbackDuty { return roster.fallbackDuty }
        if let roster = self.rosters[Self.fallbackOffice]?[""], roster.hasFallbackDuty { return roster.fallbackDuty }
        return nil
    }

    /// A person any roster names, by staff id: TAMs, leads, account
    /// managers, duty managers.
    func person(_ id: String) -> Support_Common_V1_Person? {
        for byCertificate in self.rosters.values {
            for roster in byCertificate.values {
                let people = roster.tams + [roster.supportLead, roster.businessAccountManager] + roster.dutyManagers.map(\.person)
                if let person = people.first(where: { $0.id == id && !$0.email.isEmpty }) { return person }
            }
        }
        return nil
    }
}
