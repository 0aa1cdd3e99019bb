import Foundation
import Intake
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// OpenIncident shares durable transactions between concurrent callers
/// (WriteBatcher); what each caller sees must not change.
@Suite("intake group commit")
struct GroupCommitTests {
    @Test("concurrent opens each get their own incident, numbered without gaps, each with its IncidentOpened event")
    func concurrentOpens() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate())
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<40 { group.addTask { try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open()).id } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(ids) == Set((1...40).map { String(format: "INC-%06d", $0) }))
        for id in ids {
            #expect(try IntakeServiceTests.events(intake, incident: id).map(\.sequence) == [1])
        }
        try await intake.finish()
    }

    @Test("concurrent calls with one idempotency key create one incident and all answer it")
    func concurrentIdempotentOpens() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate())
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open(), metadata: [Metadata.idempotencyKey: "same"]).id
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(ids) == ["INC-000001"])
        let listed = try await intake.client.call(IntakeRPC.listIncidents, .init())
        #expect(listed.incidents.count == 1)
        try await intake.finish()
    }

    @Test("a refused open among concurrent ones fails alone; the others are stored")
    func refusalIsolated() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate())
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<30 {
                group.addTask {
                    // Every third caller is no contact of the certificate.
                    let request = index % 3 == 0 ? IntakeServiceTests.open(contact: "eve@elsewhere.example") : IntakeServiceTests.open()
                    do {
                        _ = try await intake.client.call(IntakeRPC.openIncident, request)
                        return true
                    } catch let error as RPCError {
                        #expect(error.code == .permissionDenied)
                        return false
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 20)
        let listed = try await intake.client.call(IntakeRPC.listIncidents, .init())
        #expect(listed.incidents.count == 20)
        try await intake.finish()
    }
}
