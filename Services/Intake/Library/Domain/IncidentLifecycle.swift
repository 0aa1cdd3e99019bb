import Foundation
import ServiceKit
import SupportProto

typealias State = Support_Common_V1_IncidentState
typealias Side = Support_Common_V1_Side
typealias EventPayload = Support_Events_V1_Event.OneOf_Payload

/// The life of one incident as pure transitions: each method checks that
/// the move is legal in the current state, changes the incident, and
/// records the events it causes. Nothing here does I/O or reads a clock.
///
/// new ─respond─▶ in-progress ─request-info─▶ waiting-customer ─provide-info─▶ in-progress
///  … ─resolve─▶ resolved ─reopen─▶ in-progress;  resolved ─close─▶ closed
struct IncidentLifecycle {
    private(set) var incident: Incident
    /// Events caused so far, each with the incident as it was right after.
    private(set) var events: [(payload: EventPayload, snapshot: Support_Events_V1_IncidentSnapshot)] = []
    let now: Date

    init(_ incident: Incident, now: Date) {
        self.incident = incident
        self.now = now
    }

    /// R-SLA-5: the side follows the state.
    static func side(of state: State) -> Side {
        switch state {
        case .new, .inProgress: .vendor
        default: .customer
        }
    }

    // MARK: The vendor's moves

    mutating func respond(actor: String, text: String, via: Support_Common_V1_Channel) throws {
        try self.expect([.new, .inProgress], to: "answered", hint: Self.hint(for: self.incident.state))
        self.converse(.response, author: actor, text: text, via: via)
        let previous = self.move(to: .inProgress, by: actor, reason: "")
        var given = Support_Events_V1_ResponseGiven()
        given.author = actor
        given.text = text
        given.via = via
        self.emit(.responseGiven(given), previous: previous)
    }

    mutating func requestInfo(actor: String, text: String) throws {
        try self.expect([.new, .inProgress], to: "asked for information", hint: Self.hint(for: self.incident.state))
        self.converse(.infoRequest, author: actor, text: text)
        let previous = self.move(to: .waitingCustomer, by: actor, reason: "")
        var requested = Support_Events_V1_InfoRequested()
        requested.author = actor
        requested.text = text
        self.emit(.infoRequested(requested), previous: previous)
    }

    mutating func resolve(actor: String, resolution: String) throws {
        try self.expect([.new, .inProgress, .waitingCustomer], to: "resolved", hint: "")
        self.incident.resolution = resolution
        self.incident.resolvedAt = .init(date: self.now)
        let previous = self.move(to: .resolved, by: actor, reason: "")
        var resolved = Support_Events_V1_Resolved()
        resolved.resolvedBy = actor
        resolved.resolution = resolution
        self.emit(.resolved(resolved), previous: previous)
    }

    /// R-SEV-1: the vendor may change the level, keeping who, when and why.
    /// The same level again changes nothing.
    mutating func setSeverity(_ severity: Int32, actor: String, reason: String) throws {
        try self.expectOpen(to: "re-classified")
        guard severity != self.incident.severity else { return }
        self.changeSeverity(to: severity, by: actor, reason: reason)
    }

    /// A workaround is the vendor's answer; R-SEV-4 makes a severity-1
    /// incident severity 2.
    mutating func provideWorkaround(actor: String, text: String, problemID: String = "") throws {
        try self.expectOpen(to: "given a workaround")
        self.converse(.workaround, author: actor, text: text)
        let previous = self.incident.state == .new ? self.move(to: .inProgress, by: actor, reason: "workaround") : self.current
        var workaround = Support_Events_V1_WorkaroundProvided()
        workaround.author = actor
        workaround.text = text
        workaround.problemID = problemID
        self.emit(.workaroundProvided(workaround), previous: previous)
        if self.incident.severity == 1 {
            self.changeSeverity(to: 2, by: actor, reason: "R-SEV-4: a workaround is available")
        }
    }

