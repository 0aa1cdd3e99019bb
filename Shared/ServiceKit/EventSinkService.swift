import Foundation
import SupportProto
import SupportRPC

/// `support.events.v1.EventSink` on every service: applies another
/// service's events through the inbox, once each.
struct EventSinkService: RPCService {
    let inbox: EventInbox
    let clock: any ServiceClock
    /// With an idempotency key, a retried delivery answers as the first
    /// did; without one too, events are not applied to a database that
    /// cannot be trusted (UNAVAILABLE: the producer keeps them and retries).
    let writes: ServiceWriter
    let afterCommit: @Sendable () -> Void

    func register(into router: inout RPCRouter) {
        // Each event is checked by the inbox, so that one out of range is
        // parked and the rest of the stream goes on (not the batch refused).
        router.register(EventSinkRPC.deliver, checksLimits: false) { request, context in
            for (index, event) in request.events.enumerated() where event.eventID.isEmpty || event.producer.isEmpty || event.payload == nil {
                throw RPCError.invalidArgument(
                    field: "events[\(index)]",
                    "event \(index) has no event_id, producer or payload; the producer must fix it, not resend it"
                )
            }
            return try await self.writes.recorded(context) {
                let (accepted, duplicates) = try await self.inbox.receive(request.events, receivedAt: self.clock.now())
                self.afterCommit()
                if duplicates > 0 {
                    context.logger.debug("redelivered events ignored", metadata: ["duplicates": "\(duplicates)"])
                }
                var response = Support_Events_V1_DeliverResponse()
                response.appliedEventIds = accepted
                response.duplicateCount = UInt32(duplicates)
                return response
            }
        }
    }
}
