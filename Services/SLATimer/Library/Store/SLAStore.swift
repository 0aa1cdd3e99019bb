import Foundation
import GRDB
import ServiceKit
import SupportProto
import SwiftProtobuf

typealias Cycle = Support_Sla_V1_Cycle
typealias Timer = Support_Sla_V1_Timer
typealias Snapshot = Support_Events_V1_IncidentSnapshot

/// Reads and writes sla-timer's rows inside a caller's transaction.
enum SLAStore {
    struct View {
        var snapshot: Snapshot
        var sideSince: Date
        var cycles: Int
    }

    /// The incident's view: intake's latest snapshot (``IntakeProjection``)
    /// with sla-timer's own columns.
    static func view(_ incidentID: String, in db: Database) throws -> View? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT p.document, v.side_since, v.cycles FROM incident_view v JOIN incident_projection p USING (incident_id)
                WHERE v.incident_id = ?
                """),
            arguments: [incidentID]
        ) else {
            return nil
        }
        return View(
            snapshot: try Snapshot(serializedBytes: row["document"] as Data),
            sideSince: Date(timeIntervalSince1970: row["side_since"]),
            cycles: row["cycles"]
        )
    }

    /// Saves sla-timer's own columns; the snapshot is
    /// ``IntakeProjection``'s to keep.
    static func save(_ view: View, incidentID: String, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO incident_view (incident_id, side_since, cycles) VALUES (?, ?, ?)
                ON CONFLICT(incident_id) DO UPDATE SET side_since = excluded.side_since, cycles = excluded.cycles
                """,
            arguments: [incidentID, view.sideSince.timeIntervalSince1970, view.cycles]
        )
    }

    static func cycle(_ id: String, in db: Database) throws -> Cycle? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM cycle WHERE id = ?"), arguments: [id]).map { try Cycle(serializedBytes: $0) }
    }

    static func runningCycle(of incidentID: String, in db: Database) throws -> Cycle? {
        try Data.fetchOne(
            db.cachedStatement(sql: "SELECT document FROM cycle WHERE incident_id = ? AND state = ? ORDER BY number DESC LIMIT 1"),
            arguments: [incidentID, Support_Sla_V1_CycleState.running.rawValue]
        ).map { try Cycle(serializedBytes: $0) }
    }

    /// The latest cycle, running or not.
    static func lastCycle(of incidentID: String, in db: Database) throws -> Cycle? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT document FROM cycle WHERE incident_id = ? ORDER BY number DESC LIMIT 1"), arguments: [incidentID])
            .map { try Cycle(serializedBytes: $0) }
    }

    static func cycles(of incidentID: String, in db: Database) throws -> [Cycle] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT document FROM cycle WHERE incident_id = ? ORDER BY number"), arguments: [incidentID])
            .map { try Cycle(serializedBytes: $0) }
    }

    static func save(_ cycle: Cycle, in db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO cycle (id, incident_id, number, state, due_at, office, certificate_id, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET state = excluded.state, due_at = excluded.due_at, document = excluded.document
                """,
            arguments: [
                cycle.id, cycle.incidentID, cycle.number, cycle.state.rawValue, cycle.dueAt.date.timeIntervalSince1970,
                cycle.office, cycle.certificateID, try cycle.serializedBytes() as Data,
            ]
        )
    }

    /// Appends `entry` to a cycle's log and, when given, sets its state,
    /// without reading or re-encoding the stored document.
    ///
    /// Protobuf defines a message's serialized bytes followed by more as the
    /// two merged: a repeated field's entries are appended, a singular
    /// field's last value wins. So the document followed by the encoding of
    /// `Cycle { state, events: [entry] }` decodes as the cycle with `state`
    /// and one more event. A warning or breach writes a few dozen bytes where
    /// ``save(_:in:)`` encoded the whole cycle and upserted it (issue 9: a
    /// third of a breach's cost). The next ``save(_:in:)`` writes the
    /// document out canonically again.
    static func append(_ entry: Support_Sla_V1_CycleEvent, state: Support_Sla_V1_CycleState? = nil, to cycleID: String, in db: Database) throws {
        var delta = Cycle()
        delta.events = [entry]
        guard let state else {
            // The state column, and its index, left alone.
            try db.executeCached(sql: "UPDATE cycle SET document = document || ? WHERE id = ?", arguments: [try delta.serializedBytes() as Data, cycleID])
            return
        }
        delta.state = state
        try db.executeCached(
            sql: "UPDATE cycle SET state = ?, document = document || ? WHERE id = ?",
            arguments: [state.rawValue, try delta.serializedBytes() as Data, cycleID]
        )
    }

    static func cycles(state: Support_Sla_V1_CycleState, dueFrom: Date, dueBefore: Date, office: String, certificate: String, offset: Int, limit: Int, in db: Database) throws -> [Cycle] {
        try Data.fetchAll(
            db.cachedStatement(sql: """
                SELECT document FROM cycle WHERE state = ? AND due_at >= ? AND due_at < ?
                AND (? = '' OR office = ?) AND (? = '' OR certificate_id = ?)
                ORDER BY due_at, id LIMIT ? OFFSET ?
                """),
            arguments: [
                state.rawValue, dueFrom.timeIntervalSince1970, dueBefore.timeIntervalSince1970,
                office, office, certificate, certificate, limit, offset,
            ]
        ).map { try Cycle(serializedBytes: $0) }
    }

    // MARK: Timers

    /// The armed state, written into SQL as a literal. The deadline queue is
    /// a partial index `WHERE state = 1`: a query naming the literal is
    /// planned on it once; with a bound parameter SQLite would plan without
    /// it, or, once it has seen the value, prepare the statement again at
    /// every binding (decision 13).
    static let armed = Support_Sla_V1_TimerState.armed.rawValue

    static func arm(_ timer: Timer, in db: Database) throws {
        let sequence = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(sequence), 0) + 1 FROM timer"))!
        var timer = timer
        timer.id = "T\(sequence)"
        timer.state = .armed
        try db.executeCached(
            sql: "INSERT INTO timer (id, kind, incident_id, cycle_id, due_at, state, sequence, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                timer.id, timer.kind.rawValue, timer.incidentID, timer.cycleID.isEmpty ? nil : timer.cycleID,
                timer.dueAt.date.timeIntervalSince1970, timer.state.rawValue, sequence, try timer.serializedBytes() as Data,
            ]
        )
    }

    /// Cancels the incident's armed timers of `kinds` (of one cycle, if given).
    static func cancelTimers(of incidentID: String, kinds: [Support_Sla_V1_TimerKind], cycle: String? = nil, in db: Database) throws {
        // The kinds as a bit set: one statement whatever their number.
        let kindBits = kinds.reduce(0) { $0 | (1 << $1.rawValue) }
        // The armed state is a literal: compared with a bound parameter,
        // SQLite sees the partial index `WHERE state = 1` may apply and
        // prepares the statement again at every binding (issue 9: a
        // breach then cost more than before the index).
        try db.executeCached(sql: Self.cancelSQL, arguments: [Support_Sla_V1_TimerState.cancelled.rawValue, incidentID, cycle, cycle, kindBits])
    }

    static let cancelSQL = """
        UPDATE timer SET state = ? WHERE incident_id = ? AND state = \(armed) AND (? IS NULL OR cycle_id = ?) AND (? >> kind) & 1 = 1
        """

    /// Records a timer's new state (and when it fired). Only the columns
    /// change: the document stays as armed, and ``timer(_:)`` reads the
    /// state from them (issue 9: re-encoding the document was a tenth of a
    /// breach's cost).
    static func update(_ timer: Timer, in db: Database) throws {
        try db.executeCached(
            sql: "UPDATE timer SET state = ?, fired_at = ? WHERE id = ?",
            arguments: [timer.state.rawValue, timer.hasFiredAt ? timer.firedAt.date.timeIntervalSince1970 : nil, timer.id]
        )
    }

    /// A timer as stored: its document as armed, with the state and fired
    /// time from their columns.
    static func timer(_ row: Row) throws -> Timer {
        var timer = try Timer(serializedBytes: row[0] as Data)
        timer.state = Support_Sla_V1_TimerState(rawValue: row[1]) ?? .unspecified
        if let firedAt = row[2] as Double? { timer.firedAt = .init(date: Date(timeIntervalSince1970: firedAt)) }
        return timer
    }

    /// The columns ``timer(_:)`` reads, in its order.
    static let timerColumns = "document, state, fired_at"

    /// The earliest armed timer due at or before `now`, in due then arm order.
    static func nextDueTimer(by now: Date, in db: Database) throws -> Timer? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.timerColumns) FROM timer WHERE state = \(Self.armed) AND due_at <= ? ORDER BY due_at, sequence LIMIT 1"),
            arguments: [now.timeIntervalSince1970]
        ).map(Self.timer)
    }

    /// Up to `limit` armed timers due at or before `now`, in due then arm order.
    static func dueTimers(by now: Date, limit: Int, in db: Database) throws -> [Timer] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT \(Self.timerColumns) FROM timer WHERE state = \(Self.armed) AND due_at <= ? ORDER BY due_at, sequence LIMIT ?"),
            arguments: [now.timeIntervalSince1970, limit]
        ).map(Self.timer)
    }

    /// Whether the timer is still armed.
    static func isArmed(_ id: String, in db: Database) throws -> Bool {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT state FROM timer WHERE id = ?"), arguments: [id]) == Self.armed
    }

    /// When the next armed timer falls due.
    static func nextDue(in db: Database) throws -> Date? {
        try Double.fetchOne(db.cachedStatement(sql: "SELECT due_at FROM timer WHERE state = \(Self.armed) ORDER BY due_at LIMIT 1")).map { Date(timeIntervalSince1970: $0) }
    }

    static func timers(of incidentID: String, in db: Database) throws -> [Timer] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.timerColumns) FROM timer WHERE incident_id = ? ORDER BY sequence"), arguments: [incidentID])
            .map(Self.timer)
    }
}
