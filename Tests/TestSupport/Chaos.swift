import Foundation
import GRDB
import SupportProto
import SupportRPC
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10's fault run: many incidents driven through their lives on the
/// four real executables with a fake clock, while a random service is
/// SIGKILLed and restarted every few seconds; at the end the invariants are
/// checked and printed. Shared by `scripts/chaos` (the `supportdesk-chaos`
/// executable) and the CI-sized end-to-end test.
///
/// Everything random (each incident's life, the clock's steps, which
/// service dies when and for how long) comes from generators seeded by
/// `seed`, so a failing run replays the same plan. Thread scheduling is not
/// replayed; the plan is.
///
/// Two poison events are injected during the run (issue 21,
/// `Chaos+Poison.swift`) and must be parked where they land, through the
/// kills, while everything else is delivered once and applied.
public final class Chaos: Sendable {
    public struct Options: Sendable {
        public var incidents: Int
        public var duration: Duration
        public var killEvery: Duration
        public var seed: UInt64
        /// Incidents whose lives run at the same time.
        public var concurrency: Int
        /// Keep the runtime directory (databases, logs) after a passing run.
        public var keep: Bool

        public init(
            incidents: Int = 1000, duration: Duration = .seconds(300), killEvery: Duration = .seconds(3),
            seed: UInt64 = UInt64.random(in: 1...999_999_999), concurrency: Int = 8, keep: Bool = false
        ) {
            self.incidents = incidents
            self.duration = duration
            self.killEvery = killEvery
            self.seed = seed
            self.concurrency = concurrency
            self.keep = keep
        }
    }

    /// One checked invariant and what was found.
    public struct Invariant: Sendable, CustomStringConvertible {
        public let name: String
        public let holds: Bool
        public let detail: String
        public var description: String { "\(self.holds ? "ok  " : "FAIL") \(self.name): \(self.detail)" }
    }

    public struct Report: Sendable {
        public var seed: UInt64
        public var acknowledged: Int
        public var kills: [String: Int]
        public var clockSteps: Int
        public var refusals: Int
        public var retries: Int
        public var invariants: [Invariant]
        /// What each service listed as parked at the check, by event id:
        /// the injected poison events and nothing else when the run passes.
        public var parked: [String: [String]]
        public var runtime: String
        public var passed: Bool { !self.invariants.isEmpty && self.invariants.allSatisfy(\.holds) }
    }

    public let options: Options
    let say: @Sendable (String) -> Void
    let cluster: ServiceCluster
    /// One client (one connection, calls multiplexed) for every driver
    /// call: a client per call left hundreds of idle connections behind
    /// and hit intake's connection limit (issue 10's resource limits).
    let intake: RPCClient
    /// One client per service likewise, for the poison's deliveries and the
    /// parked-event listings (`intake` is the one for intake).
    let clients: [String: RPCClient]
    /// The fake clock's start: Monday 2026-12-07 09:00 JST.
    static let start = Date(timeIntervalSince1970: 1_796_601_600)

    struct State {
        var acknowledged: [String] = []
        var kills: [String: Int] = [:]
        var clockSteps = 0
        var refusals = 0
        var retries = 0
        var problems: [String] = []
        var clockTarget = Chaos.start
        var poison = Poison()
    }
    let state = Mutex(State())
    private let killing = Mutex(true)
    private let nextIncident = Mutex(0)

    public init(_ options: Options, say: @escaping @Sendable (String) -> Void = { print($0) }) throws {
        self.options = options
        self.say = say
        let cluster = try ServiceCluster(fakeClock: Self.start.rfc3339Z)
        self.cluster = cluster
        self.clients = Dictionary(uniqueKeysWithValues: ServiceCluster.services.map { ($0, cluster.client($0)) })
        self.intake = self.clients["intake"]!
    }

    // MARK: Running

