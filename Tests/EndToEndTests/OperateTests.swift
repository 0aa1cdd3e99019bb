import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// What an operator runs against the four real processes: metrics, the
/// textfile exporter, and backup → restore.
@Suite("Operate: metrics and backups", .serialized)
struct OperateTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("supportctl metrics shows calls by method and status, the outbox backlog and each service's own gauges; --metrics-textfile writes the same")
    func metrics() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        let textfile = cluster.runtime.file("intake.prom")
        for service in ServiceCluster.services where service != "intake" { try await cluster.start(service) }
        try await cluster.start("intake", extraArguments: ["--metrics-textfile", textfile, "--metrics-interval", "1"])
        try await SLAScenarioTests.register(cluster)
        let incident = try await SLAScenarioTests.open(cluster, severity: 2)
        // An unknown incident: a NOT_FOUND that must be counted as such.
        let missing = try await cluster.supportctl("incident", "show", "INC-999999")
        #expect(missing.status != 0)
        _ = try await SLAScenarioTests.clock(cluster, incident)

        let intake = try await cluster.supportctl("metrics", "intake")
        #expect(intake.status == 0, "\(intake.stderr)")
        #expect(intake.stdout.contains(#"supportdesk_rpc_calls_total{method="/support.intake.v1.Intake/OpenIncident",code="OK"} 1"#))
        #expect(intake.stdout.contains(#"supportdesk_rpc_calls_total{method="/support.intake.v1.Intake/GetIncident",code="NOT_FOUND"} 1"#))
        #expect(intake.stdout.contains(#"supportdesk_rpc_call_duration_seconds_count{method="/support.intake.v1.Intake/OpenIncident"} 1"#))
        #expect(intake.stdout.contains(#"supportdesk_incidents{state="new"} 1"#))
        #expect(intake.stdout.contains(#"supportdesk_outbox_depth{subscriber="sla-timer"}"#))

        let all = try await cluster.supportctl("metrics")
        #expect(all.status == 0, "\(all.stderr)")
        for service in ServiceCluster.services { #expect(all.stdout.contains("# service: \(service)\n")) }
        // R-SLA-1: the severity-2 cycle armed its two warnings and its breach.
        #expect(all.stdout.contains(#"supportdesk_sla_timers_armed{kind="breach"} 1"#))
        #expect(all.stdout.contains(#"supportdesk_sla_timers_armed{kind="warning"} 2"#))
        #expect(all.stdout.contains(#"supportdesk_escalations{trigger="breach"} 0"#))
        #expect(all.stdout.contains(#"supportdesk_messages{state="sent"}"#))

        let written = try await cluster.eventually { () -> String? in
            guard let data = FileManager.default.contents(atPath: textfile) else { return nil }
            let text = String(decoding: data, as: UTF8.self)
            return text.contains(#"supportdesk_incidents{state="new"} 1"#) ? text : nil
        }
        #expect(written != nil, "intake never wrote its metrics textfile with the open incident")
        let bad = try await cluster.supportctl("metrics", "billing")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("no service 'billing'"))
        await cluster.shutdown()
    }

    @Test("--check-config accepts the shipped configuration and names the file and key of a typo, for every service")
    func checkConfig() async throws {
        let shipped = InProcessService.configDirectory
        for service in ServiceCluster.services {
            let ok = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/\(service)", ["--check-config", "--config-dir", shipped])
            #expect(ok.status == 0, "\(service): \(ok.stderr)")
            #expect(ok.stdout.contains("offices.json"))
        }
        let broken = try TemporaryDirectory()
        defer { broken.remove() }
        try FileManager.default.removeItem(atPath: broken.path)
        try FileManager.default.copyItem(atPath: shipped, toPath: broken.path)
        let typos = [
            ("sla-timer", "sla-policy.json", "\"minutesBeforeDue\"", "\"minutesBeforDue\"", "sla-policy.json: warnings.minutesBeforDue: unknown key"),
            ("escalation", "roster.json", "\"supportLead\"", "\"supportLeed\"", "roster.json: rosters[0].supportLeed: unknown key"),
            ("notifier", "notifier.json", "\"priorityLine\"", "\"priorityLin\"", "notifier.json: priorityLin: unknown key"),
            ("intake", "offices.json", "\"timeZone\"", "\"timezone\"", "offices.json: offices[0].timezone"),
        ]
        for (service, file, good, bad, message) in typos {
            let path = "\(broken.path)/\(file)"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: good, with: bad).write(toFile: path, atomically: true, encoding: .utf8)
            let result = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/\(service)", ["--check-config", "--config-dir", broken.path])
            #expect(result.status == 1, "\(service) accepted a typo in \(file)")
            #expect(result.stderr.contains(message), "\(service): \(result.stderr)")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        // access.json is optional; when present every service checks it.
        try #"{"staff": {"groups": ["no-such-group-here"]}}"#.write(toFile: "\(broken.path)/access.json", atomically: true, encoding: .utf8)
        let access = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/intake", ["--check-config", "--config-dir", broken.path])
        #expect(access.status == 1)
        #expect(access.stderr.contains(#"access.json: staff.groups[0]: no group "no-such-group-here""#), "\(access.stderr)")
        try FileManager.default.copyItem(atPath: "\(shipped)/access.example.json", toPath: "\(broken.path)/access.json.tmp")
        let example = try String(contentsOfFile: "\(broken.path)/access.json.tmp", encoding: .utf8)
            .replacingOccurrences(of: "supportdesk-portal", with: "0").replacingOccurrences(of: "supportdesk-staff", with: "0")
            .replacingOccurrences(of: "supportdesk-admin", with: "0")
        try example.write(toFile: "\(broken.path)/access.json", atomically: true, encoding: .utf8)
        let valid = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/intake", ["--check-config", "--config-dir", broken.path])
        #expect(valid.status == 0, "the shipped example parses once its groups exist: \(valid.stderr)")
        #expect(valid.stdout.contains("access.json"))
    }

    @Test("An installed configuration of before issues 22 and 23 (flat templates, staff in notifier.json) is upgraded by deploy/upgrade-config and notifier accepts it, the operator's edits kept")
    func upgradeTemplates() async throws {
        let shipped = InProcessService.configDirectory
        let config = try TemporaryDirectory()
        defer { config.remove() }
        try FileManager.default.removeItem(atPath: config.path)
        try FileManager.default.copyItem(atPath: shipped, toPath: config.path)
        // The layout of before: the English templates directly in templates/,
        // one of them edited by the operator, and the retired closure mail.
        let templates = "\(config.path)/templates"
        try FileManager.default.removeItem(atPath: templates)
        try FileManager.default.createDirectory(atPath: templates, withIntermediateDirectories: true)
        for kind in ["incident-opened", "escalated", "sla-warning", "sla-breached", "sla-breach-withdrawn", "status-report", "quarterly-report", "customer-timeout-warning"] {
            try FileManager.default.copyItem(atPath: "\(shipped)/templates/en/\(kind).mustache", toPath: "\(templates)/\(kind).mustache")
        }
        let edited = "Subject: [{{incident}}] Received by ACME support\n\nWe have your request {{incident}}.\n"
        try edited.write(toFile: "\(templates)/incident-opened.mustache", atomically: true, encoding: .utf8)
        try "Subject: closed\n\nclosed\n".write(toFile: "\(templates)/customer-timeout-closed.mustache", atomically: true, encoding: .utf8)

        // And notifier.json as shipped before issue 23: a staff directory.
        let notifierJSON = "\(config.path)/notifier.json"
        var notifier = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: notifierJSON))) as? [String: Any])
        notifier["people"] = ["tam.sato": ["name": "Sato Haruka", "email": "tam.sato@vendor.example", "phone": "+81-3-0000-0101"]]
        notifier["offices"] = ["tokyo": ["supportLead": "lead.tanaka"]]
        try JSONSerialization.data(withJSONObject: notifier).write(to: URL(fileURLWithPath: notifierJSON))

        let before = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/notifier", ["--check-config", "--config-dir", config.path])
        #expect(before.status == 1, "notifier must refuse the old layout rather than mail without templates")
        let upgrade = try await ServiceCluster.run(Self.root.appendingPathComponent("deploy/upgrade-config").path, [config.path])
        #expect(upgrade.status == 0, "\(upgrade.stdout)\(upgrade.stderr)")
        let after = try await ServiceCluster.run("\(ServiceCluster.binDirectory)/notifier", ["--check-config", "--config-dir", config.path])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try String(contentsOfFile: "\(templates)/en/incident-opened.mustache", encoding: .utf8) == edited, "the operator's edit is kept")
        #expect(FileManager.default.fileExists(atPath: "\(templates)/ja/incident-opened.mustache"))
        #expect(FileManager.default.fileExists(atPath: "\(config.path)/templates.retired/customer-timeout-closed.mustache"))
        #expect(FileManager.default.fileExists(atPath: "\(notifierJSON).before-roster"), "the operator's file is kept")
        let again = try await ServiceCluster.run(Self.root.appendingPathComponent("deploy/upgrade-config").path, [config.path])
        #expect(again.status == 0 && again.stdout.isEmpty, "a second run changes nothing: \(again.stdout)")
    }

    static func mode(_ path: String) throws -> Int {
        try ((FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
    }

    @Test("supportctl backup while serving, then deploy/local/restore on stopped services brings back every incident, clock and message as of the backup")
    func backupAndRestore() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        let first = try await SLAScenarioTests.open(cluster, severity: 2)
        _ = try await SLAScenarioTests.clock(cluster, first)
        // Past the 75% warning of the 4-hour target (R-SLA-2): more messages.
        let advance = try await cluster.supportctl("clock", "advance", "3h30m")
        #expect(advance.status == 0, "\(advance.stderr)")
        let messagesAtBackup = try await cluster.eventually { () -> [String]? in
            let ids = try await NotifierScenarioTests.messages(cluster).filter { $0.incidentID == first }.map(\.id)
            return ids.count >= 2 ? ids : nil
        }
        let expectedMessages = try #require(messagesAtBackup, "notifier never wrote the acknowledgement and the warning")
        // The last deliveries made, the copy holds every message there will
        // be for what happened so far.
        try await cluster.drained()
        let allMessagesAtBackup = try await NotifierScenarioTests.messages(cluster).map(\.id).sorted()

        let directory = cluster.runtime.file("backup")
        let backup = try await cluster.supportctl("backup", "--to", directory)
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("restore with: deploy/local/restore"))
        for service in ServiceCluster.services {
            #expect(FileManager.default.fileExists(atPath: "\(directory)/\(service).sqlite"))
        }
        // Issue 21: no other local user reads the customers' data.
        #expect(try Self.mode(directory) == 0o700)
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
            #expect(try Self.mode("\(directory)/\(file)") == 0o600, "\(file)")
        }
        let again = try await cluster.supportctl("backup", "--to", directory)
        #expect(again.status != 0, "a second backup must not overwrite the first")

        // After the backup: an incident the restore must not bring back.
        let later = try await SLAScenarioTests.open(cluster, severity: 3)
        let refused = try await ServiceCluster.run(
            Self.root.appendingPathComponent("deploy/local/restore").path, [directory, "--runtime-dir", cluster.runtime.path]
        )
        #expect(refused.status != 0, "restore must refuse while the services run")
        #expect(refused.stderr.contains("stop it first"))

        await cluster.stopAll()
        let restore = try await ServiceCluster.run(
            Self.root.appendingPathComponent("deploy/local/restore").path, [directory, "--runtime-dir", cluster.runtime.path]
        )
        #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
        for service in ServiceCluster.services {
            #expect(try Self.mode(cluster.runtime.file("\(service).sqlite")) == 0o600, "the restored \(service).sqlite")
        }
        try await cluster.startAll()

        let list = try await cluster.supportctl("incident", "list")
        #expect(list.stdout.contains(first))
        #expect(!list.stdout.contains(later), "the incident opened after the backup is not in it")
        let clock = try await cluster.client("intake").call(ClockRPC.get, .init())
        #expect(clock.now.date == ISO8601DateFormatter().date(from: "2026-12-04T04:30:00Z"), "the fake clock resumes where the backup left it")
        let restoredMessages = try await NotifierScenarioTests.messages(cluster)
        #expect(Set(expectedMessages).isSubset(of: Set(restoredMessages.map(\.id))))
        #expect(restoredMessages.map(\.id).sorted() == allMessagesAtBackup)
        let restoredClock = try await SLAScenarioTests.clock(cluster, first)
        #expect(restoredClock.history.count == 1, "the incident's SLA cycle came back with it")
        await cluster.shutdown()
    }

    @Test("Restoring one service from an older backup: its producers rewind their cursors and redeliver what it lost, so no event is missed")
    func partialRestoreRedelivers() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        let before = try await SLAScenarioTests.open(cluster, severity: 2)
        _ = try await SLAScenarioTests.clock(cluster, before)
        let directory = cluster.runtime.file("backup-sla")
        let backup = try await cluster.supportctl("backup", "--to", directory, "--service", "sla-timer")
        #expect(backup.status == 0, "\(backup.stderr)")

        // sla-timer receives this one, then loses it with the restore.
        let after = try await SLAScenarioTests.open(cluster, severity: 2)
        _ = try await SLAScenarioTests.clock(cluster, after)
        await cluster.stopAll()
        let restore = try await ServiceCluster.run(
            Self.root.appendingPathComponent("deploy/local/restore").path, [directory, "--runtime-dir", cluster.runtime.path]
        )
        #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
        #expect(restore.stdout.contains("intake will redeliver to sla-timer"))
        try await cluster.startAll()
        // Without the rewind sla-timer would never hear of `after` again.
        let clock = try await SLAScenarioTests.clock(cluster, after)
        #expect(clock.history.count == 1)
        await cluster.shutdown()
    }

    @Test("Restoring intake from an older backup: a new incident never takes the number of one the other services still know (issue 21, finding 8)")
    func restoreDoesNotReissueNumbers() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        let kept = try await SLAScenarioTests.open(cluster, severity: 2)
        _ = try await SLAScenarioTests.clock(cluster, kept)
        let directory = cluster.runtime.file("backup-intake")
        #expect(try await cluster.supportctl("backup", "--to", directory, "--service", "intake").status == 0)

        // intake loses this one with the restore; sla-timer keeps its cycle.
        let lost = try await SLAScenarioTests.open(cluster, severity: 2)
        _ = try await SLAScenarioTests.clock(cluster, lost)
        try await cluster.drained()
        await cluster.stopAll()
        let restore = try await ServiceCluster.run(
            Self.root.appendingPathComponent("deploy/local/restore").path, [directory, "--runtime-dir", cluster.runtime.path]
        )
        #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
        #expect(restore.stdout.contains("intake continues incident numbers above"))
        try await cluster.startAll()

        let next = try await SLAScenarioTests.open(cluster, severity: 3)
        #expect(next != lost, "the lost incident's number is not given again")
        #expect(next > lost, "numbers go on above it: \(next) after \(lost)")
        // sla-timer's cycle for the lost number is not taken for the new one's.
        let clock = try await SLAScenarioTests.clock(cluster, next)
        #expect(clock.history.count == 1 && clock.history.first?.severity == 3)
        await cluster.shutdown()
    }
}
