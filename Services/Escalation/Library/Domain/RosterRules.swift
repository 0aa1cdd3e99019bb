import ServiceKit
import BusinessCalendar
import Foundation
import SupportProto

typealias Roster = Support_Escalation_V1_Roster
typealias Person = Support_Common_V1_Person
typealias Level = Support_Common_V1_EscalationLevel

/// Who owns each level (R-ESC-1) and who stands in for the TAM out of hours
/// (R-ORG-4).
enum RosterRules {
    /// A certificate's override on top of its office's roster: any person
    /// the override names replaces the office's.
    static func effective(office: Roster, override: Roster?) -> Roster {
        guard let override else { return office }
        var roster = office
        roster.certificateID = override.certificateID
        if override.hasTam { roster.tam = override.tam }
        if override.hasSupportLead { roster.supportLead = override.supportLead }
        if override.hasBusinessAccountManager { roster.businessAccountManager = override.businessAccountManager }
        if !override.dutyManagers.isEmpty { roster.dutyManagers = override.dutyManagers }
        return roster
    }

    /// The level's owner. The TAM is the certificate's named TAM (R-ORG-4),
    /// with the roster's details when the roster names the same person.
    static func owner(of level: Level, roster: Roster, certificateTAM: String) -> Person? {
        switch level {
        case .tam:
            // A certificate override's TAM, or the office's when it is the
            // certificate's own; otherwise the certificate names its TAM.
            let rosterNamesIt = !roster.certificateID.isEmpty || certificateTAM.isEmpty || roster.tam.id == certificateTAM
            if roster.hasTam && rosterNamesIt { return roster.tam }
            guard !certificateTAM.isEmpty else { return nil }
            var person = Person()
            person.id = certificateTAM
            person.name = certificateTAM
            return person
        case .supportLead: return roster.hasSupportLead ? roster.supportLead : nil
        case .businessAccountManager: return roster.hasBusinessAccountManager ? roster.businessAccountManager : nil
        default: return nil
        }
    }

    /// The duty manager whose shift covers `instant` in the office's time.
    static func dutyManager(at instant: Date, roster: Roster, office: OfficeCalendar) -> Person? {
        let (weekday, minute) = Self.localWeekdayMinute(instant, timeZone: office.timeZone)
        return roster.dutyManagers.first { manager in
            manager.shifts.contains { $0.weekday == weekday && $0.startMinute <= minute && minute < $0.endMinute }
        }?.person
    }

    /// On whole seconds in `Int`: instants are checked to years 1970-9999
    /// where they enter (RequestLimits, the clock), and one outside ±30 000
    /// years is clamped there rather than overflowing (issue 21: a Double
    /// of 9e18 seconds lost its sub-day part and trapped on `UInt32`).
    static func localWeekdayMinute(_ instant: Date, timeZone: TimeZone) -> (Support_Escalation_V1_Weekday, UInt32) {
        let bound = 1e12
        let time = instant.timeIntervalSince1970
        let seconds = time.isNaN ? 0 : Int(min(max(time, -bound), bound).rounded(.down))
        let local = seconds + timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))
        let days = local >= 0 ? local / 86400 : (local - 86399) / 86400
        let minute = UInt32((local - days * 86400) / 60)
        // 1970-01-01 was a Thursday.
        let weekdays: [Support_Escalation_V1_Weekday] = [.thursday, .friday, .saturday, .sunday, .monday, .tuesday, .wednesday]
        return (weekdays[((days % 7) + 7) % 7], minute)
    }

    struct Responsibility: Equatable {
        var levelOwner: Person
        /// Who acts now: the owner, or the duty manager for an absent TAM.
        var responsible: Person
        /// Who receives the TAM's part of an alert.
        var tamContact: Person
        var dutyManagerReplacedTAM: Bool
    }

    /// R-ORG-4: the TAM works the office's business hours; outside them
    /// (nights, weekends, holidays) the duty manager on shift stands in.
    static func responsibility(
        level: Level, at instant: Date, roster: Roster, office: OfficeCalendar, certificateTAM: String
    ) throws -> Responsibility {
        guard let owner = Self.owner(of: level, roster: roster, certificateTAM: certificateTAM),
            let tam = Self.owner(of: .tam, roster: roster, certificateTAM: certificateTAM)
        else {
            throw ServiceError(.failedPrecondition, reason: "ROSTER_GAP", "the \(office.id) roster names nobody for level \(level.rawValue); set it with `supportctl roster set`")
        }
        guard !office.isOpen(at: instant) else {
            return Responsibility(levelOwner: owner, responsible: owner, tamContact: tam, dutyManagerReplacedTAM: false)
        }
        guard let duty = Self.dutyManager(at: instant, roster: roster, office: office) else {
            throw ServiceError(
                .failedPrecondition, reason: "ROSTER_GAP",
                "no duty manager of the \(office.id) office is on shift at \(instant.formatted(.iso8601)); add a shift with `supportctl roster set`"
            )
        }
        return Responsibility(
            levelOwner: owner, responsible: level == .tam ? duty : owner, tamContact: duty, dutyManagerReplacedTAM: true
        )
    }

    /// Checks a roster an operator sets.
    static func validate(_ roster: Roster) throws {
        guard !roster.office.isEmpty else { throw ServiceError.invalid("roster.office", "office is required, e.g. tokyo") }
        if roster.certificateID.isEmpty {
            for (field, present) in [("tam", roster.hasTam), ("support_lead", roster.hasSupportLead), ("business_account_manager", roster.hasBusinessAccountManager)] where !present {
                throw ServiceError.invalid("roster.\(field)", "an office roster names the TAM, the support lead and the business account manager (R-ESC-1); \(field) is missing")
            }
        }
        let people: [(String, Person?)] = [
            ("tam", roster.hasTam ? roster.tam : nil), ("support_lead", roster.hasSupportLead ? roster.supportLead : nil),
            ("business_account_manager", roster.hasBusinessAccountManager ? roster.businessAccountManager : nil),
        ] + roster.dutyManagers.enumerated().map { ("duty_managers[\($0.offset)].person", $0.element.person) }
        for case let (field, person?) in people where person.id.isEmpty || person.email.isEmpty {
            throw ServiceError.invalid("roster.\(field)", "every person needs an id and an email")
        }
        for (index, manager) in roster.dutyManagers.enumerated() {
            for (shiftIndex, shift) in manager.shifts.enumerated() {
                let field = "roster.duty_managers[\(index)].shifts[\(shiftIndex)]"
                guard shift.weekday != .unspecified else { throw ServiceError.invalid(field, "a shift needs a weekday") }
                guard shift.endMinute > shift.startMinute, shift.endMinute <= 1440 else {
                    throw ServiceError.invalid(field, "a shift runs from start_minute to a later end_minute, at most 1440 (24:00)")
                }
            }
        }
    }
}
