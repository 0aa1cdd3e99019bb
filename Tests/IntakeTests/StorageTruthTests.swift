import Foundation
import Intake
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Health tells the truth about storage (issue 21, finding 7): a database
/// deleted, replaced or not writable makes the service NOT_SERVING with the
/// reason, and writes are refused instead of acknowledged into a file
/// nobody will read again.
@Suite("Storage truth", .serialized)
struct StorageTruthTests {
    static func status(_ intake: InProcessService) async throws -> Support_Health_V1_StatusResponse {
        try await intake.client.call(HealthRPC.status, .init())
    }

    static func register(_ intake: InProcessService, _ id: String) async throws -> Support_Intake_V1_Certificate {
        try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate(id))
    }

    @Test("rm intake.sqlite while intake runs: NOT_SERVING saying to restore and restart; writes are UNAVAILABLE and nothing is acknowledged")
    func deleted() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await Self.register(intake, "C-1")
        #expect(try await Self.status(intake).status == .serving)
        let path = intake.process.environment.database.path
        try FileManager.default.removeItem(atPath: path)

        let refused = await #expect(throws: RPCError.self) { try await Self.register(intake, "C-2") }
        #expect(refused?.code == .unavailable)
        #expect(refused?.details.first?.reason == "STORAGE_UNAVAILABLE")
        #expect(refused?.message.contains("gone") == true)
        let status = try await Self.status(intake)
        #expect(status.status == .notServing)
        #expect(status.notServingReason.contains("restart"))
        #expect(try await intake.client.call(HealthRPC.check, .init()).status == .notServing)
        try await intake.finish()
    }

    @Test("a database made read-only: NOT_SERVING and writes refused; writable again, the service recovers by itself")
    func notWritable() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        let path = intake.process.environment.database.path
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        let refused = await #expect(throws: RPCError.self) { try await Self.register(intake, "C-1") }
        #expect(refused?.code == .unavailable)
        #expect(refused?.message.contains("not writable") == true)
        #expect(try await Self.status(intake).notServingReason.contains("recovers by itself"))

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(try await Self.register(intake, "C-1").id == "C-1")
        let status = try await Self.status(intake)
        #expect(status.status == .serving)
        #expect(status.notServingReason.isEmpty)
        try await intake.finish()
    }

    @Test("a database replaced under the service: NOT_SERVING saying to restart to open the new file")
    func replaced() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        let path = intake.process.environment.database.path
        try FileManager.default.moveItem(atPath: path, toPath: path + ".old")
        try FileManager.default.copyItem(atPath: path + ".old", toPath: path)
        let refused = await #expect(throws: RPCError.self) { try await Self.register(intake, "C-1") }
        #expect(refused?.message.contains("replaced") == true)
        #expect(try await Self.status(intake).status == .notServing)
        try await intake.finish()
    }
}
