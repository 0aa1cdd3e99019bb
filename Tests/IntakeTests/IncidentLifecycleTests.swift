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
        let moves = lifecycle.events.filter { if case .articleAdded = $0.payload { false } else { true } }
        #expect(moves.map(\.snapshot.previousSide) == [.vendor, .customer])
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
            case "reopen": try lifecycle.reopen(by: "a@b.c", byCustomer: true, reason: "x")
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
        #expect(lifecycle.addedArticles.isEmpty)
        #expect(lifecycle.incident.thread.isEmpty)
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
            case .articleAdded: "article"
            case .severityChanged: "severity"
            default: "other"
            }
        }
        #expect(kinds == ["workaround", "article", "severity"], "the article right after the move it belongs to")
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
        #expect(lifecycle.events.count == 2, "Closed and its article; the second call changes nothing")
        let closure = try #require(lifecycle.incident.thread.last)
        #expect(closure.kind == .closure && closure.author == "sla-timer" && closure.closure.kind == .customerTimeout)
        #expect(closure.direction == .toCustomer && closure.visibility == .public)
        #expect(closure.text == lifecycle.incident.closureReason.detail)
        #expect(!closure.text.contains("R-SLA"), "the customer reads it: no rule ids")

        var stale = IncidentLifecycle(Self.incident(state: .inProgress), now: Self.now)
        let error = #expect(throws: ServiceError.self) { try stale.closeForCustomerTimeout(waitingSince: Self.now) }
        #expect(error?.reason == "STALE_TIMEOUT")
    }

    // MARK: The thread (issue 22)

    struct Move: Sendable, CustomTestStringConvertible {
        let name: String
        let from: Support_Common_V1_IncidentState
        let kind: Support_Common_V1_ArticleKind
        let author: String
        let direction: Support_Common_V1_Direction
        let channel: Support_Common_V1_Channel
        var enteredBy = ""
        var testDescription: String { self.name }
    }

    static let moves: [Move] = [
        Move(name: "respond by phone (R-SLA-1)", from: .new, kind: .response, author: "eng", direction: .toCustomer, channel: .phone),
        Move(name: "request-info", from: .inProgress, kind: .infoRequest, author: "eng", direction: .toCustomer, channel: .portal),
        Move(name: "provide-info on the portal", from: .waitingCustomer, kind: .customerMessage, author: "ann@acme.example", direction: .fromCustomer, channel: .portal),
        Move(
            name: "provide-info recorded from a call", from: .waitingCustomer, kind: .customerMessage, author: "ann@acme.example",
            direction: .fromCustomer, channel: .phone, enteredBy: "eng"
        ),
        Move(name: "workaround", from: .inProgress, kind: .workaround, author: "eng", direction: .toCustomer, channel: .portal),
        Move(name: "resolve", from: .inProgress, kind: .resolution, author: "eng", direction: .toCustomer, channel: .portal),
        Move(name: "reopen by the contact", from: .resolved, kind: .reopen, author: "ann@acme.example", direction: .fromCustomer, channel: .portal),
        Move(name: "reopen by staff", from: .resolved, kind: .reopen, author: "eng", direction: .toCustomer, channel: .portal),
        Move(name: "close", from: .resolved, kind: .closure, author: "eng", direction: .toCustomer, channel: .portal),
        Move(name: "reply", from: .waitingCustomer, kind: .reply, author: "eng", direction: .toCustomer, channel: .email),
        Move(name: "note", from: .inProgress, kind: .note, author: "eng", direction: .internal, channel: .unspecified),
    ]

    @Test("Every move adds its article after the thread's last, with author, direction, channel and visibility", arguments: moves)
    func articles(_ move: Move) throws {
        var incident = Self.incident(state: move.from)
        var description = IncidentThread.article(
            .description_, author: "ann@acme.example", direction: .fromCustomer, channel: .portal, text: "it crashes", at: Self.now
        )
        description.number = 1
        incident.thread = [description]
        let later = Self.now.addingTimeInterval(60)
        var lifecycle = IncidentLifecycle(incident, now: later)
        switch move.name {
        case "respond by phone (R-SLA-1)": try lifecycle.respond(actor: "eng", text: "text", via: .phone)
        case "request-info": try lifecycle.requestInfo(actor: "eng", text: "text")
        case "provide-info on the portal": try lifecycle.provideInfo(contact: "ann@acme.example", text: "text")
        case "provide-info recorded from a call": try lifecycle.provideInfo(contact: "ann@acme.example", text: "text", via: .phone, enteredBy: "eng")
        case "workaround": try lifecycle.provideWorkaround(actor: "eng", text: "text")
        case "resolve": try lifecycle.resolve(actor: "eng", resolution: "text")
        case "reopen by the contact": try lifecycle.reopen(by: "ann@acme.example", byCustomer: true, reason: "text")
        case "reopen by staff": try lifecycle.reopen(by: "eng", byCustomer: false, reason: "text")
        case "close": try lifecycle.close(by: "eng", reason: .with { $0.kind = .resolved; $0.detail = "text" })
        case "reply": try lifecycle.reply(actor: "eng", text: "text", via: .email)
        default: try lifecycle.addNote(actor: "eng", text: "text")
        }
        let article = try #require(lifecycle.addedArticles.first)
        #expect(lifecycle.addedArticles.count == 1)
        #expect(lifecycle.incident.thread == [description, article])
        #expect(article.number == 2)
        #expect(article.kind == move.kind)
        #expect(article.author == move.author)
        #expect(article.direction == move.direction)
        #expect(article.channel == move.channel)
        #expect(article.visibility == (move.kind == .note ? .internal : .public))
        #expect(article.text == "text")
        #expect(article.at.date == later)
        #expect(article.enteredBy == move.enteredBy)
        #expect(article.hasClosure == (move.kind == .closure))

        // A public article is announced right after the move's own event;
        // a note never leaves intake.
        let announced = lifecycle.events.compactMap { event -> Support_Common_V1_Article? in
            if case .articleAdded(let added) = event.payload { added.article } else { nil }
        }
        #expect(announced == (move.kind == .note ? [] : [article]))
        if move.kind != .note && move.kind != .reply {
            #expect(lifecycle.events.count == 2)
            if case .articleAdded = lifecycle.events[1].payload {} else { Issue.record("ArticleAdded is not right after the move's event") }
            let snapshot = lifecycle.events[1].snapshot
            #expect(snapshot.previousState == snapshot.state, "ArticleAdded reports no move of its own")
        }
    }

    @Test("A closed incident takes no reply, note or cc; a reply changes nothing but the thread")
    func replies() throws {
        var closed = IncidentLifecycle(Self.incident(state: .closed), now: Self.now)
        #expect(throws: ServiceError.self) { try closed.reply(actor: "eng", text: "x", via: .portal) }
        #expect(throws: ServiceError.self) { try closed.addNote(actor: "eng", text: "x") }
        #expect(throws: ServiceError.self) { try closed.setCc([]) }
        #expect(closed.incident.thread.isEmpty)

        let waiting = Self.incident(state: .waitingCustomer)
        var lifecycle = IncidentLifecycle(waiting, now: Self.now)
        try lifecycle.reply(actor: "eng", text: "still looking", via: .portal)
        #expect(lifecycle.incident.state == .waitingCustomer && lifecycle.incident.transitions.isEmpty)
        #expect(lifecycle.events.count == 1)
    }

    @Test("The deprecated conversation is derived from the thread as it was kept before: no description, reply or closure")
    func conversation() {
        let kinds: [Support_Common_V1_ArticleKind] = [.description_, .response, .infoRequest, .customerMessage, .workaround, .reply, .resolution, .note, .closure]
        let thread = kinds.enumerated().map { index, kind in
            var article = IncidentThread.article(
                kind, author: "a", direction: kind == .note ? .internal : .toCustomer, channel: .phone, text: "t\(index)", at: Self.now
            )
            article.number = UInt32(index + 1)
            return article
        }
        let conversation = IncidentThread.conversation(of: thread)
        #expect(conversation.map(\.kind) == [.response, .infoRequest, .infoProvided, .workaround, .note])
        #expect(conversation.map(\.text) == ["t1", "t2", "t3", "t4", "t7"])
        #expect(conversation.map(\.via) == [.phone, .unspecified, .unspecified, .unspecified, .unspecified], "via was kept for responses only")
        // And back: intake-5-thread's mapping of the old entries.
        #expect(conversation.map { IncidentThread.article(from: $0).kind } == [.response, .infoRequest, .customerMessage, .workaround, .note])
        #expect(IncidentThread.article(from: conversation[4]).visibility == .internal)
    }
}
