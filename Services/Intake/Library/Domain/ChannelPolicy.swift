import ServiceKit
import SupportProto

typealias Channel = Support_Common_V1_Channel

/// Which channels take a request of a given severity right now (R-CH-1..4).
struct ChannelPolicy {
    /// Whether the office (and so its TAM, R-ORG-4) is in business hours now.
    let businessHoursNow: Bool
    /// R-CH-3: the portal's availability, as the operator set it.
    let companyAccountAvailable: Bool
    /// For messages, e.g. "Mon–Fri 10:00–18:00 Asia/Tokyo".
    let hoursSummary: String

    func isOpen(_ channel: Channel, severity: Int32) -> Bool {
        switch channel {
        case .portal: self.companyAccountAvailable  // R-CH-1: 24×7, while it is up
        case .phone: severity <= 2 || self.businessHoursNow  // R-CH-2
        case .email: !self.companyAccountAvailable  // R-CH-3
        case .tam: self.businessHoursNow  // R-CH-4
        default: false
        }
    }

    func openChannels(severity: Int32) -> [Channel] {
        [.portal, .phone, .email, .tam].filter { self.isOpen($0, severity: severity) }
    }

    /// Refuses a closed channel, naming the ones open now.
    func check(_ channel: Channel, severity: Int32) throws {
        guard !self.isOpen(channel, severity: severity) else { return }
        let why: String
        switch channel {
        case .portal: why = "the Company Account portal is unavailable (R-CH-3)"
        case .phone: why = "the priority line takes severity \(severity) only within business hours, \(self.hoursSummary) (R-CH-2)"
        case .email: why = "email is accepted only while the Company Account portal is unavailable, and it is available now (R-CH-3)"
        case .tam: why = "the TAM takes requests only within business hours, \(self.hoursSummary) (R-CH-4)"
        default: why = "no channel was given"
        }
        let open = self.openChannels(severity: severity).map(\.label)
        throw ServiceError(
            .failedPrecondition, reason: "CHANNEL_CLOSED", field: "channel",
            "\(channel.label) is closed for this request: \(why). Open now for severity \(severity): \(open.isEmpty ? "none" : open.joined(separator: ", "))."
        )
    }

    /// R-SLA-3: severity 1 outside business hours must be phoned in; by any
    /// other channel it is accepted and the customer is told to call.
    func phoneAdvised(_ channel: Channel, severity: Int32) -> Bool {
        severity == 1 && !self.businessHoursNow && channel != .phone
    }
}
