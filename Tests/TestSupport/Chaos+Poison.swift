import Foundation
import SupportProto
import SupportRPC

#if canImport(Glibc)
import Glibc
#endif

/// Issue 21's poison, injected into the chaos run: an event no subscriber
/// can apply, which must be parked where it lands (and stay parked through
/// the kills), and one escalation cannot fully staff, which must be applied
/// and flagged, never parked (issue 23), while every other event is
/// delivered once and applied.
///
/// - An `SLABreached` dated in the year 33658, the shape of issue 21's
///   finding 2 (sla-timer's clock set to 1e12 seconds), delivered straight
///   to sla-timer's three subscribers by `EventSink/Deliver` (the driver runs
///   as the services' uid). It opens a stream of its own (an incident no
///   one opened, sequence 1), so no real stream is touched. Each subscriber
///   must park it: the inbox checks every value of an event before applying
///   it (`INVALID_ARGUMENT`, `FIELD_OUT_OF_RANGE`).
/// - An incident of an office that has a calendar but no roster
///   (``noRosterOffice``), opened the normal way; the clock's steps make its
///   response time pass, sla-timer publishes its `SLABreached`, and
///   escalation, whose fallback roster does not know the certificate's TAM,
///   must apply it anyway: the level moves, the gap is recorded in the
///   `Escalated` (`unstaffed_reason`) and the fallback duty address is
///   mailed. Parking it (what issue 21 did) is now a failure: missing staff
///   never blocks a stream (issue 23).
extension Chaos {
    /// An office in deploy/config's offices.json that roster.json leaves
    /// without a roster of its own (it uses the fallback roster).
    static let noRosterOffice = "new-york"
    static let noRosterCertificate = "C-NY"
    static let noRosterContact = "bob@globex.example"
    /// The out-of-range event's times: seconds 1e12, the year 33658.
    static let outOfRangeSeconds: Int64 = 1_000_000_000_000
    /// sla-timer's subscribers: each would receive an `SLABreached`.
    static let breachSubscribers = ["intake", "escalation", "notifier"]

    /// The poison of one run and what became of it.
    struct Poison {
        struct Sighting {
            /// When a listing first showed it parked, since the drive began.
            var after: Duration
            /// Kills of the holding service before that listing.
            var killsBefore: Int
        }

        /// One event a service listed as parked.
        struct Found {
            var service: String
            var event: Support_Admin_V1_ParkedEvent
        }

        var outOfRange: Support_Events_V1_Event?
        var deliveredTo: [String] = []
        var deliveredAfter: Duration?
        var noRosterIncidentID: String?
        var openedAfter: Duration?
        /// By "service event-id".
        var sightings: [String: Sighting] = [:]
        /// Holders SIGKILLed and restarted once more before the check.
        var restarted: [String] = []
        /// What ListParkedEvents answered at the check, every service.
        var parked: [Found] = []
    }

    // MARK: Injecting

    func registerPoisonCustomer() async throws {
        let register = try await self.cluster.supportctl(
            "certificate", "register", "--id", Self.noRosterCertificate, "--customer", "Globex", "--office", Self.noRosterOffice,
            "--tier", "enterprise", "--valid-from", "2026-01-01", "--valid-until", "2030-12-31", "--tam", "tam.smith"
        )
        guard register.status == 0 else { throw RPCError(.internal, "certificate register \(Self.noRosterCertificate) failed: \(register.stderr)") }
        let contact = try await self.cluster.supportctl(
            "contact", "add", "--certificate", Self.noRosterCertificate, "--name", "Bob", "--email", Self.noRosterContact
        )
        guard contact.status == 0 else { throw RPCError(.internal, "contact add to \(Self.noRosterCertificate) failed: \(contact.stderr)") }
    }

