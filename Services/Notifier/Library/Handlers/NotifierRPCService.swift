import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC

/// `support.notifier.v1.Notifier`: messages and their deliveries, the
/// severity-1 status report (R-REP-2), quarterly reports (R-REP-1) and the
/// call list. Codes per method are documented in notifier.proto.
struct NotifierRPCService: RPCService {
    let environment: ServiceEnvironment
    let engine: NotifierEngine
    let worker: DeliveryWorker

    var database: ServiceDatabase { self.environment.database }

    func register(into router: inout RPCRouter) {
        router.register(NotifierRPC.listMessages) { request, _ in
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            return try await self.database.writer.read { db in
                var response = Support_Notifier_V1_ListMessagesResponse()
                (response.messages, response.nextPageToken) = paging.page(
                    try NotifierStore.messages(incident: request.incidentID, state: request.state, offset: paging.offset, limit: paging.fetchLimit, in: db)
                )
                return response
            }
        }
        router.register(NotifierRPC.getMessage) { request, _ in
            let id = try Field.required(request.messageID, "message_id", "the message to show")
            return try await self.database.writer.read { db in
                guard let message = try NotifierStore.message(id, in: db) else {
                    throw ServiceError.notFound("message", id, field: "message_id", hint: "ListMessages lists them")
                }
                return message
            }
        }
        router.register(NotifierRPC.retry) { request, context in
            let id = try Field.required(request.messageID, "message_id", "the failed message to send again")
            _ = try Field.required(request.actor, "actor", "the staff id asking for the retry")
            let message = try await self.environment.writes.write(context) { db, now in
                guard var message = try NotifierStore.message(id, in: db) else {
                    throw ServiceError.notFound("message", id, field: "message_id", hint: "ListMessages lists them")
                }
                guard message.state == .failed else {
                    throw ServiceError(
                        .failedPrecondition, reason: "MESSAGE_NOT_FAILED",
                        "message \(id) is \(Self.stateName(message.state)), not failed; only a failed message can be retried"
                    )
                }
                message.state = .pending
                message.nextAttemptAt = .init(date: now)
                try NotifierStore.update(message, in: db)
                return Written(message)
            }
            self.worker.wake()
            return message
        }
        router.register(NotifierRPC.requestStatusReport) { request, context in
            let id = try Field.required(request.incidentID, "incident_id", "the incident to report on")
            _ = try Field.required(request.actor, "actor", "the staff id sending the report")
            let text = try Field.required(request.text, "text", "the TAM's words to the customer: progress, findings, what was tried (R-REP-2)", max: Field.longText)
            let nextAction = try Field.optional(request.nextAction, "next_action")
            let response = try await self.environment.writes.write(context) { db, now in
                Written(try self.engine.requestStatusReport(
                    id, text: text, nextAction: nextAction, deferIfSuppressed: request.deferIfSuppressed, now: now, in: db
                ))
            }
            self.worker.wake()
            return response
        }
        router.register(NotifierRPC.generateReport) { request, context in
            let certificate = try Field.required(request.certificateID, "certificate_id", "the certificate to report on")
            _ = try Field.required(request.actor, "actor", "the staff id asking for the report")
            let quarter = try Field.required(request.quarter, "quarter", "the quarter, as 2026Q4")
            let report = try await self.environment.writes.write(context) { db, now in
                Written(try self.engine.generateReport(certificate: certificate, quarter: quarter, send: request.send, now: now, in: db))
            }
            self.worker.wake()
            return report
        }
        router.register(NotifierRPC.listCalls) { request, _ in
            let paging = try Paging(token: request.pageToken, pageSize: request.pageSize)
            return try await self.database.writer.read { db in
                var response = Support_Notifier_V1_ListCallsResponse()
                (response.calls, response.nextPageToken) = paging.page(
                    try NotifierStore.calls(incident: request.incidentID, offset: paging.offset, limit: paging.fetchLimit, in: db)
                )
                return response
            }
        }
    }

    static func stateName(_ state: Support_Notifier_V1_MessageState) -> String {
        switch state {
        case .pending: "pending"
        case .sent: "sent"
        case .failed: "failed"
        case .suppressed: "suppressed"
        default: "unspecified"
        }
    }
}