    /// Runs the whole thing and returns the report; the caller decides the exit status.
    public func run() async throws -> Report {
        let options = self.options
        self.say(
            "chaos: seed \(options.seed), \(options.incidents) incidents over \(options.duration), SIGKILL every \(options.killEvery), runtime \(self.cluster.runtime.path)"
        )
        try await self.cluster.startAll()
        try await self.register()
        try await self.registerPoisonCustomer()

        let began = ContinuousClock.now
        let deadline = began + options.duration
        let killer = Task { await self.killRandomly(until: deadline) }
        let ticker = Task { await self.tick(until: deadline) }
        let poisoner = Task { await self.injectPoison(began: began, until: deadline) }
        await self.driveIncidents(over: options.duration)
        // Lives may end before the deadline: keep the faults going until then.
        await ticker.value
        self.killing.withLock { $0 = false }
        await killer.value
        await poisoner.value
        let kills = self.state.withLock { $0.kills }
        self.say("chaos: drive phase over after \(ContinuousClock.now - began); \(kills.values.reduce(0, +)) kills (\(kills.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")

        // Everything left waiting: a month on, every running cycle breaches
        // and every incident on the customer's side times out (R-SLA-6).
        await self.advanceClock(by: 32 * 86_400)
        await self.advanceClock(by: 86_400)
        let quiet = await self.waitForQuiet(timeout: .seconds(120))
        self.say("chaos: quiet after \(ContinuousClock.now - began) (\(quiet ? "every outbox drained" : "outboxes still busy"))")
        // Whatever the random kills hit, what the check reads as parked has
        // lived through a SIGKILL of the service that holds it.
        await self.restartPoisonHolders()

        let invariants = try await self.check()
        let snapshot = self.state.withLock { $0 }
        let report = Report(
            seed: options.seed, acknowledged: snapshot.acknowledged.count, kills: snapshot.kills,
            clockSteps: snapshot.clockSteps, refusals: snapshot.refusals, retries: snapshot.retries,
            invariants: invariants,
            parked: Dictionary(grouping: snapshot.poison.parked, by: \.service).mapValues { $0.map(\.event.eventID) },
            runtime: self.cluster.runtime.path
        )
        self.say(
            "chaos: seed \(report.seed): \(report.acknowledged) incidents acknowledged, \(kills.values.reduce(0, +)) kills, \(report.clockSteps) clock steps, \(report.retries) retried calls, \(report.refusals) domain refusals"
        )
        for line in self.poisonSummary(began: began) { self.say(line) }
        for invariant in invariants { self.say("  \(invariant)") }
        if report.passed && !options.keep {
            await self.cluster.shutdown()
        } else {
            await self.cluster.stopAll()
            self.say("chaos: databases and logs kept in \(self.cluster.runtime.path)")
        }
        self.say(report.passed ? "chaos: PASS (seed \(report.seed))" : "chaos: FAIL (replay with --seed \(report.seed))")
        return report
    }

    private func register() async throws {
        let register = try await self.cluster.supportctl(
            "certificate", "register", "--id", "C-1", "--customer", "Acme", "--office", "tokyo", "--tier", "enterprise",
            "--valid-from", "2026-01-01", "--valid-until", "2030-12-31", "--tam", "tam.sato"
        )
        guard register.status == 0 else { throw RPCError(.internal, "certificate register failed: \(register.stderr)") }
        let contact = try await self.cluster.supportctl("contact", "add", "--certificate", "C-1", "--name", "Ann", "--email", "ann@acme.example")
        guard contact.status == 0 else { throw RPCError(.internal, "contact add failed: \(contact.stderr)") }
    }

    /// Starts incident `i` at `i × spread / N` and runs its life; at most
    /// `concurrency` lives at a time.
    private func driveIncidents(over duration: Duration) async {
        let count = self.options.incidents
        let spread = duration * 0.8
        let began = ContinuousClock.now
        await withDiscardingTaskGroup { group in
            for _ in 0..<max(1, self.options.concurrency) {
                group.addTask {
                    while true {
                        let index = self.nextIncident.withLock { next in
                            defer { next += 1 }
                            return next
                        }
                        guard index < count else { return }
                        let startAt = began + spread * (Double(index) / Double(count))
                        if startAt > .now { try? await Task.sleep(until: startAt) }
                        await self.life(index)
                    }
                }
            }
        }
    }

