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

    static func contact(_ snapshot: Snapshot) -> Recipient {
        var recipient = Recipient()
        recipient.name = snapshot.contactName.isEmpty ? snapshot.contactEmail : snapshot.contactName
        recipient.email = snapshot.contactEmail
        recipient.role = .reportingContact
        return recipient
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

/// "2026-12-07 10:30 (Mon) Asia/Tokyo": what every template shows.
enum LocalTime {
    static func text(_ date: Date, _ timeZone: TimeZone) -> String {
        var style = Date.VerbatimFormatStyle(
            format: "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits) (\(weekday: .abbreviated))",
            timeZone: timeZone, calendar: Calendar(identifier: .gregorian)
        )
        style.locale = Locale(identifier: "en_US_POSIX")
        return "\(date.formatted(style)) \(timeZone.identifier)"
    }
}
