import ServiceKit
import Foundation
import SupportProto
import Testing

@testable import Intake

@Suite("Incident life cycle")
struct IncidentLifecycleTests {
    static let now = Date(timeIntervalSince1970: 1_796_371_200)

    static func incident(state: Support_Common_V1_IncidentState = .new, severity: Int32 = 3) -> Support_Intake_V1_Incident {
        var incident = Support_Intake_V1_Incident()
        incident.id = "INC-000001"
        incident.severity = severity
        incident.state = state
        incident.side = IncidentLifecycle.side(of: state)
        return incident
    }

    @Test("R-SLA-5: request-info puts the incident on the customer's side; provide-info brings it back")
    func sides() throws {
        var lifecycle = IncidentLifecycle(Self.incident(), now: Self.now)
        try lifecycle.requestInfo(actor: "eng", text: "logs please")
        #expect(lifecycle.incident.state == .waitingCustomer)
        #expect(lifecycle.incident.side == .customer)
        try lifecycle.provideInfo(contact: "ann@acme.example", text: "logs")
        #expect(lifecycle.incident.state == .inProgress)
        #expect(lifecycle.incident.side == .vendor)
        #expect(lifecycle.events.map(\.snapshot.previousSide) == [.vendor, .customer])
        #expect(lifecycle.incident.transitions.map(\.toState) == [.waitingCustomer, .inProgress])
    }

    struct Illegal: Sendable, CustomTestStringConvertible {
        let state: Support_Common_V1_IncidentState
        let action: String
        var testDescription: String { "\(self.action) from \(self.state.label)" }
    }

    static let illegal: [Illegal] = [
        Illegal(state: .waitingCustomer, action: "respond"),
        Illegal(state: .resolved, action: "respond"),
        Illegal(state: .closed, action: "request-info"),
        Illegal(state: .resolved, action: "provide-info"),
        Illegal(state: .inProgress, action: "reopen"),
        Illegal(state: .closed, action: "reopen"),
        Illegal(state: .inProgress, action: "close-resolved"),
        Illegal(state: .closed, action: "resolve"),
        Illegal(state: .resolved, action: "set-severity"),
    ]

    @Test("An illegal transition is FAILED_PRECONDITION naming the current state", arguments: illegal)
    func illegalTransitions(_ case_: Illegal) {
        var lifecycle = IncidentLifecycle(Self.incident(state: case_.state), now: Self.now)
        let error = #expect(throws: ServiceError.self) {
            switch case_.action {
            case "respond": try lifecycle.respond(actor: "eng", text: "x", via: .portal)
            case "request-info": try lifecycle.requestInfo(actor: "eng", text: "x")
            case "provide-info": try lifecycle.provideInfo(contact: "a@b.c", text: "x")
            case "reopen": try lifecycle.reopen(by: "a@b.c", reason: "x")
            case "resolve": try lifecycle.resolve(actor: "eng", resolution: "x")
            case "set-severity": try lifecycle.setSeverity(1, actor: "eng", reason: "x")
            default:
                var reason = Support_Common_V1_ClosureReason()
                reason.kind = .resolved
                try lifecycle.close(by: "eng", reason: reason)
            }
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.rpcError.message.contains("is \(case_.state.label)") == true)
        #expect(lifecycle.events.isEmpty)
    }

    @Test("R-SEV-1: a severity change keeps who, when and why; the same level again changes nothing")
    func severityHistory() throws {
        var lifecycle = IncidentLifecycle(Self.incident(severity: 3), now: Self.now)
        try lifecycle.setSeverity(2, actor: "eng", reason: "wider impact")
        try lifecycle.setSeverity(2, actor: "eng", reason: "again")
        #expect(lifecycle.incident.severity == 2)
        #expect(lifecycle.incident.severityHistory.count == 1)
        let change = try #require(lifecycle.incident.severityHistory.first)
        #expect(change.fromSeverity == 3 && change.toSeverity == 2 && change.changedBy == "eng" && change.reason == "wider impact")
        #expect(change.at.date == Self.now)
        #expect(lifecycle.events.count == 1)
    }

    @Test("R-SEV-4: a workaround on a severity-1 incident reclassifies it to 2, with a history entry and both events")
    func workaroundReclassifies() throws {
        var lifecycle = IncidentLifecycle(Self.incident(severity: 1), now: Self.now)
        try lifecycle.provideWorkaround(actor: "eng", text: "disable module X")
        #expect(lifecycle.incident.severity == 2)
        #expect(lifecycle.incident.state == .inProgress)
        #expect(lifecycle.incident.severityHistory.last?.reason.contains("R-SEV-4") == true)
        let kinds = lifecycle.events.map { event -> String in
            switch event.payload {
            case .workaroundProvided: "workaround"
            case .severityChanged: "severity"
            default: "other"
            }
        }
        #expect(kinds == ["workaround", "severity"])
    }

    @Test("R-SLA-6: customer-timeout closes once, is idempotent, and is stale after the customer answered")
    func customerTimeout() throws {
        var waiting = Self.incident(state: .waitingCustomer)
        waiting.sideSince = .init(date: Self.now)
        var lifecycle = IncidentLifecycle(waiting, now: Self.now.addingTimeInterval(31 * 86400))
        try lifecycle.closeForCustomerTimeout(waitingSince: Self.now)
        #expect(lifecycle.incident.state == .closed)
        #expect(lifecycle.incident.closureReason.kind == .customerTimeout)
        try lifecycle.closeForCustomerTimeout(waitingSince: Self.now)
        #expect(lifecycle.events.count == 1, "the second call changes nothing")

        var stale = IncidentLifecycle(Self.incident(state: .inProgress), now: Self.now)
        let error = #expect(throws: ServiceError.self) { try stale.closeForCustomerTimeout(waitingSince: Self.now) }
        #expect(error?.reason == "STALE_TIMEOUT")
    }
}