    /// One incident's life, planned by its own generator.
    private func life(_ index: Int) async {
        var random = SeededRandom(seed: self.options.seed &+ 0x9E37_79B9 &* UInt64(index + 1))
        let severity = Int32([1, 2, 2, 3, 3, 4][random.next(below: 6)])
        // Phone is open around the clock for 1 and 2 only (R-CH-2).
        let channel: Support_Common_V1_Channel = severity <= 2 && random.chance(0.5) ? .phone : .portal
        var open = Support_Intake_V1_OpenIncidentRequest()
        open.certificateID = "C-1"
        open.contactEmail = "ann@acme.example"
        open.channel = channel
        open.kind = random.chance(0.2) ? .outbreak : .product
        open.severity = severity
        open.title = "chaos \(self.options.seed) #\(index)"
        var metadata = Metadata()
        metadata[Metadata.idempotencyKey] = "chaos-\(self.options.seed)-\(index)"
        guard let incident = await self.call(IntakeRPC.openIncident, open, metadata: metadata) else { return }
        let id = incident.id
        self.state.withLock { $0.acknowledged.append(id) }

        func pause() async { try? await Task.sleep(for: .milliseconds(50 + random.next(below: 1200))) }

        await pause()
        if random.chance(0.2) {
            var request = Support_Intake_V1_SetSeverityRequest()
            request.incidentID = id
            request.severity = Int32(1 + random.next(below: 4))
            request.actor = "tam.sato"
            request.reason = "chaos re-classification"
            _ = await self.call(IntakeRPC.setSeverity, request)
            await pause()
        }
        if random.chance(0.35) {
            var request = Support_Intake_V1_RequestInfoRequest()
            request.incidentID = id
            request.actor = "tam.sato"
            request.text = "send the logs"
            _ = await self.call(IntakeRPC.requestInfo, request)
            await pause()
            // Some customers never answer: the customer timeout closes those (R-SLA-6).
            guard random.chance(0.7) else { return }
            var answer = Support_Intake_V1_ProvideInfoRequest()
            answer.incidentID = id
            answer.contactEmail = "ann@acme.example"
            answer.text = "logs attached"
            _ = await self.call(IntakeRPC.provideInfo, answer)
            await pause()
        }
        // The rest of the time nobody answers: the cycle breaches and escalates.
        guard random.chance(0.7) else { return }
        var respond = Support_Intake_V1_RespondRequest()
        respond.incidentID = id
        respond.actor = "tam.sato"
        respond.text = "apply the hotfix"
        _ = await self.call(IntakeRPC.respond, respond)
        await pause()
        guard random.chance(0.7) else { return }
        var resolve = Support_Intake_V1_ResolveRequest()
        resolve.incidentID = id
        resolve.actor = "tam.sato"
        resolve.resolution = "the hotfix works"
        _ = await self.call(IntakeRPC.resolve, resolve)
        await pause()
        guard random.chance(0.8) else { return }
        var close = Support_Intake_V1_CloseRequest()
        close.incidentID = id
        close.contactEmail = "ann@acme.example"
        close.reason.kind = .resolved
        _ = await self.call(IntakeRPC.close, close)
    }

    /// Calls intake until it answers: a fault (the service down, a lost
    /// answer) is retried; a domain refusal (a step the incident no longer
    /// allows, e.g. closed by the customer timeout meanwhile) is counted and
    /// ends the step. An open is retried with the same idempotency key, so
    /// it is acknowledged exactly once.
    func call<Request, Response>(
        _ method: RPCMethod<Request, Response>, _ request: Request, metadata: Metadata = Metadata(), on client: RPCClient? = nil
    ) async -> Response? {
        let client = client ?? self.intake
        let giveUp = ContinuousClock.now + .seconds(120)
        var attempt = 0
        while ContinuousClock.now < giveUp {
            do {
                return try await client.call(method, request, timeout: .seconds(10), connectTimeout: .seconds(2), metadata: metadata)
            } catch let error as RPCError where ![.unavailable, .deadlineExceeded, .cancelled, .unknown, .aborted].contains(error.code) {
                // FAILED_PRECONDITION is expected: a step the incident no
                // longer allows (closed by the customer timeout meanwhile), or
                // a retried step that had been applied before its answer was
                // lost. Anything else (INTERNAL above all) is a finding.
                if error.code != .failedPrecondition {
                    self.state.withLock { $0.problems.append("\(method.name) refused: \(error)") }
                }
                self.state.withLock { $0.refusals += 1 }
                return nil
            } catch {
                attempt += 1
                self.state.withLock { $0.retries += 1 }
                try? await Task.sleep(for: .milliseconds(100 * min(attempt, 10)))
            }
        }
        self.state.withLock { $0.problems.append("\(method.name) never answered within 120 s") }
        return nil
    }

