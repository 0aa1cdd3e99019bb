import Foundation
import SupportProto

#if canImport(Glibc)
import Glibc
#endif

/// `support.health.v1.Health` on every server: SERVING until a drain
/// begins, and what runs where.
struct HealthService: RPCService {
    let configuration: RPCServer.Configuration
    let state: RPCServer.LockedState
    let startedAt = Date()
    let startedInstant = ContinuousClock.now

    func register(into router: inout RPCRouter) {
        router.register(HealthRPC.check, defaultTimeout: .seconds(5)) { request, _ in
            var response = Support_Health_V1_CheckResponse()
            if !request.service.isEmpty && request.service != self.configuration.serviceName {
                response.status = .serviceUnknown
            } else {
                response.status = self.servingStatus
            }
            return response
        }
        router.register(HealthRPC.status, defaultTimeout: .seconds(5)) { _, _ in
            await self.status()
        }
    }

    private var servingStatus: Support_Health_V1_CheckResponse.ServingStatus {
        self.notServingReason == nil ? .serving : .notServing
    }

    private var notServingReason: String? {
        if self.state.withLock({ $0.draining }) { return "draining" }
        return self.configuration.notServingReason()
    }

    private func status() async -> Support_Health_V1_StatusResponse {
        var status = await self.configuration.status()
        status.service = self.configuration.serviceName
        status.version = SupportDeskVersion.current
        status.status = self.servingStatus
        status.notServingReason = self.notServingReason ?? ""
        status.startedAt = .init(date: self.startedAt)
        let uptime = ContinuousClock.now - self.startedInstant
        status.uptime = .init(
            seconds: uptime.components.seconds,
            nanos: Int32(uptime.components.attoseconds / 1_000_000_000)
        )
        status.socketPath = self.configuration.socketPath
        status.pid = UInt32(getpid())
        return status
    }
}
