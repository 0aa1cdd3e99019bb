import BusinessCalendar
import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import Escalation

/// A copy of the shipped configuration whose roster.json is `edit`ed.
func configCopy(_ directory: TemporaryDirectory, editRoster edit: (inout [String: Any]) -> Void) throws -> URL {
    let source = URL(fileURLWithPath: InProcessService.configDirectory)
    let target = URL(fileURLWithPath: directory.file("config"))
    try FileManager.default.copyItem(at: source, to: target)
    let url = target.appendingPathComponent("roster.json")
    var root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    edit(&root)
    try JSONSerialization.data(withJSONObject: root).write(to: url)
    return target
}

/// One roster owned by escalation, published to notifier; missing staff
/// flagged, never refused (issue 23, R-ORG-4, R-ESC-3).
@Suite("Roster")
struct RosterTests {
    @Test("issue 23: seeding publishes a RosterChanged per roster (the fallback included) once; a second start publishes nothing")
    func seedPublishes() throws {
        let harness = try EscalationHarness()
        let outbox = EventOutbox(producer: "escalation")
        let published = { try harness.database.writer.read { db in try outbox.events(stream: "", in: db) } }
        let first = try published().compactMap { event -> Support_Escalation_V1_Roster? in
            guard case .rosterChanged(let changed) = event.payload else { return nil }
            return changed.roster
        }
        #expect(Set(first.map(\.office)) == ["tokyo", "*"])
        let tokyo = try #require(first.first { $0.office == "tokyo" })
        #expect(tokyo.tams.map(\.id) == ["tam.sato", "tam.kobayashi"] && tokyo.tam.id == "tam.sato")
        #expect(tokyo.specialistGroups.map(\.id) == ["definitions", "patch"] && tokyo.specialistGroups[0].hours == .roundTheClock)
        #expect(tokyo.version == 1)
        try RosterSeed.seed(
            from: URL(fileURLWithPath: InProcessService.configDirectory), into: harness.database, outbox: outbox, at: jst("2026-12-02T00:00:00")
        )
        #expect(try published().count == first.count)
    }

    @Test("issue 23: a roster stored before rosters were published is published at the next start")
    func upgradePublishes() throws {
        let harness = try EscalationHarness()
        try harness.database.writer.write { db in
            try db.execute(sql: "DELETE FROM outbox_event")
            try db.execute(sql: "UPDATE roster SET published_version = 0 WHERE office = 'tokyo'")
        }
        let outbox = EventOutbox(producer: "escalation")
        try RosterSeed.seed(from: URL(fileURLWithPath: InProcessService.configDirectory), into: harness.database, outbox: outbox, at: jst("2026-12-02T00:00:00"))
        let events = try harness.database.writer.read { db in try outbox.events(stream: "", in: db) }
        #expect(events.count == 1)
        guard case .rosterChanged(let changed) = events.first?.payload else { Issue.record("not a RosterChanged"); return }
        #expect(changed.roster.office == "tokyo")
    }

    @Test("issue 23: an older roster's single tam is read as its one TAM; the fallback needs its duty address")
    func parsing() throws {
        let legacy = #"{"rosters": [{"office": "tokyo", "tam": {"id": "t", "email": "t@v.example"}, "supportLead": {"id": "l", "email": "l@v.example"}, "businessAccountManager": {"id": "b", "email": "b@v.example"}}]}"#
        let parsed = try RosterSeed.parse(Data(legacy.utf8))
        #expect(parsed.first?.tams.map(\.id) == ["t"] && parsed.first?.tam.id == "t")
        let noDuty = #"{"rosters": [], "fallback": {"supportLead": {"id": "l", "email": "l@v.example"}}}"#
        let error = #expect(throws: RuntimeError.self) { try RosterSeed.parse(Data(noDuty.utf8)) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("fallback"))
        let fallback = #"{"rosters": [], "fallback": {"fallbackDuty": {"id": "d", "email": "d@v.example"}}}"#
        #expect(try RosterSeed.parse(Data(fallback.utf8)).map(\.office) == ["*"])
    }

    @Test("issue 23: --check-config names an office of offices.json with neither a roster nor a fallback")
    func checkConfigNamesBareOffice() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try configCopy(directory) { $0.removeValue(forKey: "fallback") }
        let error = #expect(throws: RuntimeError.self) { try RosterSeed.check(config, offices: ["tokyo", "new-york"]) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("new-york"))
        let shipped = try RosterSeed.check(URL(fileURLWithPath: InProcessService.configDirectory), offices: ["tokyo", "new-york"])
        #expect(shipped.contains { $0.contains("new-york use the fallback roster") })
    }

    @Test("issue 23, R-ESC-3: a New York breach with no roster and no fallback still escalates: level 2, nobody named, the gap recorded and published")
    func noRosterIsFlaggedNotRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try EscalationHarness(config: try configCopy(directory) { $0.removeValue(forKey: "fallback") })
        harness.snapshot.office = "new-york"
        harness.snapshot.certificateID = "C-NY"
        harness.snapshot.tam = "tam.smith"
        try harness.incident(state: .new, at: "2026-12-05T03:00:00")
        try harness.breach(cycle: "c-1", at: "2026-12-05T03:30:00")
        let record = try #require(try harness.records.first)
        #expect(record.toLevel == .supportLead && record.trigger == .slaBreach)
        #expect(!record.hasResponsible && !record.hasLevelOwner)
        #expect(record.unstaffedReason.contains("new-york has no roster and there is no fallback roster"))
        let events = try harness.database.writer.read { db in try EventOutbox(producer: "escalation").events(stream: harness.incident, in: db) }
        guard case .escalated(let escalated) = events.last?.payload else { Issue.record("no Escalated"); return }
        #expect(escalated.unstaffedReason == record.unstaffedReason)
        // Shown as such; counted by the metric's query.
        let status = try harness.database.writer.read { db in try harness.engine.status(harness.incident, at: jst("2026-12-05T04:00:00"), in: db) }
        #expect(status.currentLevel == .supportLead && status.unstaffedReason.contains("no roster"))
        #expect(try harness.database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM escalation WHERE unstaffed") } == 1)
    }

    @Test("issue 23, R-ORG-4: New York uses the fallback roster: its support lead owns level 2, its duty manager stands in for a TAM it does not know, flagged")
    func fallbackRoster() throws {
        let harness = try EscalationHarness()
        harness.snapshot.office = "new-york"
        harness.snapshot.certificateID = "C-NY"
        harness.snapshot.tam = "tam.smith"
        try harness.incident(state: .new, at: "2026-12-05T03:00:00")
        try harness.breach(cycle: "c-1", at: "2026-12-05T03:30:00")
        let record = try #require(try harness.records.first)
        #expect(record.levelOwner.id == "lead.jones" && record.responsible.id == "lead.jones")
        #expect(record.tamContact.id == "dm.miller" && record.dutyManagerReplacedTam)
        #expect(record.unstaffedReason.contains("tam.smith is not a TAM"))
    }

    @Test("R-ORG-4: a Tokyo breach with the shipped roster is fully staffed, nothing flagged")
    func tokyoFullyStaffed() throws {
        let harness = try EscalationHarness()
        try harness.incident(state: .new, at: "2026-12-07T11:00:00")
        try harness.breach(cycle: "c-1", at: "2026-12-07T11:30:00")
        let record = try #require(try harness.records.first)
        #expect(record.levelOwner.id == "lead.tanaka" && record.tamContact.id == "tam.sato" && record.unstaffedReason.isEmpty)
    }
}
