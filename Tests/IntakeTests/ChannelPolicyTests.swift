import ServiceKit
import SupportProto
import Testing

@testable import Intake

@Suite("Channels (R-CH-1..4) and phone advice (R-SLA-3)")
struct ChannelPolicyTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let channel: Support_Common_V1_Channel
        let severity: Int32
        let businessHours: Bool
        let portalAvailable: Bool
        let open: Bool
        var testDescription: String {
            "\(self.channel.label) sev \(self.severity) \(self.businessHours ? "in" : "out of") hours, portal \(self.portalAvailable ? "up" : "down") → \(self.open ? "open" : "closed")"
        }
    }

    static let cases: [Case] = [
        // R-CH-1: the portal, 24×7 while it is up.
        Case(channel: .portal, severity: 3, businessHours: false, portalAvailable: true, open: true),
        Case(channel: .portal, severity: 1, businessHours: true, portalAvailable: false, open: false),
        // R-CH-2: phone for 1–2 around the clock, 3–4 in business hours.
        Case(channel: .phone, severity: 1, businessHours: false, portalAvailable: true, open: true),
        Case(channel: .phone, severity: 2, businessHours: false, portalAvailable: true, open: true),
        Case(channel: .phone, severity: 3, businessHours: false, portalAvailable: true, open: false),
        Case(channel: .phone, severity: 4, businessHours: true, portalAvailable: true, open: true),
        // R-CH-3: email only while the Company Account is unavailable.
        Case(channel: .email, severity: 3, businessHours: true, portalAvailable: true, open: false),
        Case(channel: .email, severity: 3, businessHours: false, portalAvailable: false, open: true),
        // R-CH-4: the TAM within the TAM's hours.
        Case(channel: .tam, severity: 2, businessHours: true, portalAvailable: true, open: true),
        Case(channel: .tam, severity: 2, businessHours: false, portalAvailable: true, open: false),
    ]

    @Test("R-CH-1..4: each channel is open exactly when the program says", arguments: cases)
    func channelOpen(_ c: Case) {
        let policy = ChannelPolicy(businessHoursNow: c.businessHours, companyAccountAvailable: c.portalAvailable, hoursSummary: "Mon–Fri 10:00–18:00")
        #expect(policy.isOpen(c.channel, severity: c.severity) == c.open)
    }

    @Test("R-CH-2: a closed channel's refusal names the channels open now")
    func refusalNamesOpenChannels() {
        let policy = ChannelPolicy(businessHoursNow: false, companyAccountAvailable: true, hoursSummary: "Mon–Fri 10:00–18:00 Asia/Tokyo")
        let error = #expect(throws: ServiceError.self) { try policy.check(.phone, severity: 3) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.reason == "CHANNEL_CLOSED")
        #expect(error?.rpcError.message.contains("Open now for severity 3: portal.") == true)
        #expect(error?.rpcError.message.contains("Mon–Fri 10:00–18:00 Asia/Tokyo") == true)
    }

    @Test("R-SLA-3: severity 1 out of hours by a non-phone channel is phone-advised; by phone, or in hours, it is not")
    func phoneAdvice() {
        let night = ChannelPolicy(businessHoursNow: false, companyAccountAvailable: true, hoursSummary: "")
        let day = ChannelPolicy(businessHoursNow: true, companyAccountAvailable: true, hoursSummary: "")
        #expect(night.phoneAdvised(.portal, severity: 1))
        #expect(!night.phoneAdvised(.phone, severity: 1))
        #expect(!night.phoneAdvised(.portal, severity: 2))
        #expect(!day.phoneAdvised(.portal, severity: 1))
    }
}
