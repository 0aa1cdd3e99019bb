import ServiceKit
import BusinessCalendar
import Foundation
import SupportProto

/// Health-check bookings (R-HC-1, R-HC-2).
enum HealthCheckRules {
    /// R-HC-2: agreed at least two weeks in advance.
    static let minimumNotice = 14

    static func book(
        date: LocalDate, certificate: Support_Intake_V1_Certificate, calendar: OfficeCalendar, now: Date,
        existing: [Support_Intake_V1_HealthCheckBooking]
    ) throws -> Support_Intake_V1_HealthCheckBooking {
        guard let today = calendar.localDate(at: now) else {
            throw ServiceError(.failedPrecondition, reason: "CLOCK_OUT_OF_RANGE", "intake's clock (\(now)) is outside the years the calendar handles; set it to a time in 1970-9999")
        }
        guard today.days(until: date) >= Self.minimumNotice else {
            throw ServiceError(
                .failedPrecondition, reason: "TOO_SOON", field: "date",
                "a health check is agreed at least \(Self.minimumNotice) days ahead (R-HC-2); the earliest date now is \(today.adding(days: Self.minimumNotice))"
            )
        }
        guard calendar.isBusinessDay(date) else {
            let next = calendar.nextBusinessDay(onOrAfter: date).map { "; the next business day is \($0)" } ?? ""
            throw ServiceError(.failedPrecondition, reason: "NOT_BUSINESS_DAY", field: "date", "\(date) is not a business day of the \(certificate.office) office (R-HC-2)\(next)")
        }
        // isBusinessDay is true exactly when openIntervals is not empty (as
        // OfficeCalendar documents), so neither unwrap below can fail.
        let start = calendar.openIntervals(on: date).first!
        guard start.start >= certificate.validFrom.date, start.end <= certificate.validUntil.date else {
            throw ServiceError(.failedPrecondition, reason: "CERTIFICATE_NOT_VALID", field: "date", "\(date) is outside certificate \(certificate.id)'s validity period")
        }
        // R-HC-1: certificate years count from valid_from.
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = calendar.timeZone
        let years = gregorian.dateComponents([.year], from: certificate.validFrom.date, to: start.start).year ?? 0
        let year = UInt32(years + 1)
        if let booked = existing.first(where: { $0.certificateYear == year }) {
            throw ServiceError(.failedPrecondition, reason: "ALREADY_BOOKED", field: "date", "certificate year \(year) already has its health check on \(booked.date) (R-HC-1: one per year)")
        }
        var booking = Support_Intake_V1_HealthCheckBooking()
        booking.certificateID = certificate.id
        booking.date = date.description
        booking.startsAt = .init(date: start.start)
        booking.endsAt = .init(date: calendar.openIntervals(on: date).last!.end)
        booking.certificateYear = year
        booking.office = certificate.office
        return booking
    }
}
