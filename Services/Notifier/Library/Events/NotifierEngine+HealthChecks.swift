import Foundation
import GRDB
import ServiceKit
import SupportProto

extension NotifierEngine {
    /// R-HC-1: the TAM's findings report of a health check reaches every
    /// authorised contact of the certificate, each in their language
    /// (R-COM-3), as intake listed them when the findings were recorded.
    ///
    /// The messages are keyed by the event and the address, so a
    /// redelivered event mails no one twice.
    func healthCheckFindings(_ recorded: Support_Events_V1_HealthCheckFindingsRecorded, event: Event, in db: Database) throws {
        let now = self.clock.now()
        let addressees = recorded.contacts.map { Recipients.Addressee(recipient: Recipients.contact($0), language: Templates.language($0.language)) }
        for addressee in Recipients.unique(addressees) {
            let values: [String: Any] = [
                "certificate": recorded.certificateID, "customer": recorded.customer, "recipient_name": addressee.recipient.name,
                "booking": recorded.bookingID, "date": recorded.date, "tam": recorded.tam, "findings": recorded.findings,
            ]
            _ = try self.create(
                Draft(template: "healthcheck-findings", recipient: addressee.recipient, values: values, language: addressee.language),
                incident: "", eventID: event.eventID, certificate: recorded.certificateID, now: now,
                dedupKey: "\(event.eventID)|healthcheck-findings|\(addressee.recipient.email.lowercased())", in: db
            )
        }
    }
}