    mutating func addNote(actor: String, text: String) throws {
        guard self.incident.state != .closed else {
            throw ServiceError.illegal("annotated", state: .closed, incident: self.incident.id, hint: "Open a new incident.")
        }
        self.converse(.note, author: actor, text: text)
    }

    // MARK: The customer's moves

    /// From waiting-customer the incident returns to the vendor's side (a new
    /// response cycle, R-SLA-7); in new or in-progress it only adds to the
    /// conversation.
    mutating func provideInfo(contact: String, text: String) throws {
        switch self.incident.state {
        case .resolved:
            throw ServiceError.illegal("updated", state: .resolved, incident: self.incident.id, hint: "Reopen it with a reason to continue.")
        case .closed:
            throw ServiceError.illegal("updated", state: .closed, incident: self.incident.id, hint: "Open a new incident.")
        default:
            break
        }
        self.converse(.infoProvided, author: contact, text: text)
        let previous = self.incident.state == .waitingCustomer ? self.move(to: .inProgress, by: contact, reason: "") : self.current
        var provided = Support_Events_V1_InfoProvided()
        provided.contactEmail = contact
        provided.text = text
        self.emit(.infoProvided(provided), previous: previous)
    }

    // MARK: Either side

    mutating func reopen(by party: String, reason: String) throws {
        guard self.incident.state == .resolved else {
            let hint = self.incident.state == .closed ? "A closed incident stays closed: open a new one." : "Only a resolved incident can be reopened."
            throw ServiceError.illegal("reopened", state: self.incident.state, incident: self.incident.id, hint: hint)
        }
        self.incident.resolvedAt = .init()
        let previous = self.move(to: .inProgress, by: party, reason: reason)
        var reopened = Support_Events_V1_Reopened()
        reopened.reopenedBy = party
        reopened.reason = reason
        self.emit(.reopened(reopened), previous: previous)
    }

    /// Closing as resolved needs a resolved incident; out-of-scope and
    /// not-reproducible (R-SCOPE-2, R-SCOPE-3) close any open one.
    mutating func close(by party: String, reason: Support_Common_V1_ClosureReason) throws {
        guard self.incident.state != .closed else {
            throw ServiceError.illegal("closed", state: .closed, incident: self.incident.id, hint: "It is closed already.")
        }
        if reason.kind == .resolved && self.incident.state != .resolved {
            throw ServiceError.illegal(
                "closed as resolved", state: self.incident.state, incident: self.incident.id, hint: "Resolve it first."
            )
        }
        self.incident.closureReason = reason
        self.incident.closedAt = .init(date: self.now)
        let previous = self.move(to: .closed, by: party, reason: reason.kind == .outOfScope ? "out of scope" : "")
        var closed = Support_Events_V1_Closed()
        closed.closedBy = party
        closed.reason = reason
        self.emit(.closed(closed), previous: previous)
    }

    /// R-SLA-6: one month on the customer's side. Idempotent; stale when the
    /// customer answered since `waitingSince`.
    mutating func closeForCustomerTimeout(waitingSince: Date) throws {
        if self.incident.state == .closed && self.incident.closureReason.kind == .customerTimeout { return }
        guard Self.side(of: self.incident.state) == .customer, self.incident.state != .closed,
            abs(self.incident.sideSince.date.timeIntervalSince(waitingSince)) < 1
        else {
            throw ServiceError(
                .failedPrecondition, reason: "STALE_TIMEOUT",
                "\(self.incident.id) is \(self.incident.state.label) and has not waited for the customer since \(waitingSince.formatted(.iso8601)); drop the timer"
            )
        }
        var reason = Support_Common_V1_ClosureReason()
        reason.kind = .customerTimeout
        reason.detail = "no answer from the customer within one month (R-SLA-6)"
        try self.close(by: "sla-timer", reason: reason)
    }

    // MARK: Mechanics

    private var current: (State, Side) { (self.incident.state, self.incident.side) }

