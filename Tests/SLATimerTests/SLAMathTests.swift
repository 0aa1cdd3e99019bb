import BusinessCalendar
import Foundation
import SLATimer
import Testing
import TestSupport

func jst(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    return formatter.date(from: text + "+09:00")!
}

let offices = try! OfficeDirectory.load(configDirectory: URL(fileURLWithPath: InProcessService.configDirectory))
let tokyo = offices["tokyo"]!

@Suite("SLA arithmetic")
struct SLAMathTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        let name: String
        let severity: Int
        let received: String
        let deferred: Bool
        let started: String
        let due: String
        var testDescription: String { self.name }
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "R-SLA-2: severity 3 on Friday 17:00 is due Monday 15:00", severity: 3, received: "2026-12-04T17:00:00", deferred: false, started: "2026-12-04T17:00:00", due: "2026-12-07T15:00:00"),
        Scenario(name: "R-SLA-2: severity 4 on Friday 17:00 is due Monday 17:00", severity: 4, received: "2026-12-04T17:00:00", deferred: false, started: "2026-12-04T17:00:00", due: "2026-12-07T17:00:00"),
        Scenario(name: "R-ORG-5: severity 3 on Friday 2027-01-08 16:00 skips the weekend and Coming-of-Age Day", severity: 3, received: "2027-01-08T16:00:00", deferred: false, started: "2027-01-08T16:00:00", due: "2027-01-12T14:00:00"),
        Scenario(name: "R-SLA-3: severity 1 by portal on Saturday 03:00 starts at Monday's opening", severity: 1, received: "2026-12-05T03:00:00", deferred: true, started: "2026-12-07T10:00:00", due: "2026-12-07T10:30:00"),
        Scenario(name: "R-SLA-3: severity 1 by phone on Saturday 03:00 is due 03:30", severity: 1, received: "2026-12-05T03:00:00", deferred: false, started: "2026-12-05T03:00:00", due: "2026-12-05T03:30:00"),
        Scenario(name: "R-SLA-2: severity 2 runs on the 24×7 clock through the weekend", severity: 2, received: "2026-12-05T22:00:00", deferred: false, started: "2026-12-05T22:00:00", due: "2026-12-06T02:00:00"),
    ]

    @Test("Due times of the program's acceptance scenarios (Asia/Tokyo)", arguments: scenarios)
    func dueTimes(_ scenario: Scenario) throws {
        let plan = try SLAMath.plan(
            policy: .program, office: tokyo, tier: "enterprise", severity: scenario.severity,
            receivedAt: jst(scenario.received), startsAtNextOpening: scenario.deferred
        )
        #expect(plan.startedAt == jst(scenario.started))
        #expect(plan.dueAt == jst(scenario.due))
    }

    @Test("R-SLA-3 applies to severity 1 only, out of hours, by a channel other than phone")
    func phoneAdviceDecision() {
        #expect(SLAMath.startsAtNextOpening(severity: 1, channel: .portal, receivedAt: jst("2026-12-05T03:00:00"), office: tokyo))
        #expect(!SLAMath.startsAtNextOpening(severity: 1, channel: .phone, receivedAt: jst("2026-12-05T03:00:00"), office: tokyo))
        #expect(!SLAMath.startsAtNextOpening(severity: 2, channel: .portal, receivedAt: jst("2026-12-05T03:00:00"), office: tokyo))
        #expect(!SLAMath.startsAtNextOpening(severity: 1, channel: .portal, receivedAt: jst("2026-12-04T11:00:00"), office: tokyo))
    }

    @Test("Warnings at 75% of the target and 15 minutes before due, counted on the cycle's clock")
    func warnings() throws {
        let plan = try SLAMath.plan(
            policy: .program, office: tokyo, tier: "enterprise", severity: 3, receivedAt: jst("2026-12-04T17:00:00"), startsAtNextOpening: false
        )
        let warnings = SLAMath.warnings(policy: .program, office: tokyo, plan: plan)
        // 75% of 6 business hours = 4.5 h: 1 h on Friday, 3.5 h on Monday.
        #expect(warnings.map(\.at) == [jst("2026-12-07T13:30:00"), jst("2026-12-07T14:45:00")])
    }

    @Test("R-SLA-6: one calendar month in the office's time zone; Jan 31 + 1 month is the end of February")
    func customerTimeout() {
        let utc = TimeZone(identifier: "UTC")!
        let january = ISO8601DateFormatter().date(from: "2027-01-31T10:00:00Z")!
        #expect(SLAMath.customerTimeout(sideSince: january, timeZone: utc).closes == ISO8601DateFormatter().date(from: "2027-02-28T10:00:00Z"))
        let leap = ISO8601DateFormatter().date(from: "2028-01-31T10:00:00Z")!
        #expect(SLAMath.customerTimeout(sideSince: leap, timeZone: utc).closes == ISO8601DateFormatter().date(from: "2028-02-29T10:00:00Z"))
        let (warning, closes) = SLAMath.customerTimeout(sideSince: jst("2026-12-04T17:00:00"), timeZone: tokyo.timeZone)
        #expect(closes == jst("2027-01-04T17:00:00"))
        #expect(warning == jst("2026-12-28T17:00:00"))
    }

    @Test("The policy file loads and names a bad key")
    func policyFile() throws {
        let policy = try SLAPolicy.load(configDirectory: URL(fileURLWithPath: InProcessService.configDirectory))
        #expect(policy.target(tier: "standard", severity: 3) == SLAPolicy.program.target(tier: "standard", severity: 3))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Data(#"{"version":"x","targets":{"enterprise":{"1":{"minutes":30,"clock":"24x7"}}}}"#.utf8).write(to: URL(fileURLWithPath: directory.file("sla-policy.json")))
        let error = #expect(throws: SLAPolicyError.self) { try SLAPolicy.load(configDirectory: URL(fileURLWithPath: directory.path)) }
        #expect(error?.description.contains("targets.enterprise.2") == true)
    }

    @Test("A plan that cannot be made is explained in a sentence naming the policy file or office, not the Swift case")
    func planFailureWords() {
        let noTarget = "\(SLAMath.Failure.noTarget(tier: "gold", severity: 3))"
        #expect(noTarget.contains("sla-policy.json") && noTarget.contains("gold") && noTarget.contains("severity 3"), "\(noTarget)")
        #expect(!noTarget.contains("noTarget("))
        let neverOpen = "\(SLAMath.Failure.neverOpen(office: "tokyo"))"
        #expect(neverOpen.contains("office tokyo"), "\(neverOpen)")
        #expect(!neverOpen.contains("neverOpen("))
    }
}
