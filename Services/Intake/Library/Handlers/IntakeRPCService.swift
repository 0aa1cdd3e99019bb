import Foundation
import GRDB
import Logging
import ServiceKit
import SupportProto
import SupportRPC
import SwiftProtobuf

/// `support.intake.v1.Intake`: each handler validates its request, runs the
/// domain in one write transaction together with the outbox rows of the
/// events it causes, and answers with the stored result.
struct IntakeRPCService: RPCService {
    let environment: ServiceEnvironment
    let offices: Offices
    /// The largest attachment accepted, in bytes (`--max-attachment-bytes`).
    var maxAttachmentBytes: UInt64 = AttachmentRules.defaultMaximumBytes
    /// Certificates and the Company Account for OpenIncident's writer.
    let accounts = AccountCache()

    var database: ServiceDatabase { self.environment.database }
    var now: Date { self.environment.clock.now() }

    func register(into router: inout RPCRouter) {
        self.registerCertificates(into: &router)
        self.registerIncidents(into: &router)
        self.registerThread(into: &router)
        self.registerProblems(into: &router)
        self.registerAccount(into: &router)
        self.registerHealthChecks(into: &router)
        self.registerAttachments(into: &router)
    }

    /// Every mutating call goes through ServiceKit's one write path:
    /// group commit, outbox, idempotency record, durable answer, relay
    /// wake-up, error mapping (``ServiceWriter``).
    var writes: ServiceWriter { self.environment.writes }

    // MARK: Certificates and contacts (R-ORG-1, R-ORG-2)

    private func registerCertificates(into router: inout RPCRouter) {
        router.register(IntakeRPC.registerCertificate) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id registering the certificate")
            let id = try Field.required(request.certificateID, "certificate_id", "the MSA Support Certificate's id")
            let customer = try Field.required(request.customer, "customer", "the customer organisation")
            guard request.tier != .unspecified else { throw ServiceError.missing("tier", "enterprise or standard") }
            let office = try Field.required(request.office, "office", "the vendor office whose time governs it")
            guard let calendar = self.offices.calendar(office) else {
                throw ServiceError.invalid("office", "there is no office \(office); known offices: \(self.offices.ids.joined(separator: ", "))")
            }
            let tam = try Field.required(request.tam, "tam", "the Technical Account Manager (R-ORG-4)")
            // R-ORG-1: dates are the office's calendar days (issue 23).
            let validity = try CertificateRules.validity(from: request, calendar: calendar)
            let contacts = try request.contacts.enumerated().map { try CertificateRules.validated($0.element, field: "contacts[\($0.offset)]") }
            try CertificateRules.checkContactList(contacts)
            // Issue 22: a tokyo certificate writes to its contacts in Japanese
            // unless it says otherwise (R-ORG-1).
            let requestedLanguage = try CertificateRules.language(request.language, field: "language", empty: "the office's")
            let language = requestedLanguage.isEmpty ? self.offices.language(office) : requestedLanguage
            return try await self.accounts.changing { change in try await self.writes.write(context) { db, now in
                guard try IntakeStore.certificate(id, in: db) == nil else {
                    throw ServiceError(.alreadyExists, reason: "CERTIFICATE_EXISTS", field: "certificate_id", "certificate \(id) exists already; change its contacts with AddContact/RemoveContact")
                }
                var certificate = Certificate()
                certificate.id = id
                certificate.customer = customer
                certificate.tier = request.tier
                certificate.office = office
                certificate.validFrom = .init(date: validity.from)
                certificate.validUntil = .init(date: validity.until)
                CertificateRules.localDays(of: &certificate, calendar: calendar)
                certificate.tam = tam
                certificate.contacts = contacts
                certificate.language = language
                certificate.createdAt = .init(date: now)
                CertificateRules.newRevision(of: &certificate, by: actor, summary: "registered", at: now)
                try IntakeStore.save(certificate, in: db, during: change)
                let shown = self.shown(certificate)
                return (shown, [CertificateRules.changedEvent(shown, by: actor, at: now)])
            } }
        }
        router.register(IntakeRPC.getCertificate) { request, context in
            let id = try Field.required(request.certificateID, "certificate_id", "the certificate to show")
            return try await self.writes.read(context) { db in
                guard let certificate = try IntakeStore.certificate(id, in: db) else { throw ServiceError.notFound("certificate", id) }
                return self.shown(certificate)
            }
        }
        router.register(IntakeRPC.listCertificates) { request, context in
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            return try await self.writes.read(context) { db in
                let fetched = try IntakeStore.certificates(office: request.office, offset: paging.offset, limit: paging.fetchLimit, in: db)
                let (certificates, next) = paging.page(fetched)
                var response = Support_Intake_V1_ListCertificatesResponse()
                response.certificates = certificates.map { var c = $0; c.history = []; return self.shown(c) }
                response.nextPageToken = next
                return response
            }
        }
        router.register(IntakeRPC.addContact) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id changing the list")
            let id = try Field.required(request.certificateID, "certificate_id", "the certificate to change")
            let contact = try CertificateRules.validated(request.contact, field: "contact")
            return try await self.accounts.changing { change in try await self.writes.write(context) { db, now in
                guard var certificate = try IntakeStore.certificate(id, in: db) else { throw ServiceError.notFound("certificate", id) }
                try CertificateRules.checkRevision(request.expectedRevision, of: certificate)
                try CertificateRules.add(contact, to: &certificate)
                CertificateRules.newRevision(of: &certificate, by: actor, summary: "added contact \(contact.email)", at: now)
                try IntakeStore.save(certificate, in: db, during: change)
                let shown = self.shown(certificate)
                let added = CertificateRules.resolved(contact, certificateLanguage: shown.language)
                return (shown, [CertificateRules.contactsEvent(shown, added: added, removed: nil, by: actor, at: now)])
            } }
        }
        router.register(IntakeRPC.removeContact) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id changing the list")
            let id = try Field.required(request.certificateID, "certificate_id", "the certificate to change")
            let email = try Field.required(request.email, "email", "the contact to remove").lowercased()
            return try await self.accounts.changing { change in try await self.writes.write(context) { db, now in
                guard var certificate = try IntakeStore.certificate(id, in: db) else { throw ServiceError.notFound("certificate", id) }
                try CertificateRules.checkRevision(request.expectedRevision, of: certificate)
                let removed = try CertificateRules.remove(email, from: &certificate)
                CertificateRules.newRevision(of: &certificate, by: actor, summary: "removed contact \(email)", at: now)
                try IntakeStore.save(certificate, in: db, during: change)
                let shown = self.shown(certificate)
                let gone = CertificateRules.resolved(removed, certificateLanguage: shown.language)
                return (shown, [CertificateRules.contactsEvent(shown, added: nil, removed: gone, by: actor, at: now)])
            } }
        }
    }

    /// A certificate as intake returns and publishes it: its language and
    /// its contacts' resolved (issue 22).
    /// Its validity's office-local days too, for a certificate stored
    /// before issue 23 without them.
    func shown(_ certificate: Certificate) -> Certificate {
        var certificate = CertificateRules.resolved(certificate, officeLanguage: self.offices.language(certificate.office))
        if certificate.validFromDate.isEmpty, let calendar = self.offices.calendar(certificate.office) {
            CertificateRules.localDays(of: &certificate, calendar: calendar)
        }
        return certificate
    }
}