    /// Opens the no-roster incident a tenth into the run and delivers the
    /// out-of-range event three tenths in, both under the kills; then
    /// watches the parked lists until `deadline`, noting when each poison
    /// was first seen parked (so the summary can say how many kills of its
    /// holder it lived through).
    func injectPoison(began: ContinuousClock.Instant, until deadline: ContinuousClock.Instant) async {
        try? await Task.sleep(until: began + self.options.duration * 0.1)
        // Severity 1 by phone: a 30-minute 24x7 clock, so the clock's next
        // steps breach it while the kills go on (R-SLA-2, R-CH-2).
        var open = Support_Intake_V1_OpenIncidentRequest()
        open.certificateID = Self.noRosterCertificate
        open.contactEmail = Self.noRosterContact
        open.channel = .phone
        open.kind = .product
        open.severity = 1
        open.title = "chaos \(self.options.seed) poison: office \(Self.noRosterOffice) has no roster"
        var metadata = Metadata()
        metadata[Metadata.idempotencyKey] = "chaos-\(self.options.seed)-no-roster"
        if let incident = await self.call(IntakeRPC.openIncident, open, metadata: metadata) {
            self.state.withLock {
                $0.poison.noRosterIncidentID = incident.id
                $0.poison.openedAfter = ContinuousClock.now - began
            }
            self.say("chaos: poison: opened \(incident.id) for \(Self.noRosterCertificate), office \(Self.noRosterOffice) (no roster); its breach must escalate, flagged, not parked")
        }

        await self.watchParkedPoison(began: began, until: began + self.options.duration * 0.3)
        let event = self.outOfRangeEvent()
        self.state.withLock { $0.poison.outOfRange = event }
        var request = Support_Events_V1_DeliverRequest()
        request.events = [event]
        for service in Self.breachSubscribers {
            // Retried through the kills like every driver call; a refusal
            // of the whole delivery is a finding (`call` records it).
            guard let response = await self.call(EventSinkRPC.deliver, request, on: self.clients[service]) else { continue }
            if response.appliedEventIds.contains(event.eventID) {
                self.state.withLock { $0.poison.deliveredTo.append(service) }
            } else {
                self.state.withLock { $0.problems.append("\(service) did not accept the out-of-range event \(event.eventID): \(response)") }
            }
        }
        let deliveredTo = self.state.withLock { state in
            state.poison.deliveredAfter = ContinuousClock.now - began
            return state.poison.deliveredTo
        }
        self.say("chaos: poison: delivered sla_breached \(event.eventID) dated seconds \(Self.outOfRangeSeconds + 1) to \(deliveredTo.isEmpty ? "no subscriber" : deliveredTo.joined(separator: ", ")); each must park it")

        await self.watchParkedPoison(began: began, until: deadline)
    }

    /// Lists the parked events of sla-timer's subscribers every second until
    /// `deadline`, noting when each poison event is first seen there.
    private func watchParkedPoison(began: ContinuousClock.Instant, until deadline: ContinuousClock.Instant) async {
        while ContinuousClock.now < deadline {
            await self.lookForParkedPoison(began: began)
            try? await Task.sleep(until: min(deadline, ContinuousClock.now + .seconds(1)))
        }
    }

