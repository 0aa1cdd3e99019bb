import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Issue 23's done-when: a new severity 1 at 03:00 on a Saturday reaches
/// the duty manager (mail and phone task) within one second of the open on
/// the fake clock, on the four running services.
@Suite("Alert on arrival scenario", .serialized)
struct ArrivalAlertScenarioTests {
    @Test("R-ORG-4, R-SLA-3: a severity 1 by portal at Saturday 03:00 JST reaches duty.ito, the duty manager on shift, by mail and call task without the clock moving")
    func severityOneOnSaturdayNight() async throws {
        // 2026-12-04T18:00:00Z is Saturday 2026-12-05 03:00 JST: duty.ito's whole-day Saturday shift (deploy/config).
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T18:00:00Z")
        try await SLAScenarioTests.setUp(cluster)
        let incident = try await SLAScenarioTests.open(cluster, severity: 1, channel: "portal")
        let opened = try await SLAScenarioTests.incident(cluster, incident).openedAt.date

        // The clock is never advanced: the alert must not wait for a timer.
        let mail = try #require(try await cluster.eventually("the duty manager's alert for \(incident) in the Maildir") {
            NotifierScenarioTests.maildir(cluster).first {
                $0.headers["X-SupportDesk-Incident"] == incident && $0.headers["To"]?.contains("duty.ito@vendor.example") == true
            }
        })
        #expect(mail.headers["Subject"] == "[\(incident)] SEVERITY 1 NEW: severity 1 by portal (Acme)")
        #expect(mail.body.contains("A severity 1 incident arrived at 2026-12-05 03:00 JST by portal"))
        #expect(mail.body.contains("as the duty manager on shift"))
        #expect(mail.body.contains("asked to\ncall the priority line (+81-3-0000-0000) (R-SLA-3)"))

        var request = Support_Notifier_V1_ListCallsRequest()
        request.incidentID = incident
        let call = try #require(try await cluster.eventually("the duty manager's call task for \(incident)") {
            try await cluster.client("notifier").call(NotifierRPC.listCalls, request).calls.first
        })
        #expect(call.callee.email == "duty.ito@vendor.example")
        #expect(call.callee.phone == "+81-3-0000-0201")
        #expect(call.subject.contains("SEVERITY 1 NEW"))

        let alerts = try await NotifierScenarioTests.messages(cluster).filter { $0.incidentID == incident && $0.templateName == "incident-alert" }
        #expect(alerts.map(\.transport).sorted { $0.rawValue < $1.rawValue } == [.maildir, .phone])
        for alert in alerts {
            #expect(alert.state == .sent)
            #expect(alert.sentAt.date.timeIntervalSince(opened) <= 1, "sent \(alert.sentAt.date) for an open at \(opened)")
        }
        #expect(call.createdAt.date.timeIntervalSince(opened) <= 1)
        await cluster.shutdown()
    }
}
