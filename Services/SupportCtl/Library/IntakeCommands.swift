import ArgumentParser
import Foundation
import ServiceKit
import SupportProto
import SupportRPC

/// `supportctl certificate …`: MSA Support Certificates (R-ORG-1).
struct CertificateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificate", abstract: "Register and show certificates.",
        subcommands: [Register.self, Show.self, List.self]
    )

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a certificate (revision 1).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var create: CreateOptions
        @Option(help: "The certificate id.") var id: String
        @Option(help: "The customer organisation.") var customer: String
        @Option(help: "The vendor office whose local time governs it (e.g. tokyo).") var office: String
        @Option(help: "enterprise or standard.") var tier: Choice<Support_Common_V1_Tier>
        @Option(help: "First day of validity, YYYY-MM-DD in the office's calendar (or an ISO 8601 time).") var validFrom: String
        @Option(help: "Last day of validity, inclusive: YYYY-MM-DD in the office's calendar (or an ISO 8601 time, exclusive).") var validUntil: String
        @Option(help: "The Technical Account Manager (R-ORG-4).") var tam: String
        @Option(help: "The language of its contacts' mail: en or ja (default: the office's; tokyo writes in ja).") var language: String = ""
        @Option(help: "Who registers it.") var actor: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"

        func run() async throws {
            var request = Support_Intake_V1_RegisterCertificateRequest()
            request.actor = self.actor
            request.certificateID = self.id
            request.customer = self.customer
            request.office = self.office
            request.tier = self.tier.value
            // R-ORG-1: a bare date is the office's calendar day, which intake
            // turns into instants in the office's time zone (issue 23).
            if Times.isDate(self.validFrom) {
                request.validFromDate = self.validFrom
            } else {
                request.validFrom = .init(date: try Times.parse(self.validFrom, option: "--valid-from"))
            }
            if Times.isDate(self.validUntil) {
                request.validUntilDate = self.validUntil
            } else {
                request.validUntil = .init(date: try Times.parse(self.validUntil, option: "--valid-until"))
            }
            request.tam = self.tam
            request.language = self.language
            let certificate = try await self.global.call("intake", IntakeRPC.registerCertificate, request, metadata: self.create.metadata)
            try self.global.show(certificate, Render.certificate)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a certificate, its contacts and revisions.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The certificate id.") var id: String

        func run() async throws {
            var request = Support_Intake_V1_GetCertificateRequest()
            request.certificateID = self.id
            try self.global.show(try await self.global.call("intake", IntakeRPC.getCertificate, request), Render.certificate)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List certificates.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this office's.") var office: String = ""

        func run() async throws {
            var request = Support_Intake_V1_ListCertificatesRequest()
            request.office = self.office
            request.pageSize = 1000
            let response = try await self.global.call("intake", IntakeRPC.listCertificates, request)
            try self.global.show(response) { response in
                Output.table(
                    ["ID", "CUSTOMER", "TIER", "OFFICE", "VALID UNTIL", "CONTACTS", "REV"],
                    response.certificates.map { [$0.id, $0.customer, $0.tier.label, $0.office, $0.validUntil.text, "\($0.contacts.count)", "\($0.revision)"] }
                )
            }
        }
    }
}

/// `supportctl contact add|remove` (R-ORG-2: at most 8).
struct ContactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact", abstract: "Add or remove a certificate's authorised contacts (at most 8).",
        subcommands: [Add.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an authorised contact: a new certificate revision.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var create: CreateOptions
        @Option(help: "The certificate id.") var certificate: String
        @Option(help: "The contact's name.") var name: String
        @Option(help: "The contact's email.") var email: String
        @Option(help: "The contact's phone.") var phone: String = ""
        @Option(help: "The language of the contact's mail: en or ja (default: the certificate's).") var language: String = ""
        @Option(help: "Who makes the change.") var actor: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"

        func run() async throws {
            var request = Support_Intake_V1_AddContactRequest()
            request.actor = self.actor
            request.certificateID = self.certificate
            request.contact.name = self.name
            request.contact.email = self.email
            request.contact.phone = self.phone
            request.contact.language = self.language
            let certificate = try await self.global.call("intake", IntakeRPC.addContact, request, metadata: self.create.metadata)
            try self.global.show(certificate, Render.certificate)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an authorised contact: a new certificate revision.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The certificate id.") var certificate: String
        @Option(help: "The contact's email.") var email: String
        @Option(help: "Who makes the change.") var actor: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"

        func run() async throws {
            var request = Support_Intake_V1_RemoveContactRequest()
            request.actor = self.actor
            request.certificateID = self.certificate
            request.email = self.email
            try self.global.show(try await self.global.call("intake", IntakeRPC.removeContact, request), Render.certificate)
        }
    }
}

/// `supportctl portal set available|unavailable` (R-CH-3).
struct PortalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portal", abstract: "Show or set the Company Account portal's availability (email is open only while it is unavailable).",
        subcommands: [Set.self, Show.self], defaultSubcommand: Show.self
    )

    enum Availability: String, ExpressibleByArgument, CaseIterable {
        case available, unavailable
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the portal available or unavailable.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "available or unavailable.") var availability: Availability
        @Option(help: "Why, for the record.") var note: String = ""
        @Option(help: "Who sets it.") var actor: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"

        func run() async throws {
            var request = Support_Intake_V1_SetCompanyAccountAvailabilityRequest()
            request.actor = self.actor
            request.available = self.availability == .available
            request.note = self.note
            try self.global.show(try await self.global.call("intake", IntakeRPC.setCompanyAccountAvailability, request), Render.portal)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the portal's availability.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try self.global.show(try await self.global.call("intake", IntakeRPC.getCompanyAccountAvailability, .init()), Render.portal)
        }
    }
}

enum Times {
    /// True for a bare YYYY-MM-DD date.
    static func isDate(_ text: String) -> Bool {
        text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}/) != nil
    }

    /// An ISO 8601 time, or a date (midnight UTC).
    static func parse(_ text: String, option: String) throws -> Date {
        if let time = ServiceOptions.parseTime(text) { return time }
        if let date = ServiceOptions.parseTime(text + "T00:00:00Z") { return date }
        throw ValidationError("\(option) wants an ISO 8601 time (2026-12-04T17:00:00+09:00) or a date (2026-12-04), not '\(text)'")
    }
}
