import ArgumentParser
import Foundation
import SupportProto
import SupportRPC

/// `supportctl healthcheck book|reschedule|cancel|findings|list` (R-HC-1,
/// R-HC-2): dates are the office's calendar days (R-ORG-1).
struct HealthCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck",
        abstract: "The yearly health check: book, move or cancel it (a business day, at least 14 days ahead, agreed with a contact); record its findings.",
        subcommands: [Book.self, Reschedule.self, Cancel.self, Findings.self, List.self]
    )

    static let staff = ProcessInfo.processInfo.environment["USER"] ?? "operator"

    static func line(_ booking: Support_Intake_V1_HealthCheckBooking) -> String {
        var text = "\(booking.id): \(booking.date) (\(booking.startsAt.text(office: booking.office)) to \(booking.endsAt.text(office: booking.office))), certificate year \(booking.certificateYear)"
        if !booking.agreedWith.isEmpty { text += ", agreed with \(booking.agreedWith)" }
        if !booking.rescheduledFrom.isEmpty { text += ", moved from \(booking.rescheduledFrom)" }
        if booking.hasCancelledAt { text += "; cancelled by \(booking.cancelledBy)" }
        if !booking.findings.isEmpty { text += "; findings recorded by \(booking.findingsRecordedBy)" }
        return text
    }

    struct Book: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Book a certificate year's health check.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var create: CreateOptions
        @Option(help: "The certificate id.") var certificate: String
        @Option(help: "The day, YYYY-MM-DD in the office's time zone.") var date: String
        @Option(help: "The authorised contact who agreed the date (R-HC-2).") var agreedWith: String
        @Option(help: "Notes for the TAM.") var notes: String = ""
        @Option(help: "Who books it.") var actor: String = HealthCheckCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_BookHealthCheckRequest()
            request.actor = self.actor
            request.certificateID = self.certificate
            request.date = self.date
            request.agreedWith = self.agreedWith
            request.notes = self.notes
            let booking = try await self.global.call("intake", IntakeRPC.bookHealthCheck, request, metadata: self.create.metadata)
            try self.global.show(booking, HealthCheckCommand.line)
        }
    }

    struct Reschedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a booked health check to another day of the same certificate year.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var create: CreateOptions
        @Argument(help: "The booking id (HC-…).") var booking: String
        @Option(help: "The new day, YYYY-MM-DD in the office's time zone.") var date: String
        @Option(help: "The authorised contact who agreed the new date.") var agreedWith: String
        @Option(help: "New notes (default: keep them).") var notes: String = ""
        @Option(help: "Who moves it.") var actor: String = HealthCheckCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_RescheduleHealthCheckRequest()
            request.actor = self.actor
            request.bookingID = self.booking
            request.date = self.date
            request.agreedWith = self.agreedWith
            request.notes = self.notes
            let booking = try await self.global.call("intake", IntakeRPC.rescheduleHealthCheck, request, metadata: self.create.metadata)
            try self.global.show(booking, HealthCheckCommand.line)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a booked health check before its day; the year may be booked again.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var create: CreateOptions
        @Argument(help: "The booking id (HC-…).") var booking: String
        @Option(help: "The authorised contact who agreed the cancellation.") var agreedWith: String
        @Option(help: "Why.") var reason: String = ""
        @Option(help: "Who cancels it.") var actor: String = HealthCheckCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_CancelHealthCheckRequest()
            request.actor = self.actor
            request.bookingID = self.booking
            request.agreedWith = self.agreedWith
            request.reason = self.reason
            let booking = try await self.global.call("intake", IntakeRPC.cancelHealthCheck, request, metadata: self.create.metadata)
            try self.global.show(booking, HealthCheckCommand.line)
        }
    }

    struct Findings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a held health check's findings and recommendations (the TAM); they are mailed to the certificate's contacts."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var create: CreateOptions
        @Argument(help: "The booking id (HC-…).") var booking: String
        @Option(help: "The findings and recommendations, plain text; '-' reads them from standard input.") var text: String
        @Option(help: "The certificate's TAM.") var actor: String = HealthCheckCommand.staff

        func run() async throws {
            var request = Support_Intake_V1_RecordHealthCheckFindingsRequest()
            request.actor = self.actor
            request.bookingID = self.booking
            request.findings = self.text == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : self.text
            let booking = try await self.global.call("intake", IntakeRPC.recordHealthCheckFindings, request, metadata: self.create.metadata)
            try self.global.show(booking, HealthCheckCommand.line)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List health checks, of one certificate or of all.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The certificate id (default: every certificate).") var certificate: String = ""

        func run() async throws {
            var request = Support_Intake_V1_ListHealthChecksRequest()
            request.certificateID = self.certificate
            let response = try await self.global.call("intake", IntakeRPC.listHealthChecks, request)
            try self.global.show(response) { response in
                Output.table(
                    ["ID", "DATE", "YEAR", "AGREED WITH", "STATE"],
                    response.bookings.map {
                        [$0.id, $0.date, "\($0.certificateYear)", $0.agreedWith, $0.hasCancelledAt ? "cancelled" : $0.findings.isEmpty ? "booked" : "held"]
                    }
                )
            }
        }
    }
}