    /// The out-of-range `SLABreached`: what sla-timer would have published
    /// with its clock at 1e12 seconds (issue 21, finding 2), on a stream of
    /// its own. Its id comes from the seed, so a replay injects the same.
    func outOfRangeEvent() -> Support_Events_V1_Event {
        var random = SeededRandom(seed: self.options.seed ^ 0x9015_0E)
        let uuid = withUnsafeBytes(of: (random.next(), random.next())) { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
        let incident = "INC-POISON-\(self.options.seed)"
        var breach = Support_Events_V1_SLABreached()
        breach.cycle.cycleID = "\(incident)/1"
        breach.cycle.cycleNumber = 1
        breach.cycle.severity = 1
        breach.cycle.clockKind = .wall
        breach.cycle.startedAt.seconds = Self.outOfRangeSeconds - 1800
        breach.cycle.dueAt.seconds = Self.outOfRangeSeconds
        breach.cycle.target.seconds = 1800
        breach.cycle.office = "tokyo"
        breach.cycle.tier = .enterprise
        breach.cycle.certificateID = "C-1"
        breach.cycle.policyVersion = "R-SLA-2/2026-1"
        breach.firedAt.seconds = Self.outOfRangeSeconds + 1
        var event = Support_Events_V1_Event()
        event.eventID = uuid.uuidString.lowercased()
        event.incidentID = incident
        // The first event of a stream no real producer writes.
        event.sequence = 1
        event.occurredAt.seconds = Self.outOfRangeSeconds + 1
        event.producer = "sla-timer"
        event.payload = .slaBreached(breach)
        return event
    }

    private func lookForParkedPoison(began: ContinuousClock.Instant) async {
        let (outOfRange, noRoster) = self.state.withLock { ($0.poison.outOfRange?.eventID, $0.poison.noRosterIncidentID) }
        for service in Self.breachSubscribers {
            guard let parked = try? await self.parkedEvents(at: service) else { continue }
            let after = ContinuousClock.now - began
            self.state.withLock { state in
                for event in parked where event.eventID == outOfRange || (noRoster != nil && event.incidentID == noRoster) {
                    let key = "\(service) \(event.eventID)"
                    guard state.poison.sightings[key] == nil else { continue }
                    state.poison.sightings[key] = Poison.Sighting(after: after, killsBefore: state.kills[service, default: 0])
                }
            }
        }
    }

    /// Every event `service` lists as parked (Admin/ListParkedEvents, what
    /// `supportctl events parked` shows), all pages.
    func parkedEvents(at service: String) async throws -> [Support_Admin_V1_ParkedEvent] {
        var events: [Support_Admin_V1_ParkedEvent] = []
        var request = Support_Admin_V1_ListParkedEventsRequest()
        request.pageSize = 1000
        repeat {
            let response = try await self.clients[service]!.call(
                AdminRPC.listParkedEvents, request, timeout: .seconds(5), connectTimeout: .seconds(2)
            )
            events += response.events
            request.pageToken = response.nextPageToken
        } while !request.pageToken.isEmpty
        return events
    }

    /// SIGKILLs and restarts each service that should hold a parked poison
    /// event, so that what the check lists has survived a restart whatever
    /// the random kills happened to hit.
    func restartPoisonHolders() async {
        for service in Self.breachSubscribers {
            let status = await self.cluster.stop(service, signal: SIGKILL)
            if status != SIGKILL {
                self.state.withLock { $0.problems.append("\(service) had exited on its own (status \(status)) before the poison check killed it") }
            }
            do {
                try await self.cluster.start(service)
                self.state.withLock { $0.poison.restarted.append(service) }
            } catch {
                self.state.withLock { $0.problems.append("\(service) did not restart before the poison check: \(error)") }
            }
        }
    }

    // MARK: Checking

    /// Exactly the injected out-of-range event is parked, nothing else, at
    /// each of sla-timer's subscribers with a reason an operator can act on
    /// (a time out of range). The no-roster incident's breaches are applied
    /// and flagged (issue 23): one of them parked is a failure.
    func checkParked(breaches: [Support_Events_V1_Event]) async throws -> Invariant {
        var parked: [Poison.Found] = []
        for service in ServiceCluster.services {
            parked += try await self.parkedEvents(at: service).map { Poison.Found(service: service, event: $0) }
        }
        let (outOfRange, noRoster, deliveredTo) = self.state.withLock { state in
            state.poison.parked = parked
            return (state.poison.outOfRange?.eventID, state.poison.noRosterIncidentID, state.poison.deliveredTo)
        }

        var problems: [String] = []
        // What must be parked: "service event-id" → the words its reason must contain.
        var expected: [String: [String]] = [:]
        if let outOfRange {
            if deliveredTo.count != Self.breachSubscribers.count {
                problems.append("the out-of-range event reached only \(deliveredTo)")
            }
            for service in deliveredTo { expected["\(service) \(outOfRange)"] = ["INVALID_ARGUMENT", "out of range"] }
        } else {
            problems.append("the out-of-range event was never injected")
        }
        let noRosterBreaches = breaches.filter { $0.incidentID == noRoster && noRoster != nil }
        if noRoster == nil {
            problems.append("the incident for \(Self.noRosterOffice) was never opened")
        } else if noRosterBreaches.isEmpty {
            problems.append("\(noRoster!) (office \(Self.noRosterOffice)) never breached")
        }
        for event in parked where event.event.incidentID == noRoster && noRoster != nil {
            problems.append("\(event.service) parked \(event.event.kind) of the no-roster incident (issue 23: applied and flagged, never parked): \(event.event.reason)")
        }

        var found: Set<String> = []
        var unexpected: [String] = []
        for (service, event) in parked.map({ ($0.service, $0.event) }) {
            let key = "\(service) \(event.eventID)"
            guard let words = expected[key] else {
                unexpected.append("\(service): \(event.kind) \(event.eventID) of \(event.incidentID) (\(event.reason))")
                continue
            }
            found.insert(key)
            if event.kind != "sla_breached" || event.producer != "sla-timer" {
                problems.append("\(service) lists \(event.eventID) as \(event.kind) from \(event.producer), not sla_breached from sla-timer")
            }
            if !words.allSatisfy(event.reason.contains) {
                problems.append("\(service)'s reason for \(event.eventID) does not say \(words.joined(separator: ", ")): \(event.reason)")
            }
        }
        let missing = expected.keys.filter { !found.contains($0) }.sorted()
        if !missing.isEmpty { problems.append("not parked: \(missing.joined(separator: "; "))") }
        if !unexpected.isEmpty { problems.append("\(unexpected.count) parked that were not injected: \(unexpected.prefix(3).joined(separator: "; "))") }

        let byService = Dictionary(grouping: parked, by: \.service).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.count)" }
        return Invariant(
            name: "exactly the injected poison events are parked, nothing else", holds: problems.isEmpty,
            detail: problems.isEmpty
                ? "\(parked.count) parked (\(byService.joined(separator: ", "))): the out-of-range event at \(deliveredTo.joined(separator: ", ")), "
                    + "\(noRosterBreaches.count) breach(es) of \(noRoster ?? "?") applied and flagged, not parked; every other event applied; each reason says why; held through a SIGKILL of \(self.state.withLock { $0.poison.restarted }.joined(separator: ", "))"
                : problems.joined(separator: "; ")
        )
    }

