import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// notifier on the four running services with a fake clock: what lands in
/// the runtime dir's Maildir, read back as a mail client would.
@Suite("Notifier scenario", .serialized)
struct NotifierScenarioTests {
    /// Every file in the Maildir's new/ as (headers, body).
    static func maildir(_ cluster: ServiceCluster) -> [(headers: [String: String], body: String)] {
        let directory = cluster.runtime.file("maildir/new")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)") else { return nil }
            // RFC 5322: CRLF line ends, folded header lines.
            let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
            let parts = text.components(separatedBy: "\n\n")
            var headers: [String: String] = [:]
            for line in parts[0].replacingOccurrences(of: "\n ", with: " ").split(separator: "\n") {
                let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2 { headers[pair[0]] = pair[1] }
            }
            return (headers, parts.dropFirst().joined(separator: "\n\n"))
        }
    }

    static func messages(_ cluster: ServiceCluster) async throws -> [Support_Notifier_V1_Message] {
        var request = Support_Notifier_V1_ListMessagesRequest()
        request.pageSize = 1000
        return try await cluster.client("notifier").call(NotifierRPC.listMessages, request).messages
    }

    /// Waits until every outbox drained (notifier has made every message
    /// for the events so far) and none of the messages `which` selects is
    /// still PENDING: each has reached the Maildir, failed or been
    /// suppressed, so the Maildir can be counted.
    static func settled(
        _ cluster: ServiceCluster, sourceLocation: SourceLocation = #_sourceLocation,
        _ which: (Support_Notifier_V1_Message) -> Bool
    ) async throws {
        try await cluster.drained(sourceLocation: sourceLocation)
        var pending: [String] = []
        try await eventually("notifier sent its messages; pending: \(pending)", sourceLocation: sourceLocation) {
            pending = try await Self.messages(cluster).filter { which($0) && $0.state == .pending }.map(\.id)
            return pending.isEmpty
        }
    }

    @Test("R-SLA-3, R-REP-2: a severity-1 portal incident at Saturday 03:00 JST is acknowledged in the Maildir with the advice to call; a second status report that day is suppressed")
    func acknowledgementAndStatusReport() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T03:00:00+09:00")
        try await SLAScenarioTests.setUp(cluster)
        let incident = try await SLAScenarioTests.open(cluster, severity: 1, channel: "portal")

        let ack = try await cluster.eventually { () -> (headers: [String: String], body: String)? in
            Self.maildir(cluster).first { $0.headers["X-SupportDesk-Incident"] == incident }
        }
        let mail = try #require(ack, "no acknowledgement for \(incident) in the Maildir")
        #expect(mail.headers["To"] == "\"Ann\" <ann@acme.example>")
        // A Japanese subject is RFC 2047 encoded-words; "[" and "]" are =5B and =5D in them.
        let subject = mail.headers["Subject"] ?? ""
        #expect(subject.hasPrefix("[\(incident)]") || subject.hasPrefix("=?UTF-8?Q?=5B\(incident)=5D"), "\(subject)")
        // The acknowledgement starts the incident's thread (issue 22).
        #expect(mail.headers["References"] == nil)
        #expect(mail.headers["Message-ID"]?.hasSuffix(".\(incident.lowercased())@notifier.supportdesk>") == true)
        // In the contact's language (a Tokyo certificate's may be Japanese): the number to call and the due time in JST.
        #expect(mail.body.contains("+81-3-0000-0000"))
        #expect(mail.body.contains("2026-12-07 10:30 JST"))

        let untold = try await cluster.supportctl("status-report", incident)
        #expect(untold.status != 0, "a report needs the TAM's text (R-REP-2)")
        let first = try await cluster.supportctl("status-report", incident, "--text", "We reproduced the crash.")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("queued"))
        // A suppressed report was not sent: the command fails with the reason (issue 23, finding 7).
        let second = try await cluster.supportctl("status-report", incident, "--text", "Still on it.")
        #expect(second.status != 0)
        #expect(second.stderr.contains("suppressed"))
        #expect(second.stderr.contains("2026-12-05 (Asia/Tokyo)"))
        let list = try await cluster.supportctl("notifications", "list", "--incident", incident, "--state", "suppressed")
        #expect(list.stdout.contains("status-report"))
        try await Self.settled(cluster) { $0.incidentID == incident && $0.templateName == "status-report" }
        let queued = Set(try await Self.messages(cluster).filter { $0.templateName == "status-report" && $0.state == .sent }.map(\.id))
        let reports = Self.maildir(cluster).filter { queued.contains($0.headers["X-SupportDesk-Message"] ?? "") }.count
        #expect(reports == 1, "only the first status report reaches the Maildir")
        await cluster.shutdown()
    }

    @Test("R-REP-2: a deferred status report is sent on its Tokyo day with the incident's state of then and the TAM's words (issue 23, finding 7)")
    func deferredStatusReportShowsStateWhenSent() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-05T09:00:00+09:00")
        try await SLAScenarioTests.setUp(cluster)
        let incident = try await SLAScenarioTests.open(cluster, severity: 1, channel: "phone")
        try await cluster.drained()
        #expect(try await cluster.supportctl("status-report", incident, "--text", "We reproduced it.").status == 0)
        let deferred = try await cluster.supportctl("status-report", incident, "--text", "The fix is in test.", "--next-action", "We ship it on Monday.", "--defer")
        #expect(deferred.status == 0, "\(deferred.stderr)")
        #expect(deferred.stdout.hasPrefix("deferred"))
        #expect(try await cluster.supportctl("incident", "request-info", incident, "--message", "which hosts?").status == 0)
        try await cluster.drained()
        #expect(try await cluster.supportctl("clock", "set", "2026-12-06T00:00:05+09:00").status == 0)
        try await Self.settled(cluster) { $0.incidentID == incident && $0.templateName == "status-report" }
        let reports = try await Self.messages(cluster).filter { $0.incidentID == incident && $0.templateName == "status-report" }
        let sunday = try #require(reports.first { $0.statusReport.reportDay == "2026-12-06" })
        #expect(sunday.state == .sent)
        #expect(sunday.body.contains("The fix is in test."))
        #expect(sunday.body.contains("We ship it on Monday."), "the next action, in either language")
        #expect(sunday.body.contains("waiting for your answer") || sunday.body.contains("お客様のご回答待ち"), "\(sunday.body)")
        await cluster.shutdown()
    }

    @Test("notifier killed with SIGKILL during a burst of events and restarted delivers every message exactly once")
    func killDuringBurst() async throws {
        let cluster = try ServiceCluster(fakeClock: "2026-12-07T11:00:00+09:00")
        try await SLAScenarioTests.setUp(cluster)
        var incidents: [String] = []
        for index in 0..<6 {
            if index == 3 { await cluster.stop("notifier", signal: SIGKILL) }
            incidents.append(try await SLAScenarioTests.open(cluster, severity: 3))
        }
        try await cluster.start("notifier")
        let delivered = try await cluster.eventually { () -> [(headers: [String: String], body: String)]? in
            let mails = Self.maildir(cluster)
            let acked = Set(mails.compactMap { $0.headers["X-SupportDesk-Incident"] })
            return acked.isSuperset(of: incidents) ? mails : nil
        }
        _ = try #require(delivered, "not every incident was acknowledged")
        // Nothing on its way any more (a resend after the restart included):
        // the Maildir holds all it will.
        try await Self.settled(cluster) { incidents.contains($0.incidentID) }
        let mails = Self.maildir(cluster)
        for incident in incidents {
            #expect(mails.filter { $0.headers["X-SupportDesk-Incident"] == incident }.count == 1, "\(incident) acknowledged exactly once")
        }
        let ids = mails.compactMap { $0.headers["Message-ID"] }
        #expect(Set(ids).count == ids.count, "no message twice in the Maildir")
        let messages = try await Self.messages(cluster)
        #expect(Set(messages.map(\.messageIDHeader)) == Set(ids))
        await cluster.shutdown()
    }
}
