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
///
/// Every move that says something adds its article to the incident's
/// thread (issue 22); a public article is announced with ArticleAdded right
/// after the move's own event. The incident must come with its whole
/// thread (``IntakeStore/incident(_:in:)``), so new articles are numbered
/// after its last.
struct IncidentLifecycle {
    private(set) var incident: Incident
    /// Events caused so far, each with the incident as it was right after.
    private(set) var events: [(payload: EventPayload, snapshot: Support_Events_V1_IncidentSnapshot)] = []
    /// The articles added so far, numbered, oldest first: what the store
    /// appends (``IntakeStore/appendArticle(_:to:in:)``).
    private(set) var addedArticles: [Article] = []
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
        // R-SLA-1: an answer by phone is recorded by staff and counts.
        let article = self.append(.response, author: actor, direction: .toCustomer, channel: via, text: text)
        let previous = self.move(to: .inProgress, by: actor, reason: "")
        var given = Support_Events_V1_ResponseGiven()
        given.author = actor
        given.text = text
        given.via = via
        self.emit(.responseGiven(given), previous: previous)
        self.announce(article)
    }

    mutating func requestInfo(actor: String, text: String) throws {
        try self.expect([.new, .inProgress], to: "asked for information", hint: Self.hint(for: self.incident.state))
        let article = self.append(.infoRequest, author: actor, direction: .toCustomer, channel: .portal, text: text)
        let previous = self.move(to: .waitingCustomer, by: actor, reason: "")
        var requested = Support_Events_V1_InfoRequested()
        requested.author = actor
        requested.text = text
        self.emit(.infoRequested(requested), previous: previous)
        self.announce(article)
    }

    mutating func resolve(actor: String, resolution: String) throws {
        try self.expect([.new, .inProgress, .waitingCustomer], to: "resolved", hint: "")
        self.incident.resolution = resolution
        self.incident.resolvedAt = .init(date: self.now)
        let article = self.append(.resolution, author: actor, direction: .toCustomer, channel: .portal, text: resolution)
        let previous = self.move(to: .resolved, by: actor, reason: "")
        var resolved = Support_Events_V1_Resolved()
        resolved.resolvedBy = actor
        resolved.resolution = resolution
        self.emit(.resolved(resolved), previous: previous)
        self.announce(article)
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
        let article = self.append(.workaround, author: actor, direction: .toCustomer, channel: .portal, text: text)
        let previous = self.incident.state == .new ? self.move(to: .inProgress, by: actor, reason: "workaround") : self.current
        var workaround = Support_Events_V1_WorkaroundProvided()
        workaround.author = actor
        workaround.text = text
        workaround.problemID = problemID
        self.emit(.workaroundProvided(workaround), previous: previous)
        self.announce(article)
        if self.incident.severity == 1 {
            self.changeSeverity(to: 2, by: actor, reason: "R-SEV-4: a workaround is available")
        }
    }

    /// An internal note: staff only, so no event carries it (intake.proto:
    /// "no event").
    mutating func addNote(actor: String, text: String) throws {
        guard self.incident.state != .closed else {
            throw ServiceError.illegal("annotated", state: .closed, incident: self.incident.id, hint: "Open a new incident.")
        }
        self.append(.note, author: actor, direction: .internal, channel: .unspecified, text: text)
    }

    /// A public vendor message that changes nothing else (Intake.Reply).
    mutating func reply(actor: String, text: String, via: Support_Common_V1_Channel) throws {
        let article = IncidentThread.article(.reply, author: actor, direction: .toCustomer, channel: via, text: text, at: self.now)
        try self.post(article, to: "replied to")
    }

    /// Adds `article` to the thread and changes nothing else: no state
    /// change, no event but its ArticleAdded when it is public. For
    /// articles that are not a move of their own (a reply; the article an
    /// attachment arrives with). Refused once the incident is closed.
    ///
    /// - Returns: The article as added: numbered, dated by the step.
    @discardableResult
    mutating func post(_ article: Article, to action: String = "added to") throws -> Article {
        guard self.incident.state != .closed else {
            throw ServiceError.illegal(action, state: .closed, incident: self.incident.id, hint: "Open a new incident.")
        }
        let added = self.append(article)
        self.announce(added)
        return added
    }

    /// Sets the other authorised contacts who receive the incident's mail
    /// (Intake.SetCc): no event of its own; every later event's snapshot
    /// carries the list.
    mutating func setCc(_ contacts: [Contact]) throws {
        guard self.incident.state != .closed else {
            throw ServiceError.illegal("given a cc list", state: .closed, incident: self.incident.id, hint: "Open a new incident.")
        }
        guard contacts != self.incident.cc else { return }
        self.incident.cc = contacts
        self.incident.updatedAt = .init(date: self.now)
    }

    // MARK: The customer's moves

    /// From waiting-customer the incident returns to the vendor's side (a new
    /// response cycle, R-SLA-7); in new or in-progress it only adds to the
    /// conversation.
    ///
    /// - Parameters:
    ///   - via: How the message came: the portal, or mail or phone.
    ///   - enteredBy: The staff id who recorded a mail or phone message for
    ///     the contact; empty when the contact wrote it.
    mutating func provideInfo(contact: String, text: String, via: Support_Common_V1_Channel = .portal, enteredBy: String = "") throws {
        switch self.incident.state {
        case .resolved:
            throw ServiceError.illegal("updated", state: .resolved, incident: self.incident.id, hint: "Reopen it with a reason to continue.")
        case .closed:
            throw ServiceError.illegal("updated", state: .closed, incident: self.incident.id, hint: "Open a new incident.")
        default:
            break
        }
        let article = self.append(
            .customerMessage, author: contact, direction: .fromCustomer, channel: via, text: text, enteredBy: enteredBy
        )
        let previous = self.incident.state == .waitingCustomer ? self.move(to: .inProgress, by: contact, reason: "") : self.current
        var provided = Support_Events_V1_InfoProvided()
        provided.contactEmail = contact
        provided.text = text
        self.emit(.infoProvided(provided), previous: previous)
        self.announce(article)
    }

    // MARK: Either side

    /// - Parameter byCustomer: Whether `party` is a contact (the article is
    ///   from the customer) or staff (to the customer).
    mutating func reopen(by party: String, byCustomer: Bool, reason: String) throws {
        guard self.incident.state == .resolved else {
            let hint = self.incident.state == .closed ? "A closed incident stays closed: open a new one." : "Only a resolved incident can be reopened."
            throw ServiceError.illegal("reopened", state: self.incident.state, incident: self.incident.id, hint: hint)
        }
        self.incident.resolvedAt = .init()
        let article = self.append(
            .reopen, author: party, direction: byCustomer ? .fromCustomer : .toCustomer, channel: .portal, text: reason
        )
        let previous = self.move(to: .inProgress, by: party, reason: reason)
        var reopened = Support_Events_V1_Reopened()
        reopened.reopenedBy = party
        reopened.reason = reason
        self.emit(.reopened(reopened), previous: previous)
        self.announce(article)
    }

    /// Closing as resolved needs a resolved incident; out-of-scope and
    /// not-reproducible (R-SCOPE-2, R-SCOPE-3) close any open one.
    ///
    /// - Parameter byCustomer: A contact accepting the resolution: its
    ///   closure article is from the customer.
    mutating func close(by party: String, byCustomer: Bool = false, reason: Support_Common_V1_ClosureReason) throws {
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
        let article = self.append(IncidentThread.article(
            .closure, author: party, direction: byCustomer ? .fromCustomer : .toCustomer, channel: .portal,
            text: reason.detail, at: self.now, closure: reason
        ))
        let previous = self.move(to: .closed, by: party, reason: reason.kind == .outOfScope ? "out of scope" : "")
        var closed = Support_Events_V1_Closed()
        closed.closedBy = party
        closed.reason = reason
        self.emit(.closed(closed), previous: previous)
        self.announce(article)
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
        // The customer reads this (the closure's article and
        // closure_reason): no rule id in it.
        reason.detail = "no answer from the customer within one month"
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

    /// Adds an article of this step to the thread.
    @discardableResult
    private mutating func append(
        _ kind: Support_Common_V1_ArticleKind, author: String, direction: Support_Common_V1_Direction,
        channel: Support_Common_V1_Channel, text: String, enteredBy: String = ""
    ) -> Article {
        self.append(IncidentThread.article(
            kind, author: author, direction: direction, channel: channel, text: text, at: self.now, enteredBy: enteredBy
        ))
    }

    /// Numbers `article` after the thread's last (its attachments with
    /// it), dates it now and adds it.
    private mutating func append(_ article: Article) -> Article {
        var article = article
        article.number = (self.incident.thread.last?.number ?? 0) + 1
        for index in article.attachments.indices { article.attachments[index].articleNumber = article.number }
        article.at = .init(date: self.now)
        self.incident.thread.append(article)
        self.addedArticles.append(article)
        self.incident.updatedAt = .init(date: self.now)
        return article
    }

    /// ArticleAdded for a public article, right after the event of the move
    /// it belongs to; an internal one never leaves intake. Its snapshot
    /// reports no move of its own (previous state and side are the
    /// current ones).
    private mutating func announce(_ article: Article) {
        guard article.visibility == .public else { return }
        var added = Support_Events_V1_ArticleAdded()
        added.article = article
        self.emit(.articleAdded(added), previous: self.current)
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
        // Issue 22: whom mail goes to, and in which language.
        snapshot.contactLanguage = incident.contact.language
        snapshot.cc = incident.cc
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
