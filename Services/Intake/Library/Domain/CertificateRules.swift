import BusinessCalendar
import Foundation
import ServiceKit
import SupportProto

typealias Contact = Support_Common_V1_Contact

/// Certificates and their authorised contacts (R-ORG-1..3).
enum CertificateRules {
    /// R-ORG-2: at most eight authorised contacts.
    static let contactLimit = 8

    static func validated(_ contact: Contact, field: String) throws -> Contact {
        var contact = contact
        contact.name = try Field.required(contact.name, "\(field).name", "the contact's name")
        contact.email = try Field.required(contact.email, "\(field).email", "the contact's email").lowercased()
        contact.phone = try Field.optional(contact.phone, "\(field).phone", max: Field.shortText)
        guard Self.isEmail(contact.email) else {
            throw ServiceError.invalid("\(field).email", "\(contact.email) is not an email address")
        }
        contact.language = try Self.language(contact.language, field: "\(field).language", empty: "the certificate's")
        return contact
    }

    static func isEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@")
        return parts.count == 2 && parts[1].contains(".") && !email.contains(" ")
    }

    // MARK: Languages (issue 22)

    /// A requested mail language: "en" or "ja", or empty for the default
    /// (`empty` says which); INVALID_ARGUMENT naming `field` otherwise.
    static func language(_ value: String, field: String, empty: String) throws -> String {
        let language = value.trimmedOfWhitespace().lowercased()
        guard language.isEmpty || OfficeDirectory.languages.contains(language) else {
            throw ServiceError.invalid(
                field, "\(field) is \"\(value)\"; mail is written in \(OfficeDirectory.languages.joined(separator: " or ")), or leave it empty for \(empty)"
            )
        }
        return language
    }

    /// The certificate's mail language: its own, else its office's (a
    /// certificate registered before issue 22 names none).
    static func language(of certificate: Certificate, officeLanguage: String) -> String {
        certificate.language.isEmpty ? officeLanguage : certificate.language
    }

    /// `contact` with the language its mail is written in: its own, else
    /// the certificate's.
    static func resolved(_ contact: Contact, certificateLanguage: String) -> Contact {
        guard contact.language.isEmpty else { return contact }
        var contact = contact
        contact.language = certificateLanguage
        return contact
    }

    /// `certificate` as intake returns and publishes it: its language and
    /// every contact's (the revisions' too) resolved. What is stored keeps
    /// what was asked for, so an empty contact language keeps following
    /// the certificate's.
    static func resolved(_ certificate: Certificate, officeLanguage: String) -> Certificate {
        var certificate = certificate
        certificate.language = Self.language(of: certificate, officeLanguage: officeLanguage)
        let language = certificate.language
        certificate.contacts = certificate.contacts.map { Self.resolved($0, certificateLanguage: language) }
        for index in certificate.history.indices {
            certificate.history[index].contacts = certificate.history[index].contacts.map { Self.resolved($0, certificateLanguage: language) }
        }
        return certificate
    }

    static func checkContactList(_ contacts: [Contact]) throws {
        guard contacts.count <= Self.contactLimit else {
            throw Self.limitReached(count: contacts.count)
        }
        var seen = Set<String>()
        for (index, contact) in contacts.enumerated() where !seen.insert(contact.email).inserted {
            throw ServiceError.invalid("contacts[\(index)].email", "\(contact.email) is listed twice")
        }
    }

    static func add(_ contact: Contact, to certificate: inout Certificate) throws {
        guard !certificate.contacts.contains(where: { $0.email == contact.email }) else {
            throw ServiceError(.alreadyExists, reason: "CONTACT_EXISTS", field: "contact.email", "\(contact.email) is already an authorised contact of \(certificate.id)")
        }
        guard certificate.contacts.count < Self.contactLimit else { throw Self.limitReached(count: certificate.contacts.count + 1) }
        certificate.contacts.append(contact)
    }

    static func remove(_ email: String, from certificate: inout Certificate) throws -> Contact {
        guard let index = certificate.contacts.firstIndex(where: { $0.email == email }) else {
            throw ServiceError(.notFound, reason: "CONTACT_NOT_FOUND", field: "email", "\(email) is not an authorised contact of \(certificate.id)")
        }
        return certificate.contacts.remove(at: index)
    }

    private static func limitReached(count: Int) -> ServiceError {
        ServiceError(
            .failedPrecondition, reason: "CONTACT_LIMIT", field: "contact",
            "a certificate names at most \(Self.contactLimit) authorised contacts (R-ORG-2); remove one with `supportctl contact remove` before adding another"
        )
    }

    static func checkRevision(_ expected: UInt32, of certificate: Certificate) throws {
        guard expected == 0 || expected == certificate.revision else {
            throw ServiceError(.aborted, reason: "REVISION_MISMATCH", field: "expected_revision", "\(certificate.id) is at revision \(certificate.revision), not \(expected); re-read it and retry")
        }
    }

    /// R-ORG-2: every change issues a new revision, kept with its contacts.
    static func newRevision(of certificate: inout Certificate, by actor: String, summary: String, at now: Date) {
        certificate.revision += 1
        certificate.updatedAt = .init(date: now)
        var revision = Support_Intake_V1_CertificateRevision()
        revision.revision = certificate.revision
        revision.at = .init(date: now)
        revision.actor = actor
        revision.summary = summary
        revision.contacts = certificate.contacts
        certificate.history.append(revision)
    }

    /// R-ORG-3: only an authorised contact of a certificate valid now.
    static func authorise(_ email: String, on certificate: Certificate, at now: Date, field: String = "contact_email") throws -> Contact {
        let email = email.lowercased()
        guard let contact = certificate.contacts.first(where: { $0.email == email }) else {
            throw ServiceError(.permissionDenied, reason: "CONTACT_NOT_AUTHORISED", field: field, "\(email) is not an authorised contact of certificate \(certificate.id) (R-ORG-3); ask the Company Account to add it")
        }
        try self.checkValid(certificate, at: now)
        return contact
    }

    static func checkValid(_ certificate: Certificate, at now: Date) throws {
        guard now >= certificate.validFrom.date, now < certificate.validUntil.date else {
            throw ServiceError(
                .failedPrecondition, reason: "CERTIFICATE_NOT_VALID",
                "certificate \(certificate.id) is valid \(Self.period(of: certificate)); it does not cover now (R-ORG-3). Renew it first."
            )
        }
    }

    /// "from 2027-01-01 through 2027-12-31 (tokyo office days)" when the
    /// local days are known, else the instants in UTC.
    static func period(of certificate: Certificate) -> String {
        guard !certificate.validFromDate.isEmpty, !certificate.validUntilDate.isEmpty else {
            return "from \(certificate.validFrom.date.formatted(.iso8601)) until \(certificate.validUntil.date.formatted(.iso8601))"
        }
        return "from \(certificate.validFromDate) through \(certificate.validUntilDate) (days of the \(certificate.office) office)"
    }

    // MARK: Validity as office-local days (R-ORG-1, issue 23)

    /// The validity period a RegisterCertificateRequest asks for, as
    /// instants: each bound given either as a Timestamp or as a date in the
    /// office's calendar, valid_until_date inclusive (the certificate holds
    /// through the end of that local day).
    static func validity(
        from request: Support_Intake_V1_RegisterCertificateRequest, calendar: OfficeCalendar
    ) throws -> (from: Date, until: Date) {
        let from = try Self.bound(
            instant: request.hasValidFrom ? request.validFrom.date : nil, date: request.validFromDate,
            field: "valid_from", calendar: calendar, dayAfter: false
        )
        let until = try Self.bound(
            instant: request.hasValidUntil ? request.validUntil.date : nil, date: request.validUntilDate,
            field: "valid_until", calendar: calendar, dayAfter: true
        )
        guard until > from else {
            let field = request.validUntilDate.isEmpty ? "valid_until" : "valid_until_date"
            throw ServiceError.invalid(field, "the validity period ends before it begins; valid_until_date is the last day covered (inclusive), valid_until the first instant not covered")
        }
        return (from, until)
    }

    private static func bound(instant: Date?, date text: String, field: String, calendar: OfficeCalendar, dayAfter: Bool) throws -> Date {
        let dateField = "\(field)_date"
        let text = text.trimmedOfWhitespace()
        switch (instant, text.isEmpty) {
        case (let instant?, true):
            return instant
        case (.some, false):
            throw ServiceError.invalid(dateField, "give \(field) or \(dateField), not both")
        case (nil, true):
            throw ServiceError.missing(dateField, "the validity period: \(dateField) as YYYY-MM-DD in the office's calendar (or \(field) as an instant)")
        case (nil, false):
            // 1971...9998: both the day's start and the next day's stay
            // inside the times a Timestamp may carry (issue 21).
            guard let date = LocalDate(text), (1971...9998).contains(date.year) else {
                throw ServiceError.invalid(dateField, "\(text) is not a date like 2027-01-01 between 1971 and 9998")
            }
            return calendar.startOfDay(dayAfter ? date.adding(days: 1) : date)
        }
    }

    /// The office-local days of the validity period, both inclusive: what
    /// people agreed, shown beside the instants.
    static func localDays(of certificate: inout Certificate, calendar: OfficeCalendar) {
        guard certificate.hasValidFrom, certificate.hasValidUntil,
            let first = calendar.localDate(at: certificate.validFrom.date),
            let last = calendar.localDate(at: certificate.validUntil.date.addingTimeInterval(-0.001))
        else { return }
        certificate.validFromDate = first.description
        certificate.validUntilDate = last.description
    }

    /// - Parameter certificate: As published: languages resolved
    ///   (``resolved(_:officeLanguage:)``).
    static func changedEvent(_ certificate: Certificate, by actor: String, at now: Date) -> Support_Events_V1_Event {
        var changed = Support_Events_V1_CertificateChanged()
        changed.certificateID = certificate.id
        changed.customer = certificate.customer
        changed.tier = certificate.tier
        changed.office = certificate.office
        changed.validFrom = certificate.validFrom
        changed.validUntil = certificate.validUntil
        changed.tam = certificate.tam
        changed.revision = certificate.revision
        changed.contacts = certificate.contacts
        changed.changedBy = actor
        changed.language = certificate.language
        var event = Support_Events_V1_Event()
        event.occurredAt = .init(date: now)
        event.payload = .certificateChanged(changed)
        return event
    }

    /// - Parameter certificate: As published, languages resolved; so are
    ///   `added` and `removed`.
    static func contactsEvent(_ certificate: Certificate, added: Contact?, removed: Contact?, by actor: String, at now: Date) -> Support_Events_V1_Event {
        var changed = Support_Events_V1_ContactsChanged()
        changed.certificateID = certificate.id
        changed.revision = certificate.revision
        changed.contacts = certificate.contacts
        if let added { changed.added = added }
        if let removed { changed.removed = removed }
        changed.changedBy = actor
        var event = Support_Events_V1_Event()
        event.occurredAt = .init(date: now)
        event.payload = .contactsChanged(changed)
        return event
    }
}
