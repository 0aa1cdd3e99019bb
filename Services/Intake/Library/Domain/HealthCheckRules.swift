import ServiceKit
import BusinessCalendar
import Foundation
import SupportProto

/// Health-check bookings (R-HC-1, R-HC-2): booked, moved and cancelled with
/// a contact's agreement, on the office's calendar days (R-ORG-1), and
/// closed by the TAM's findings.
enum HealthCheckRules {
    /// R-HC-2: agreed at least two weeks in advance.
    static let minimumNotice = 14

    /// Where a check on `date` would fall: that day's business hours and
    /// the certificate year they lie in.
    struct Slot {
        var start: Date
        var end: Date
        var year: UInt32
    }

    static func book(
        date: LocalDate, certificate: Support_Intake_V1_Certificate, calendar: OfficeCalendar, now: Date,
        existing: [Support_Intake_V1_HealthCheckBooking]
    ) throws -> Support_Intake_V1_HealthCheckBooking {
        let slot = try Self.slot(date, certificate: certificate, calendar: calendar, now: now)
        // A cancelled check does not count as the year's (R-HC-1).
        if let booked = existing.first(where: { $0.certificateYear == slot.year && !$0.hasCancelledAt }) {
            throw ServiceError(
                .failedPrecondition, reason: "ALREADY_BOOKED", field: "date",
                "certificate year \(slot.year) already has its health check on \(booked.date) (R-HC-1: one per year); move it with `supportctl healthcheck reschedule \(booked.id)`"
            )
        }
        var booking = Support_Intake_V1_HealthCheckBooking()
        booking.id = "HC-\(certificate.id)-\(slot.year)"
        booking.certificateID = certificate.id
        booking.office = certificate.office
        Self.place(&booking, on: date, slot)
        return booking
    }

    /// R-HC-2: a business day of the office, at least 14 of its calendar
    /// days after its today, inside the certificate's validity.
    static func slot(_ date: LocalDate, certificate: Support_Intake_V1_Certificate, calendar: OfficeCalendar, now: Date) throws -> Slot {
        let today = try Self.today(calendar, now)
        guard today.days(until: date) >= Self.minimumNotice else {
            throw ServiceError(
                .failedPrecondition, reason: "TOO_SOON", field: "date",
                "a health check is agreed at least \(Self.minimumNotice) days ahead (R-HC-2); today is \(today) at the \(certificate.office) office, so the earliest date is \(today.adding(days: Self.minimumNotice))"
            )
        }
        guard calendar.isBusinessDay(date) else {
            let next = calendar.nextBusinessDay(onOrAfter: date).map { "; the next business day is \($0)" } ?? ""
            throw ServiceError(.failedPrecondition, reason: "NOT_BUSINESS_DAY", field: "date", "\(date) is not a business day of the \(certificate.office) office (R-HC-2)\(next)")
        }
        // isBusinessDay is true exactly when openIntervals is not empty (as
        // OfficeCalendar documents), so neither unwrap below can fail.
        let hours = calendar.openIntervals(on: date)
        let start = hours.first!.start
        let end = hours.last!.end
        guard start >= certificate.validFrom.date, end <= certificate.validUntil.date else {
            throw ServiceError(
                .failedPrecondition, reason: "CERTIFICATE_NOT_VALID", field: "date",
                "\(date) is outside certificate \(certificate.id)'s validity (\(CertificateRules.period(of: certificate)))"
            )
        }
        // R-HC-1: certificate years count from valid_from.
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = calendar.timeZone
        let years = gregorian.dateComponents([.year], from: certificate.validFrom.date, to: start).year ?? 0
        return Slot(start: start, end: end, year: UInt32(years + 1))
    }

    /// R-HC-2: the date is agreed by both sides; the customer's side is an
    /// authorised contact of the certificate.
    static func agreement(_ email: String, on certificate: Support_Intake_V1_Certificate) throws -> String {
        let email = email.lowercased()
        guard certificate.contacts.contains(where: { $0.email == email }) else {
            throw ServiceError(
                .permissionDenied, reason: "CONTACT_NOT_AUTHORISED", field: "agreed_with",
                "\(email) is not an authorised contact of certificate \(certificate.id); a health check's date is agreed with one of its contacts (R-HC-2): \(certificate.contacts.map(\.email).joined(separator: ", "))"
            )
        }
        return email
    }

