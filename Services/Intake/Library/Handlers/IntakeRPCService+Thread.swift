import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC

extension IntakeRPCService {
    /// The thread's own methods (issue 22): a reply that changes nothing
    /// else, and who besides the reporting contact receives the mail.
    func registerThread(into router: inout RPCRouter) {
        router.register(IntakeRPC.reply) { request, context in
            let actor = try Field.required(request.actor, "actor", "the staff id writing to the customer")
            let text = try Field.required(request.text, "text", "the message to the customer", max: Field.longText)
            let via = request.via == .unspecified ? Channel.portal : request.via
            return try await self.change(request.incidentID, context) { lifecycle, _, _ in
                try lifecycle.reply(actor: actor, text: text, via: via)
            }
        }

        // Replaces the list. The reporting contact itself is left out, not
        // refused: it receives every mail already, and a client that sends
        // "everyone on the certificate" should not have to leave it out.
        router.register(IntakeRPC.setCc) { request, context in
            _ = try Field.required(request.actor, "actor", "the staff id choosing who receives the incident's mail")
            // More than a certificate's contacts cannot all be authorised.
            guard request.emails.count <= CertificateRules.contactLimit else { throw Self.tooManyCc(request.emails.count) }
            var emails: [(field: String, email: String)] = []
            for (index, raw) in request.emails.enumerated() {
                let field = "emails[\(index)]"
                let email = try Field.required(raw, field, "an authorised contact's email").lowercased()
                guard CertificateRules.isEmail(email) else { throw ServiceError.invalid(field, "\(email) is not an email address") }
                if let earlier = emails.firstIndex(where: { $0.email == email }) {
                    throw ServiceError.invalid(field, "\(email) is listed twice (also emails[\(earlier)])")
                }
                emails.append((field, email))
            }
            let requested = emails
            return try await self.change(request.incidentID, context) { lifecycle, certificate, _ in
                let reporter = lifecycle.incident.contact.email.lowercased()
                let language = self.language(of: certificate)
                let cc = try requested.filter { $0.email != reporter }.map { field, email in
                    // R-ORG-3: mail about an incident goes to the certificate's
                    // authorised contacts only.
                    guard let contact = certificate.contacts.first(where: { $0.email == email }) else {
                        throw ServiceError(
                            .permissionDenied, reason: "NOT_AUTHORISED_CONTACT", field: field,
                            "\(email) is not an authorised contact of certificate \(certificate.id) (R-ORG-3); add it to the certificate with AddContact first, or leave it out"
                        )
                    }
                    return CertificateRules.resolved(contact, certificateLanguage: language)
                }
                guard cc.count <= Self.ccLimit else { throw Self.tooManyCc(cc.count) }
                try lifecycle.setCc(cc)
            }
        }
    }

    /// intake.proto: at most 7, the certificate's other contacts (R-ORG-2).
    static let ccLimit = CertificateRules.contactLimit - 1

    private static func tooManyCc(_ count: Int) -> ServiceError {
        ServiceError.invalid("emails", "\(count) cc contacts; at most \(Self.ccLimit) (the certificate's other authorised contacts) receive an incident's mail")
    }
}
