import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC

extension IntakeRPCService {
    /// Health checks (R-HC-1, R-HC-2): booked, moved and cancelled with a
    /// contact's agreement on the office's days, and closed by the TAM's
    /// findings, which notifier mails to the contacts.
    func registerHealthChecks(into router: inout RPCRouter) {
        router.register(IntakeRPC.bookHealthCheck) { request, context in
            let actor = try Field.required(request.actor, "actor", "the TAM or staff id booking it")
            let certificateID = try Field.required(request.certificateID, "certificate_id", "the certificate")
            let date = try Self.date(request.date)
            let agreedWith = try Field.required(request.agreedWith, "agreed_with", "the authorised contact who agreed the date (R-HC-2)")
            let notes = try Field.optional(request.notes, "notes")
            return try await self.writes.write(context) { db, now in
                let (certificate, calendar) = try self.certificate(certificateID, in: db)
                var booking = try HealthCheckRules.book(
                    date: date, certificate: certificate, calendar: calendar, now: now,
                    existing: try IntakeStore.healthChecks(certificateID: certificateID, in: db)
                )
                booking.agreedWith = try HealthCheckRules.agreement(agreedWith, on: certificate)
                booking.bookedBy = actor
                booking.notes = notes
                booking.bookedAt = .init(date: now)
                try IntakeStore.save(booking, in: db)
                return (booking, [])
            }
        }
        router.register(IntakeRPC.rescheduleHealthCheck) { request, context in
            _ = try Field.required(request.actor, "actor", "the TAM or staff id moving it")
            let id = try Field.required(request.bookingID, "booking_id", "the health check to move (HC-…)")
            let date = try Self.date(request.date)
            let agreedWith = try Field.required(request.agreedWith, "agreed_with", "the authorised contact who agreed the new date (R-HC-2)")
            let notes = try Field.optional(request.notes, "notes")
            return try await self.writes.write(context) { db, now in
                var booking = try self.booking(id, in: db)
                let (certificate, calendar) = try self.certificate(booking.certificateID, in: db)
                let agreed = try HealthCheckRules.agreement(agreedWith, on: certificate)
                try HealthCheckRules.reschedule(&booking, to: date, certificate: certificate, calendar: calendar, now: now)
                booking.agreedWith = agreed
                if !notes.isEmpty { booking.notes = notes }
                try IntakeStore.save(booking, in: db)
                return (booking, [])
            }
        }
        router.register(IntakeRPC.cancelHealthCheck) { request, context in
            let actor = try Field.required(request.actor, "actor", "the TAM or staff id cancelling it")
            let id = try Field.required(request.bookingID, "booking_id", "the health check to cancel (HC-…)")
            let agreedWith = try Field.required(request.agreedWith, "agreed_with", "the authorised contact who agreed the cancellation")
            let reason = try Field.optional(request.reason, "reason")
            return try await self.writes.write(context) { db, now in
                var booking = try self.booking(id, in: db)
                let (certificate, calendar) = try self.certificate(booking.certificateID, in: db)
                let agreed = try HealthCheckRules.agreement(agreedWith, on: certificate)
                try HealthCheckRules.cancel(&booking, calendar: calendar, now: now)
                booking.agreedWith = agreed
                booking.cancelledAt = .init(date: now)
                booking.cancelledBy = actor
                booking.cancelReason = reason
                try IntakeStore.save(booking, in: db)
                return (booking, [])
            }
        }
        router.register(IntakeRPC.recordHealthCheckFindings) { request, context in
            let actor = try Field.required(request.actor, "actor", "the certificate's TAM")
            let id = try Field.required(request.bookingID, "booking_id", "the health check held (HC-…)")
            let findings = try Field.required(request.findings, "findings", "the findings and recommendations (R-HC-1)", max: RequestLimits.textLimit)
            return try await self.writes.write(context) { db, now in
                var booking = try self.booking(id, in: db)
                let (certificate, calendar) = try self.certificate(booking.certificateID, in: db)
                try HealthCheckRules.recordFindings(findings, on: &booking, by: actor, certificate: certificate, calendar: calendar, now: now)
                try IntakeStore.save(booking, in: db)
                // Contacts as published: each with the language its mail is written in.
                return (booking, [HealthCheckRules.findingsEvent(booking, certificate: self.shown(certificate), at: now)])
            }
        }
        router.register(IntakeRPC.listHealthChecks) { request, context in
            let certificateID = try Field.optional(request.certificateID, "certificate_id", max: Field.shortText)
            return try await self.writes.read(context) { db in
                if !certificateID.isEmpty, try IntakeStore.certificate(certificateID, in: db) == nil {
                    throw ServiceError.notFound("certificate", certificateID)
                }
                var response = Support_Intake_V1_ListHealthChecksResponse()
                response.bookings = try IntakeStore.healthChecks(certificateID: certificateID, in: db)
                return response
            }
        }
    }

    private static func date(_ text: String) throws -> LocalDate {
        let text = try Field.required(text, "date", "the day of the check, YYYY-MM-DD in the office's time zone")
        guard let date = LocalDate(text) else { throw ServiceError.invalid("date", "\(text) is not a date like 2027-03-15") }
        return date
    }

    private func booking(_ id: String, in db: Database) throws -> HealthCheckBooking {
        guard let booking = try IntakeStore.healthCheck(id, in: db) else {
            throw ServiceError.notFound("health check", id, field: "booking_id", hint: "`supportctl healthcheck list` shows the bookings")
        }
        return booking
    }

    private func certificate(_ id: String, in db: Database) throws -> (Certificate, OfficeCalendar) {
        guard let certificate = try IntakeStore.certificate(id, in: db) else { throw ServiceError.notFound("certificate", id) }
        guard let calendar = self.offices.calendar(certificate.office) else {
            throw ServiceError(.failedPrecondition, reason: "UNKNOWN_OFFICE", "office \(certificate.office) is not configured; add it to offices.json")
        }
        return (certificate, calendar)
    }
}