    /// R-HC-1: moved within its certificate year, under the booking rules.
    static func reschedule(
        _ booking: inout Support_Intake_V1_HealthCheckBooking, to date: LocalDate, certificate: Support_Intake_V1_Certificate,
        calendar: OfficeCalendar, now: Date
    ) throws {
        try Self.checkOpen(booking)
        let slot = try Self.slot(date, certificate: certificate, calendar: calendar, now: now)
        guard slot.year == booking.certificateYear else {
            throw ServiceError(
                .failedPrecondition, reason: "OTHER_CERTIFICATE_YEAR", field: "date",
                "\(date) is in certificate year \(slot.year), but \(booking.id) is year \(booking.certificateYear)'s check (R-HC-1: one per year); choose a date in year \(booking.certificateYear) or book year \(slot.year) separately"
            )
        }
        booking.rescheduledFrom = booking.date
        Self.place(&booking, on: date, slot)
    }

    /// Cancelled before its day begins in the office.
    static func cancel(_ booking: inout Support_Intake_V1_HealthCheckBooking, calendar: OfficeCalendar, now: Date) throws {
        try Self.checkOpen(booking)
        let today = try Self.today(calendar, now)
        guard let date = LocalDate(booking.date), today < date else {
            throw ServiceError(
                .failedPrecondition, reason: "HEALTH_CHECK_STARTED", field: "booking_id",
                "\(booking.id) was on \(booking.date) and that day has begun at the \(booking.office) office (today is \(today)); record its findings instead"
            )
        }
    }

    /// R-HC-1: the TAM delivers the report, once the check's day has begun.
    static func recordFindings(
        _ findings: String, on booking: inout Support_Intake_V1_HealthCheckBooking, by actor: String,
        certificate: Support_Intake_V1_Certificate, calendar: OfficeCalendar, now: Date
    ) throws {
        guard actor == certificate.tam else {
            throw ServiceError(
                .permissionDenied, reason: "NOT_THE_TAM", field: "actor",
                "the findings of \(booking.id) are recorded by certificate \(certificate.id)'s TAM, \(certificate.tam), not \(actor) (R-HC-1)"
            )
        }
        try Self.checkOpen(booking)
        let today = try Self.today(calendar, now)
        guard let date = LocalDate(booking.date), date <= today else {
            throw ServiceError(
                .failedPrecondition, reason: "HEALTH_CHECK_NOT_STARTED", field: "booking_id",
                "\(booking.id) is on \(booking.date) and today is \(today) at the \(booking.office) office; record its findings once the check has been held"
            )
        }
        booking.findings = findings
        booking.findingsRecordedBy = actor
        booking.findingsRecordedAt = .init(date: now)
    }

    /// The event from which notifier mails the findings to every contact.
    static func findingsEvent(
        _ booking: Support_Intake_V1_HealthCheckBooking, certificate: Support_Intake_V1_Certificate, at now: Date
    ) -> Support_Events_V1_Event {
        var recorded = Support_Events_V1_HealthCheckFindingsRecorded()
        recorded.bookingID = booking.id
        recorded.certificateID = certificate.id
        recorded.customer = certificate.customer
        recorded.office = certificate.office
        recorded.date = booking.date
        recorded.tam = booking.findingsRecordedBy
        recorded.contacts = certificate.contacts
        recorded.findings = booking.findings
        var event = Support_Events_V1_Event()
        event.occurredAt = .init(date: now)
        event.payload = .healthCheckFindingsRecorded(recorded)
        return event
    }

    // MARK: Helpers

    private static func place(_ booking: inout Support_Intake_V1_HealthCheckBooking, on date: LocalDate, _ slot: Slot) {
        booking.date = date.description
        booking.startsAt = .init(date: slot.start)
        booking.endsAt = .init(date: slot.end)
        booking.certificateYear = slot.year
    }

    private static func checkOpen(_ booking: Support_Intake_V1_HealthCheckBooking) throws {
        guard !booking.hasCancelledAt else {
            throw ServiceError(
                .failedPrecondition, reason: "HEALTH_CHECK_CANCELLED", field: "booking_id",
                "\(booking.id) was cancelled; book certificate year \(booking.certificateYear) again with `supportctl healthcheck book`"
            )
        }
        guard booking.findings.isEmpty else {
            throw ServiceError(.failedPrecondition, reason: "HEALTH_CHECK_DONE", field: "booking_id", "\(booking.id) took place and its findings are recorded; nothing more can change")
        }
    }

    /// R-ORG-1: "today" is the office's calendar day.
    private static func today(_ calendar: OfficeCalendar, _ now: Date) throws -> LocalDate {
        guard let today = calendar.localDate(at: now) else {
            throw ServiceError(.failedPrecondition, reason: "CLOCK_OUT_OF_RANGE", "intake's clock (\(now)) is outside the years the calendar handles; set it to a time in 1970-9999")
        }
        return today
    }
}