    /// The summary's account of the poison: what was injected, when, and
    /// where it was found parked with which reason.
    func poisonSummary(began: ContinuousClock.Instant) -> [String] {
        let (poison, kills) = self.state.withLock { ($0.poison, $0.kills) }
        func seconds(_ duration: Duration?) -> String { duration.map { "+\($0.components.seconds)s" } ?? "never" }
        func whereParked(_ matches: (Support_Admin_V1_ParkedEvent) -> Bool) -> [String] {
            let rows = poison.parked.filter { matches($0.event) }
            guard !rows.isEmpty else { return ["      found parked nowhere"] }
            return rows.map { row in
                let (service, event) = (row.service, row.event)
                let sighting = poison.sightings["\(service) \(event.eventID)"]
                let held = sighting.map { "first listed \(seconds($0.after)), then held through \(kills[service, default: 0] - $0.killsBefore) random SIGKILLs of \(service)" }
                    ?? "first listed at the check"
                let restart = poison.restarted.contains(service) ? " and the one before the check" : ""
                return "      parked at \(service) (\(held)\(restart)), \(event.attempts) attempt(s): \(event.reason)"
            }
        }
        var lines = ["chaos: poison injected (issue 21):"]
        if let event = poison.outOfRange {
            lines.append(
                "  1. out-of-range time: sla_breached \(event.eventID) of \(event.incidentID) (sequence 1), occurred_at/fired_at seconds \(Self.outOfRangeSeconds + 1), due_at \(Self.outOfRangeSeconds) (the year 33658); EventSink/Deliver to \(poison.deliveredTo.joined(separator: ", ")) at \(seconds(poison.deliveredAfter))"
            )
            lines += whereParked { $0.eventID == event.eventID }
        } else {
            lines.append("  1. out-of-range time: never injected")
        }
        if let incident = poison.noRosterIncidentID {
            lines.append("  2. office without a roster: \(incident) of \(Self.noRosterCertificate), office \(Self.noRosterOffice), severity 1 by phone, opened at \(seconds(poison.openedAfter)); its sla_breached must be applied and flagged (issue 23):")
            let parked = poison.parked.filter { $0.event.incidentID == incident }
            lines += parked.isEmpty ? ["      parked nowhere (as it must be)"] : whereParked { $0.incidentID == incident }
        } else {
            lines.append("  2. office without a roster: the incident was never opened")
        }
        return lines
    }
}
