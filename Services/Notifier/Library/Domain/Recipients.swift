import BusinessCalendar
import Foundation
import SupportProto

/// Who is told: the reporting contact, or staff from notifier.json's
/// directory, with the R-ORG-4 rule that the duty manager on shift stands
/// in for a TAM outside business hours.
struct Recipients: Sendable {
    let config: NotifierConfig
    let offices: OfficeDirectory

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

    func person(_ id: String, role: Support_Notifier_V1_RecipientRole) -> Recipient? {
        guard let person = self.config.people[id] else { return nil }
        return Self.recipient(name: person.name, email: person.email, phone: person.phone, role: role)
    }

    static func recipient(name: String, email: String, phone: String, role: Support_Notifier_V1_RecipientRole) -> Recipient {
        var recipient = Recipient()
        recipient.name = name
        recipient.email = email
        recipient.phone = phone
        recipient.role = role
        return recipient
    }

    /// The TAM when the office is open at `instant`, else the duty manager on
    /// shift (R-ORG-4: the TAM works the office's business hours, R-ORG-5).
    func tamOrDutyManager(tam: String, office: String, at instant: Date) -> Staff? {
        guard let calendar = self.offices[office] else { return nil }
        if calendar.isOpen(at: instant), let tam = self.person(tam, role: .tam) {
            return Staff(recipient: tam, standsInForTAM: false)
        }
        guard let duty = self.config.dutyManager(office: office, at: instant, calendar: calendar) else { return nil }
        return Staff(recipient: Self.recipient(name: duty.name, email: duty.email, phone: duty.phone, role: .dutyManager), standsInForTAM: true)
    }

    /// The owner of escalation `level` (R-ESC-1) for `office`.
    func levelOwner(_ level: Int, tam: String, office: String, at instant: Date) -> Staff? {
        switch level {
        case 2: self.config.offices[office].flatMap { self.person($0.supportLead, role: .supportLead) }.map { Staff(recipient: $0, standsInForTAM: false) }
        case 3: self.config.offices[office].flatMap { self.person($0.accountManager, role: .businessAccountManager) }.map { Staff(recipient: $0, standsInForTAM: false) }
        default: self.tamOrDutyManager(tam: tam, office: office, at: instant)
        }
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
