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
            let id = try Self.required(request.messageID, "message_id")
            return try await self.database.writer.read { db in
                guard let message = try NotifierStore.message(id, in: db) else {
                    throw RPCError(.notFound, "there is no message \(id); supportctl notifications list shows them")
                }
                return message
            }
        }
        router.register(NotifierRPC.retry) { request, _ in
            let id = try Self.required(request.messageID, "message_id")
            _ = try Self.required(request.actor, "actor")
            let now = self.environment.clock.now()
            let message = try await self.database.writer.write { db in
                guard var message = try NotifierStore.message(id, in: db) else {
                    throw RPCError(.notFound, "there is no message \(id); supportctl notifications list shows them")
                }
                guard message.state == .failed else {
                    throw RPCError(.failedPrecondition, "message \(id) is \(Self.stateName(message.state)), not failed; only a failed message can be retried")
                }
                message.state = .pending
                message.nextAttemptAt = .init(date: now)
                try NotifierStore.update(message, in: db)
                return message
            }
            self.worker.wake()
            return message
        }
        router.register(NotifierRPC.requestStatusReport) { request, _ in
            let id = try Self.required(request.incidentID, "incident_id")
            _ = try Self.required(request.actor, "actor")
            let now = self.environment.clock.now()
            let response = try await self.database.writer.write { db in
                try self.engine.requestStatusReport(id, deferIfSuppressed: request.deferIfSuppressed, now: now, in: db)
            }
            self.worker.wake()
            return response
        }
        router.register(NotifierRPC.generateReport) { request, _ in
            let certificate = try Self.required(request.certificateID, "certificate_id")
            _ = try Self.required(request.actor, "actor")
            let quarter = try Self.required(request.quarter, "quarter")
            let now = self.environment.clock.now()
            let report = try await self.database.writer.write { db in
                try self.engine.generateReport(certificate: certificate, quarter: quarter, send: request.send, now: now, in: db)
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

    static func required(_ value: String, _ field: String) throws -> String {
        guard !value.isEmpty else { throw RPCError.invalidArgument(field: field, "\(field) is required") }
        return value
    }
}
