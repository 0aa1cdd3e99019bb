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
    /// The office id of the fallback roster: what every office without a
    /// roster of its own uses (issue 23).
    static let fallbackOffice = "*"

    /// A roster as escalation stores and publishes it: the deprecated single
    /// `tam` of older callers read as `tams = [tam]`, and `tam` answered as
    /// the first TAM for older readers.
    static func normalised(_ roster: Roster) -> Roster {
        var roster = roster
        if roster.hasTam, !roster.tams.contains(where: { $0.id == roster.tam.id }) { roster.tams.insert(roster.tam, at: 0) }
        if let first = roster.tams.first { roster.tam = first } else { roster.clearTam() }
        return roster
    }

    /// A certificate's override on top of its office's roster: any person
    /// or list the override names replaces the office's.
    static func effective(office: Roster, override: Roster?) -> Roster {
        guard let override else { return office }
        var roster = office
        roster.certificateID = override.certificateID
        if !override.tams.isEmpty {
            roster.tams = override.tams
            roster.tam = override.tams[0]
        }
        if override.hasSupportLead { roster.supportLead = override.supportLead }
        if override.hasBusinessAccountManager { roster.businessAccountManager = override.businessAccountManager }
        if !override.dutyManagers.isEmpty { roster.dutyManagers = override.dutyManagers }
        if !override.specialistGroups.isEmpty { roster.specialistGroups = override.specialistGroups }
        if override.hasFallbackDuty { roster.fallbackDuty = override.fallbackDuty }
        return roster
    }

    /// The certificate's TAM among the roster's TAMs (R-ORG-4); the first
    /// TAM when the certificate names none (older certificates).
    static func tam(_ certificateTAM: String, in roster: Roster) -> Person? {
        guard !certificateTAM.isEmpty else { return roster.tams.first }
        return roster.tams.first { $0.id == certificateTAM }
    }

    /// The level's owner, or nil when the roster names nobody for it.
    static func owner(of level: Level, roster: Roster, certificateTAM: String) -> Person? {
        switch level {
        case .tam: Self.tam(certificateTAM, in: roster)
        case .supportLead: roster.hasSupportLead && !roster.supportLead.email.isEmpty ? roster.supportLead : nil
        case .businessAccountManager: roster.hasBusinessAccountManager && !roster.businessAccountManager.email.isEmpty ? roster.businessAccountManager : nil
        default: nil
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

    /// Who is responsible at a level, as far as the roster says. A gap (no
    /// roster, a person it does not know, nobody on shift) leaves the person
    /// nil and says why in `gap`: escalation records and alerts it rather
    /// than refusing the event (issue 23: missing staff never blocks a
    /// stream).
    struct Responsibility: Equatable {
        var levelOwner: Person?
        /// Who acts now: the owner, or the duty manager for an absent TAM.
        var responsible: Person?
        /// Who receives the TAM's part of an alert.
        var tamContact: Person?
        var dutyManagerReplacedTAM = false
        var gaps: [String] = []

        var gap: String? { self.gaps.isEmpty ? nil : self.gaps.joined(separator: "; ") }
    }

    /// R-ORG-4: the TAM works the office's business hours; outside them
    /// (nights, weekends, holidays) the duty manager on shift stands in. A
    /// TAM the roster does not know is stood in for by the duty manager on
    /// shift too, and flagged.
    static func responsibility(
        level: Level, at instant: Date, roster: Roster?, office: OfficeCalendar?, officeID: String, certificateTAM: String
    ) -> Responsibility {
        guard let office else {
            return Responsibility(gaps: ["office \(officeID) is not in escalation's offices.json; add it and restart escalation"])
        }
        guard let roster else {
            return Responsibility(gaps: ["office \(officeID) has no roster and there is no fallback roster; set one with `supportctl roster set`"])
        }
        var who = Responsibility()
        let owner = Self.owner(of: level, roster: roster, certificateTAM: certificateTAM)
        let tam = Self.owner(of: .tam, roster: roster, certificateTAM: certificateTAM)
        let open = office.isOpen(at: instant)
        let duty = Self.dutyManager(at: instant, roster: roster, office: office)
        if tam == nil {
            who.gaps.append(
                certificateTAM.isEmpty
                    ? "the \(officeID) roster names no TAM"
                    : "\(certificateTAM) is not a TAM of the \(officeID) roster (TAMs: \(roster.tams.map(\.id).joined(separator: ", ")))"
            )
        }
        if level != .tam, owner == nil { who.gaps.append("the \(officeID) roster names nobody for level \(level.rawValue)") }
        let tamAbsent = !open || tam == nil
        if tamAbsent, duty == nil {
            who.gaps.append("no duty manager of the \(officeID) roster is on shift at \(instant.formatted(.iso8601))")
        }
        who.levelOwner = owner
        if tamAbsent {
            who.tamContact = duty
            who.dutyManagerReplacedTAM = duty != nil
            who.responsible = level == .tam ? duty : owner
        } else {
            who.tamContact = tam
            who.responsible = owner
        }
        return who
    }

    /// Checks a roster an operator sets (or roster.json holds).
    static func validate(_ roster: Roster) throws {
        guard !roster.office.isEmpty else { throw ServiceError.invalid("roster.office", "office is required, e.g. tokyo, or \"*\" for the fallback roster") }
        let roster = Self.normalised(roster)
        if roster.office == Self.fallbackOffice {
            guard roster.certificateID.isEmpty else { throw ServiceError.invalid("roster.certificate_id", "the fallback roster has no certificate overrides") }
            guard roster.hasFallbackDuty else {
                throw ServiceError.invalid("roster.fallback_duty", "the fallback roster names the duty address alerted when an office has nobody (issue 23)")
            }
        } else if roster.certificateID.isEmpty {
            guard !roster.tams.isEmpty else {
                throw ServiceError.invalid("roster.tams", "an office roster names at least one TAM (R-ORG-4)")
            }
            for (field, present) in [("support_lead", roster.hasSupportLead), ("business_account_manager", roster.hasBusinessAccountManager)] where !present {
                throw ServiceError.invalid("roster.\(field)", "an office roster names the TAM, the support lead and the business account manager (R-ESC-1); \(field) is missing")
            }
        }
        let people: [(String, Person?)] = roster.tams.enumerated().map { ("tams[\($0.offset)]", $0.element) } + [
            ("support_lead", roster.hasSupportLead ? roster.supportLead : nil),
            ("business_account_manager", roster.hasBusinessAccountManager ? roster.businessAccountManager : nil),
            ("fallback_duty", roster.hasFallbackDuty ? roster.fallbackDuty : nil),
        ] + roster.dutyManagers.enumerated().map { ("duty_managers[\($0.offset)].person", $0.element.person) }
        for case let (field, person?) in people where person.id.isEmpty || person.email.isEmpty {
            throw ServiceError.invalid("roster.\(field)", "every person needs an id and an email")
        }
        var tamIDs = Set<String>()
        for (index, tam) in roster.tams.enumerated() where !tamIDs.insert(tam.id).inserted {
            throw ServiceError.invalid("roster.tams[\(index)]", "\(tam.id) is listed twice")
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
        var groupIDs = Set<String>()
        for (index, group) in roster.specialistGroups.enumerated() {
            let field = "roster.specialist_groups[\(index)]"
            guard !group.id.isEmpty, !group.name.isEmpty, !group.email.isEmpty else {
                throw ServiceError.invalid(field, "a specialist group needs an id, a name and an email (§3)")
            }
            guard group.hours != .unspecified else {
                throw ServiceError.invalid("\(field).hours", "say when the group works: GROUP_HOURS_ROUND_THE_CLOCK or GROUP_HOURS_BUSINESS")
            }
            guard groupIDs.insert(group.id).inserted else { throw ServiceError.invalid("\(field).id", "\(group.id) is listed twice") }
        }
    }
}