    private mutating func changeSeverity(to severity: Int32, by actor: String, reason: String) {
        var change = Support_Intake_V1_SeverityChange()
        change.fromSeverity = self.incident.severity
        change.toSeverity = severity
        change.changedBy = actor
        change.at = .init(date: self.now)
        change.reason = reason
        self.incident.severityHistory.append(change)
        self.incident.severity = severity
        self.incident.updatedAt = .init(date: self.now)
        var changed = Support_Events_V1_SeverityChanged()
        changed.fromSeverity = change.fromSeverity
        changed.toSeverity = severity
        changed.changedBy = actor
        changed.reason = reason
        self.emit(.severityChanged(changed), previous: self.current)
    }

    /// Moves to `state`, records the transition, and returns where it was.
    @discardableResult
    private mutating func move(to state: State, by party: String, reason: String) -> (State, Side) {
        let previous = self.current
        let side = Self.side(of: state)
        var transition = Support_Intake_V1_StateTransition()
        transition.fromState = previous.0
        transition.toState = state
        transition.side = side
        transition.changedBy = party
        transition.at = .init(date: self.now)
        transition.reason = reason
        self.incident.transitions.append(transition)
        self.incident.state = state
        if side != previous.1 { self.incident.sideSince = .init(date: self.now) }
        self.incident.side = side
        self.incident.updatedAt = .init(date: self.now)
        return previous
    }

    private mutating func converse(
        _ kind: Support_Intake_V1_ConversationEntry.Kind, author: String, text: String, via: Support_Common_V1_Channel = .unspecified
    ) {
        var entry = Support_Intake_V1_ConversationEntry()
        entry.kind = kind
        entry.author = author
        entry.at = .init(date: self.now)
        entry.text = text
        entry.via = via
        self.incident.conversation.append(entry)
        self.incident.updatedAt = .init(date: self.now)
    }

    mutating func emit(_ payload: EventPayload, previous: (State, Side)) {
        self.events.append((payload, IncidentSnapshots.snapshot(of: self.incident, previous: previous)))
    }

    private func expect(_ states: Set<State>, to action: String, hint: String) throws {
        guard states.contains(self.incident.state) else {
            throw ServiceError.illegal(action, state: self.incident.state, incident: self.incident.id, hint: hint)
        }
    }

    private func expectOpen(to action: String) throws {
        try self.expect([.new, .inProgress, .waitingCustomer], to: action, hint: Self.hint(for: self.incident.state))
    }

    private static func hint(for state: State) -> String {
        switch state {
        case .waitingCustomer: "It waits for the customer's information."
        case .resolved: "Reopen it first."
        case .closed: "A closed incident stays closed: open a new one."
        default: ""
        }
    }
}

enum IncidentSnapshots {
    static func snapshot(of incident: Incident, previous: (State, Side)) -> Support_Events_V1_IncidentSnapshot {
        var snapshot = Support_Events_V1_IncidentSnapshot()
        snapshot.certificateID = incident.certificateID
        snapshot.customer = incident.customer
        snapshot.tier = incident.tier
        snapshot.office = incident.office
        snapshot.tam = incident.tam
        snapshot.severity = incident.severity
        snapshot.state = incident.state
        snapshot.side = incident.side
        snapshot.previousState = previous.0
        snapshot.previousSide = previous.1
        snapshot.channel = incident.channel
        snapshot.kind = incident.kind
        snapshot.phoneAdvised = incident.phoneAdvised
        snapshot.contactEmail = incident.contact.email
        snapshot.contactName = incident.contact.name
        snapshot.title = incident.title
        snapshot.openedAt = incident.openedAt
        snapshot.problemID = incident.problemID
        return snapshot
    }

    /// Attaches the snapshot to the payload and wraps it as an event.
    static func event(_ payload: EventPayload, snapshot: Support_Events_V1_IncidentSnapshot, incidentID: String, at now: Date) -> Support_Events_V1_Event {
        var event = Support_Events_V1_Event()
        event.incidentID = incidentID
        event.occurredAt = .init(date: now)
        event.payload = payload
        event.incidentSnapshot = snapshot
        return event
    }
}
