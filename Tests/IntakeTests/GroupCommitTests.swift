import Foundation
import Intake
import SupportProto
import SupportRPC
import Synchronization
import Testing
import TestSupport

/// OpenIncident shares durable transactions between concurrent callers
/// (WriteBatcher); what each caller sees must not change.
@Suite("intake group commit")
struct GroupCommitTests {
    @Test("concurrent opens each get their own incident, numbered without gaps, each with its IncidentOpened event and its description's ArticleAdded")
    func concurrentOpens() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate())
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<40 { group.addTask { try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open()).id } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(ids) == Set((1...40).map { String(format: "INC-%06d", $0) }))
        for id in ids {
            let events = try IntakeServiceTests.events(intake, incident: id)
            #expect(events.map(\.sequence) == [1, 2])
            #expect(events.last?.articleAdded.article.number == 1)
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

    @Test("a retry answers the first call's response even where the call would now be refused, and leaves nothing behind: no incident, no event, no number used")
    func retryAfterRefusal() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        let certificate = try await intake.client.call(
            IntakeRPC.registerCertificate, IntakeServiceTests.certificate(contacts: 2), metadata: [Metadata.idempotencyKey: "register"]
        )
        // A retried registration answers the certificate, not ALREADY_EXISTS;
        // without the key it is refused.
        #expect(try await intake.client.call(
            IntakeRPC.registerCertificate, IntakeServiceTests.certificate(contacts: 2), metadata: [Metadata.idempotencyKey: "register"]
        ) == certificate)
        let again = await #expect(throws: RPCError.self) {
            try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate(contacts: 2))
        }
        #expect(again?.code == .alreadyExists)

        let first = try await intake.client.call(
            IntakeRPC.openIncident, IntakeServiceTests.open(contact: "p2@c-1.example"), metadata: [Metadata.idempotencyKey: "open"]
        )
        var remove = Support_Intake_V1_RemoveContactRequest()
        remove.actor = "ops"
        remove.certificateID = "C-1"
        remove.email = "p2@c-1.example"
        _ = try await intake.client.call(IntakeRPC.removeContact, remove)
        // p2 may no longer open, but the retry of the call it made answers it.
        #expect(try await intake.client.call(
            IntakeRPC.openIncident, IntakeServiceTests.open(contact: "p2@c-1.example"), metadata: [Metadata.idempotencyKey: "open"]
        ) == first)
        let refused = await #expect(throws: RPCError.self) {
            try await intake.client.call(
                IntakeRPC.openIncident, IntakeServiceTests.open(contact: "p2@c-1.example"), metadata: [Metadata.idempotencyKey: "new"]
            )
        }
        #expect(refused?.code == .permissionDenied)
        // The same key with another request (p1 may open) is refused, never
        // answered the first call's incident, and what it created is gone.
        let reused = await #expect(throws: RPCError.self) {
            try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open(), metadata: [Metadata.idempotencyKey: "open"])
        }
        #expect(reused?.code == .failedPrecondition)
        #expect(reused?.details.first?.reason == "IDEMPOTENCY_KEY_REUSED")
        // A retry that got as far as creating a second incident rolled it back.
        let second = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open(), metadata: [Metadata.idempotencyKey: "p1"])
        #expect(second.id == "INC-000002")
        #expect(try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open(), metadata: [Metadata.idempotencyKey: "p1"]) == second)
        #expect(try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open()).id == "INC-000003")
        #expect(
            try await intake.client.call(IntakeRPC.listIncidents, .init()).incidents.map(\.id).sorted() == ["INC-000001", "INC-000002", "INC-000003"]
        )
        #expect(try IntakeServiceTests.events(intake, incident: "INC-000001").count == 2, "IncidentOpened and its description's ArticleAdded, once")
        try await intake.finish()
    }

    @Test("R-ORG-3 under load: opens racing a contact's removal; none that starts after the removal was answered gets through (the writer's certificate cache)")
    func removalRacingOpens() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate(contacts: 2))
        // The certificate is cached once an open has read it.
        _ = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open(contact: "p2@c-1.example"))
        enum Outcome: Sendable {
            case removed(at: ContinuousClock.Instant)
            case lastOpen(started: ContinuousClock.Instant, opened: Bool)
        }
        // The removal is sent once the opens are under way (some answered),
        // so that it races the ones still coming.
        let answeredOpens = AnsweredOpens()
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask {
                try await eventually("the racing opens are under way") { answeredOpens.count.withLock { $0 } >= 8 }
                var remove = Support_Intake_V1_RemoveContactRequest()
                remove.actor = "ops"
                remove.certificateID = "C-1"
                remove.email = "p2@c-1.example"
                _ = try await intake.client.call(IntakeRPC.removeContact, remove)
                return .removed(at: .now)
            }
            for _ in 0..<8 {
                group.addTask {
                    var outcomes: [(started: ContinuousClock.Instant, opened: Bool)] = []
                    while outcomes.count < 400 {
                        let started = ContinuousClock.now
                        do {
                            _ = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open(contact: "p2@c-1.example"))
                            outcomes.append((started, true))
                            answeredOpens.count.withLock { $0 += 1 }
                        } catch let error as RPCError where error.code == .permissionDenied {
                            outcomes.append((started, false))
                            // Refused for good: a few more, then stop.
                            if outcomes.suffix(5).allSatisfy({ !$0.opened }) { break }
                        }
                    }
                    let last = outcomes[outcomes.count - 1]
                    return .lastOpen(started: last.started, opened: last.opened)
                }
            }
            return try await group.reduce(into: [Outcome]()) { $0.append($1) }
        }
        let removal = try #require(outcomes.compactMap { if case .removed(let at) = $0 { at } else { nil } }.first)
        let lastOpens = outcomes.compactMap { if case .lastOpen(let started, let opened) = $0 { (started, opened) } else { nil } }
        // Every caller went on until refused: its last open started after
        // the removal was answered, and was refused.
        #expect(lastOpens.count == 8)
        for (started, opened) in lastOpens {
            #expect(started > removal && !opened)
        }
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

/// How many of the racing opens were answered so far, shared by their tasks.
private final class AnsweredOpens: Sendable {
    let count = Mutex(0)
}