    // MARK: Faults and time

    /// SIGKILLs a random service every `killEvery` (±30 %), keeps it down a
    /// little, and restarts it.
    private func killRandomly(until deadline: ContinuousClock.Instant) async {
        var random = SeededRandom(seed: self.options.seed ^ 0xC4A0_5C4A_05)
        let every = self.options.killEvery
        while self.killing.withLock({ $0 }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: every * (0.7 + 0.6 * random.unit()))
            guard self.killing.withLock({ $0 }) else { break }
            let service = ServiceCluster.services[random.next(below: ServiceCluster.services.count)]
            let down = Duration.milliseconds(100 + random.next(below: 900))
            let status = await self.cluster.stop(service, signal: SIGKILL)
            if status != SIGKILL {
                self.state.withLock { $0.problems.append("\(service) had exited on its own (status \(status)) before it was killed") }
            }
            self.state.withLock { $0.kills[service, default: 0] += 1 }
            try? await Task.sleep(for: down)
            do {
                try await self.cluster.start(service)
            } catch {
                self.state.withLock { $0.problems.append("\(service) did not restart: \(error)") }
                return
            }
        }
    }

    /// Moves time forward in seeded steps while the incidents live, so
    /// warnings, breaches, escalations and customer timeouts happen under
    /// the faults; now and then a month at once.
    private func tick(until deadline: ContinuousClock.Instant) async {
        var random = SeededRandom(seed: self.options.seed ^ 0x71C_C10C)
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1000 + random.next(below: 2000)))
            let seconds = random.chance(0.02) ? 32 * 86_400 : 300 + random.next(below: 3 * 3600)
            await self.advanceClock(by: seconds)
        }
    }

    /// Sets every clock to the next target. A kill during the call leaves
    /// some clocks moved and some not: setting the same absolute time again
    /// (never "advance" again) converges them.
    private func advanceClock(by seconds: Int) async {
        let target = self.state.withLock { state -> Date in
            state.clockTarget += TimeInterval(seconds)
            state.clockSteps += 1
            return state.clockTarget
        }
        var attempt = 0
        while true {
            if let result = try? await self.cluster.supportctl("clock", "set", target.rfc3339Z, "--timeout", "2s"), result.status == 0 { return }
            attempt += 1
            self.state.withLock { $0.retries += 1 }
            if attempt > 600 {
                self.state.withLock { $0.problems.append("the clocks never reached \(target.rfc3339Z)") }
                return
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Waits until every outbox is empty twice in a row a second apart.
    private func waitForQuiet(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        var quietRounds = 0
        while ContinuousClock.now < deadline {
            if (try? await self.outboxDepths().values.allSatisfy({ $0 == 0 })) == true {
                quietRounds += 1
                if quietRounds >= 2 { return true }
            } else {
                quietRounds = 0
            }
            try? await Task.sleep(for: .seconds(1))
        }
        return false
    }

    private func outboxDepths() async throws -> [String: Int64] {
        var depths: [String: Int64] = [:]
        for service in ServiceCluster.services {
            depths[service] = Int64(try await self.cluster.client(service).call(HealthRPC.status, .init(), timeout: .seconds(5)).outboxDepth)
        }
        return depths
    }

    // MARK: Invariants

    private func database(_ service: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: self.cluster.runtime.file("\(service).sqlite"), configuration: configuration)
    }

    private func outbox(_ service: String) throws -> [Support_Events_V1_Event] {
        try self.database(service).read { db in
            try Data.fetchAll(db, sql: "SELECT payload FROM outbox_event ORDER BY position")
        }.map { try Support_Events_V1_Event(serializedBytes: $0) }
    }

    private func inbox(_ service: String) throws -> [String] {
        try self.database(service).read { db in try String.fetchAll(db, sql: "SELECT event_id FROM inbox_event") }
    }

    func check() async throws -> [Invariant] {
        var invariants: [Invariant] = []
        let acknowledged = self.state.withLock { $0.acknowledged }

        // Nothing crashed on its own, by each process's exit status and
        // signal (issue 21): every process that ended was one the driver
        // killed, ended by that signal, and every service is still running.
        // The logs' "Fatal error" and backtraces are context only: a
        // precondition failure or a signal need not write one.
        var dead: [String] = []
        for service in ServiceCluster.services {
            guard let pid = self.cluster.pid(service), kill(pid, 0) == 0 else { dead.append(service); continue }
        }
        let ended = self.cluster.terminations()
        let unexpected = ended.filter { !$0.expected }
        let fatal = ServiceCluster.services.filter {
            let log = try? String(contentsOfFile: self.cluster.logPath($0), encoding: .utf8)
            return log?.contains("Fatal error") == true || log?.contains("Program crashed") == true
        }
        let crashed = !unexpected.isEmpty || !dead.isEmpty
        invariants.append(Invariant(
            name: "no service crashed", holds: !crashed,
            detail: crashed
                ? "unexpected ends: \(unexpected.prefix(5).map(\.description).joined(separator: "; ")); not running: \(dead)"
                    + (fatal.isEmpty ? "" : "; a fatal error or backtrace in the logs of \(fatal)")
                : "all four running; the \(ended.count) processes that ended were the driver's kills, each by its signal"
        ))
        let problems = self.state.withLock { $0.problems }
        invariants.append(Invariant(
            name: "the driver saw no unexpected failure", holds: problems.isEmpty,
            detail: problems.isEmpty ? "every call answered or was refused for a reason the incident's state explains" : problems.prefix(5).joined(separator: "; ")
        ))

        // 1. Every acknowledged incident exists in intake, the no-roster
        //    poison incident too.
        let intake = try self.database("intake")
        let stored = Set(try await intake.read { db in try String.fetchAll(db, sql: "SELECT id FROM incident") })
        let noRoster = self.state.withLock { $0.poison.noRosterIncidentID }
        let missing = (acknowledged + (noRoster.map { [$0] } ?? [])).filter { !stored.contains($0) }
        invariants.append(Invariant(
            name: "every acknowledged incident exists", holds: missing.isEmpty && !acknowledged.isEmpty,
            detail: "\(acknowledged.count) acknowledged\(noRoster.map { " and the poison incident \($0)" } ?? ""), \(stored.count) in intake, \(missing.count) missing\(missing.isEmpty ? "" : ": \(missing.prefix(5))")"
        ))

        // 2. Every incident has its SLA cycles: one at the open and one more
        //    per answer from the customer that brought it back to the
        //    vendor's side (R-SLA-5, R-SLA-7), numbered without gaps. Info
        //    provided while the incident is already on the vendor's side only
        //    adds to the conversation: no new cycle.
        let intakeEvents = try self.outbox("intake")
        let answers = Dictionary(grouping: intakeEvents.filter { event in
            guard case .infoProvided = event.payload else { return false }
            return event.incidentSnapshot?.previousSide == .customer
        }, by: \.incidentID).mapValues(\.count)
        let cycles = try await self.database("sla-timer").read { db in
            Dictionary(grouping: try Row.fetchAll(db, sql: "SELECT incident_id, number FROM cycle"), by: { $0[0] as String }).mapValues { $0.map { $0[1] as Int }.sorted() }
        }
        var badCycles: [String] = []
        for id in stored.sorted() {
            let numbers = cycles[id] ?? []
            let expected = 1 + (answers[id] ?? 0)
            if numbers != Array(1...max(1, numbers.count)) || numbers.count != expected {
                badCycles.append("\(id) has cycles \(numbers), expected 1...\(expected)")
            }
        }
        invariants.append(Invariant(
            name: "every incident has its SLA cycles", holds: badCycles.isEmpty,
            detail: badCycles.isEmpty ? "\(stored.count) incidents, \(cycles.values.map(\.count).reduce(0, +)) cycles" : "\(badCycles.count) wrong: \(badCycles.prefix(5))"
        ))

        // 3. R-ESC-3: every SLABreached produced exactly one escalation. A
        //    breach on an incident already resolved or closed, or already at
        //    the top level, escalates nothing (EscalationEngine).
        let slaEvents = try self.outbox("sla-timer")
        let breaches = slaEvents.compactMap { event -> (Support_Events_V1_Event, Support_Events_V1_SLABreached)? in
            if case .slaBreached(let breach) = event.payload { return (event, breach) }
            return nil
        }
        let breachesPerCycle = Dictionary(grouping: breaches, by: { $0.1.cycle.cycleID }).mapValues(\.count)
        let escalationRows = try self.database("escalation").read { db in
            try Row.fetchAll(db, sql: "SELECT sla_cycle_id, COUNT(*) FROM escalation WHERE sla_cycle_id IS NOT NULL GROUP BY sla_cycle_id")
        }
        let escalationsPerCycle = Dictionary(uniqueKeysWithValues: escalationRows.map { ($0[0] as String, $0[1] as Int) })
        let escalationEvents = try self.outbox("escalation")
        let finishedAt = Dictionary(
            intakeEvents.compactMap { event -> (String, Date)? in
                switch event.payload {
                case .resolved, .closed: return (event.incidentID, event.occurredAt.date)
                default: return nil
                }
            }, uniquingKeysWith: { min($0, $1) }
        )
        var excused = 0
        var excluded: [String] = []
        var breachProblems: [String] = []
        for (event, breach) in breaches {
            let id = breach.cycle.cycleID
            if breachesPerCycle[id, default: 0] != 1 { breachProblems.append("cycle \(id) breached \(breachesPerCycle[id, default: 0]) times") }
            // The poison incident's office has no roster of its own and its
            // TAM is on none: escalation applies its breach as far as it
            // can and flags it (issue 23: missing staff never blocks a
            // stream), so it escalates once like every other, flagged.
            if event.incidentID == noRoster {
                excluded.append(event.incidentID)
                let flagged = escalationEvents.contains {
                    guard $0.incidentID == event.incidentID, case .escalated(let escalated) = $0.payload else { return false }
                    return escalated.slaCycleID == id && !escalated.unstaffedReason.isEmpty
                }
                if escalationsPerCycle[id, default: 0] == 1 && !flagged {
                    breachProblems.append("\(event.incidentID) cycle \(breach.cycle.cycleNumber) escalated without the missing staff flagged")
                }
            }
            switch escalationsPerCycle[id, default: 0] {
            case 1: continue
            case 0:
                let levelsBefore = escalationEvents.filter {
                    guard $0.incidentID == event.incidentID, case .escalated(let escalated) = $0.payload else { return false }
                    return escalated.toLevel.rawValue >= 3 && $0.occurredAt.date <= event.occurredAt.date
                }
                if !levelsBefore.isEmpty || (finishedAt[event.incidentID].map { $0 <= event.occurredAt.date } ?? false) {
                    excused += 1
                } else {
                    breachProblems.append("\(event.incidentID) cycle \(breach.cycle.cycleNumber) breached without an escalation")
                }
            case let count: breachProblems.append("\(event.incidentID) cycle \(breach.cycle.cycleNumber) escalated \(count) times")
            }
        }
        invariants.append(Invariant(
            name: "every SLABreached produced exactly one escalation (R-ESC-3)", holds: breachProblems.isEmpty && !breaches.isEmpty,
            detail: "\(breaches.count) breaches, \(escalationsPerCycle.values.reduce(0, +)) breach escalations, \(excused) on incidents already finished or at level 3"
                + (excluded.isEmpty ? "" : ", \(excluded.count) of the poison incident \(excluded[0]) (office \(Self.noRosterOffice) has no roster: escalated and flagged, not parked)")
                + (breachProblems.isEmpty ? "" : "; \(breachProblems.count) wrong: \(breachProblems.prefix(5))")
        ))

        // 4. Every event reached each subscriber exactly once (the inbox's
        //    primary key) and produced its messages exactly once.
        var deliveryProblems: [String] = []
        let subscribers = ["intake": ["sla-timer", "escalation", "notifier"], "sla-timer": ["intake", "escalation", "notifier"], "escalation": ["notifier"]]
        let produced = ["intake": intakeEvents, "sla-timer": slaEvents, "escalation": escalationEvents]
        var inboxes: [String: Set<String>] = [:]
        for service in ServiceCluster.services { inboxes[service] = Set(try self.inbox(service)) }
        for (producer, events) in produced {
            for subscriber in subscribers[producer]! {
                let missed = events.filter { !inboxes[subscriber]!.contains($0.eventID) }
                if !missed.isEmpty { deliveryProblems.append("\(subscriber) never received \(missed.count) of \(producer)'s \(events.count) events") }
            }
        }
        let messages = try await self.database("notifier").read { db in
            try Row.fetchAll(db, sql: "SELECT incident_id, template, dedup_key, state FROM message").map { ($0[0] as String, $0[1] as String, $0[2] as String, $0[3] as Int) }
        }
        let keys = Dictionary(grouping: messages, by: { $0.2 }).filter { $0.value.count > 1 }
        if !keys.isEmpty { deliveryProblems.append("\(keys.count) dedup keys used twice") }
        let acknowledgements = Dictionary(grouping: messages.filter { $0.1 == "incident-opened" }, by: { $0.0 }).mapValues(\.count)
        let wrongAcks = stored.filter { acknowledgements[$0] != 1 }
        if !wrongAcks.isEmpty {
            deliveryProblems.append("\(wrongAcks.count) incidents without exactly one acknowledgement: \(wrongAcks.sorted().prefix(5).map { "\($0)×\(acknowledgements[$0] ?? 0)" })")
        }
        let breachAlerts = Set(messages.filter { $0.1 == "sla-breached" }.map { String($0.2.split(separator: "|").first ?? "") })
        let silentBreaches = breaches.filter { !breachAlerts.contains($0.0.eventID) }
        if !silentBreaches.isEmpty { deliveryProblems.append("\(silentBreaches.count) breaches without an alert") }
        let escalationNotices = Set(messages.filter { $0.1 == "escalated" }.map { String($0.2.split(separator: "|").first ?? "") })
        let escalatedEvents = escalationEvents.filter { if case .escalated = $0.payload { true } else { false } }
        let silentEscalations = escalatedEvents.filter { !escalationNotices.contains($0.eventID) }
        if !silentEscalations.isEmpty { deliveryProblems.append("\(silentEscalations.count) escalations without a notice") }
        let pending = messages.filter { $0.3 == Support_Notifier_V1_MessageState.pending.rawValue }.count
        invariants.append(Invariant(
            name: "every event produced its messages exactly once", holds: deliveryProblems.isEmpty,
            detail: "\(intakeEvents.count + slaEvents.count + escalationEvents.count) events delivered to every subscriber once; \(messages.count) messages, unique dedup keys, \(stored.count) acknowledgements, \(breaches.count) breach alerts, \(escalatedEvents.count) escalation notices, \(pending) still pending"
                + (deliveryProblems.isEmpty ? "" : "; wrong: \(deliveryProblems.joined(separator: "; "))")
        ))

        // 6. Exactly the injected poison events are parked, where they were
        //    delivered, with a reason that says why: every other event can
        //    be applied, so anything else parked is an early or retryable
        //    event taken for a bad one (issue 21).
        invariants.append(try await self.checkParked(breaches: breaches.map(\.0)))

        // 5. No outbox row undelivered.
        let depths = try await self.outboxDepths()
        invariants.append(Invariant(
            name: "no outbox row undelivered", holds: depths.values.allSatisfy { $0 == 0 },
            detail: "outbox depth " + depths.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        ))
        return invariants
    }
}

/// SplitMix64: small, fast, and the same sequence for the same seed everywhere.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next(below bound: Int) -> Int { Int(self.next() % UInt64(bound)) }
    public mutating func unit() -> Double { Double(self.next() >> 11) / Double(1 << 53) }
    public mutating func chance(_ probability: Double) -> Bool { self.unit() < probability }
}

extension Date {
    /// `2026-12-07T00:00:00Z`, what `--fake-clock` and `clock set` take.
    var rfc3339Z: String { self.formatted(.iso8601) }
}

extension Duration {
    /// Parses `300`, `90s`, `5m`, `2m30s`, `1h`.
    public static func parse(_ text: String) -> Duration? {
        var total: Int64 = 0
        var number = ""
        for character in text {
            if character.isNumber { number.append(character); continue }
            guard let value = Int64(number) else { return nil }
            switch character {
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            default: return nil
            }
            number = ""
        }
        if !number.isEmpty {
            guard let value = Int64(number) else { return nil }
            total += value
        }
        return total > 0 ? .seconds(total) : nil
    }
}
