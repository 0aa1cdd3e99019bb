import BusinessCalendar
import Foundation
import SupportProto

/// Who is told: the reporting contact, or staff from escalation's roster
/// (``RosterBook``, from `RosterChanged` events: one roster, issue 23), with
/// the R-ORG-4 rule that the duty manager on shift stands in for a TAM
/// outside business hours.
struct Recipients: Sendable {
    let config: NotifierConfig
    let offices: OfficeDirectory
    /// The rosters as notifier last heard them from escalation.
    var rosters = RosterBook.Snapshot()

    /// A staff member as a recipient, marked when standing in for the TAM.
    struct Staff {
        var recipient: Recipient
        var standsInForTAM: Bool
    }

    /// A customer's contact and the language its mail is written in
    /// (R-COM-3): the contact's own, else English.
    struct Addressee {
        var recipient: Recipient
        var language: String
    }

    static func contact(_ snapshot: Snapshot) -> Recipient {
        var recipient = Recipient()
        recipient.name = snapshot.contactName.isEmpty ? snapshot.contactEmail : snapshot.contactName
        recipient.email = snapshot.contactEmail
        recipient.role = .reportingContact
        return recipient
    }

    /// Who receives the incident's customer mail (R-COM-1): the reporting
    /// contact in `snapshot.contact_language`, then each cc contact in its
    /// own language, each address once.
    static func customer(_ snapshot: Snapshot) -> [Addressee] {
        var addressees = [Addressee(recipient: Self.contact(snapshot), language: Templates.language(snapshot.contactLanguage))]
        for cc in snapshot.cc {
            addressees.append(Addressee(recipient: Self.contact(cc), language: Templates.language(cc.language)))
        }
        return Self.unique(addressees)
    }

    /// `contact` as a recipient who is not the reporting contact.
    static func contact(_ contact: Support_Common_V1_Contact) -> Recipient {
        Self.recipient(name: contact.name.isEmpty ? contact.email : contact.name, email: contact.email, phone: contact.phone, role: .contact)
    }

    /// Each address once, the first kept (emails compare without case).
    static func unique(_ addressees: [Addressee]) -> [Addressee] {
        var seen = Set<String>()
        return addressees.filter { !$0.recipient.email.isEmpty && seen.insert($0.recipient.email.lowercased()).inserted }
    }

    /// A person any roster names, by staff id.
    func person(_ id: String, role: Support_Notifier_V1_RecipientRole) -> Recipient? {
        self.rosters.person(id).map { Self.recipient($0, role: role) }
    }

    static func recipient(name: String, email: String, phone: String, role: Support_Notifier_V1_RecipientRole) -> Recipient {
        var recipient = Recipient()
        recipient.name = name
        recipient.email = email
        recipient.phone = phone
        recipient.role = role
        return recipient
    }

    static func recipient(_ person: Support_Common_V1_Person, role: Support_Notifier_V1_RecipientRole) -> Recipient {
        Self.recipient(name: person.name.isEmpty ? person.id : person.name, email: person.email, phone: person.phone, role: role)
    }

    /// The TAM when the office is open at `instant`, else the duty manager on
    /// shift (R-ORG-4: the TAM works the office's business hours, R-ORG-5).
    /// The TAM is the certificate's, by id, among its office roster's TAMs;
    /// one the roster does not know is stood in for by the duty manager on
    /// shift, and with nobody on shift the fallback duty address is told
    /// (issue 23: missing staff is alerted, never silently skipped).
    func tamOrDutyManager(tam: String, office: String, at instant: Date, certificate: String = "") -> Staff? {
        guard let calendar = self.offices[office] else { return nil }
        let roster = self.rosters.roster(office: office, certificate: certificate)
        if calendar.isOpen(at: instant), let roster, let person = roster.tams.first(where: { $0.id == tam && !$0.email.isEmpty }) {
            return Staff(recipient: Self.recipient(person, role: .tam), standsInForTAM: false)
        }
        if let roster, let duty = Self.dutyManager(at: instant, roster: roster, calendar: calendar) {
            return Staff(recipient: Self.recipient(duty, role: .dutyManager), standsInForTAM: true)
        }
        return self.fallbackDuty(office: office)
    }

    /// The owner of escalation `level` (R-ESC-1) for `office`; with nobody
    /// named, the fallback duty address.
    func levelOwner(_ level: Int, tam: String, office: String, at instant: Date, certificate: String = "") -> Staff? {
        let roster = self.rosters.roster(office: office, certificate: certificate)
        switch level {
        case 2:
            guard let roster, roster.hasSupportLead, !roster.supportLead.email.isEmpty else { return self.fallbackDuty(office: office) }
            return Staff(recipient: Self.recipient(roster.supportLead, role: .supportLead), standsInForTAM: false)
        case 3:
            guard let roster, roster.hasBusinessAccountManager, !roster.businessAccountManager.email.isEmpty else { return self.fallbackDuty(office: office) }
            return Staff(recipient: Self.recipient(roster.businessAccountManager, role: .businessAccountManager), standsInForTAM: false)
        default:
            return self.tamOrDutyManager(tam: tam, office: office, at: instant, certificate: certificate)
        }
    }

    /// The address alerted when the roster names nobody (issue 23): the
    /// office roster's fallback duty, else the fallback roster's.
    func fallbackDuty(office: String) -> Staff? {
        self.rosters.fallbackDuty(office: office).map { Staff(recipient: Self.recipient($0, role: .dutyManager), standsInForTAM: true) }
    }

    /// The duty manager whose shift covers `instant` in the office's time.
    static func dutyManager(at instant: Date, roster: StaffRoster, calendar: OfficeCalendar) -> Support_Common_V1_Person? {
        guard let date = calendar.localDate(at: instant) else { return nil }
        var local = Calendar(identifier: .gregorian)
        local.timeZone = calendar.timeZone
        let parts = local.dateComponents([.hour, .minute], from: instant)
        let minute = UInt32((parts.hour ?? 0) * 60 + (parts.minute ?? 0))
        // Weekday.allCases runs Monday...Sunday, the proto's 1...7.
        let weekday = Support_Escalation_V1_Weekday(rawValue: (Weekday.allCases.firstIndex(of: date.weekday) ?? 0) + 1) ?? .unspecified
        return roster.dutyManagers.first { manager in
            !manager.person.email.isEmpty && manager.shifts.contains { $0.weekday == weekday && $0.startMinute <= minute && minute < $0.endMinute }
        }?.person
    }

    static func levelName(_ level: Int) -> String {
        switch level {
        case 2: "support team lead"
        case 3: "business account manager"
        default: "TAM"
        }
    }

    static func roleName(_ role: Support_Notifier_V1_RecipientRole) -> String {
        switch role {
        case .reportingContact: "reporting contact"
        case .contact: "contact"
        case .tam: "TAM"
        case .dutyManager: "duty manager"
        case .supportLead: "support team lead"
        case .businessAccountManager: "business account manager"
        default: "recipient"
        }
    }
}
