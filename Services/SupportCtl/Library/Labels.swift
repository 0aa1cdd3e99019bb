import ArgumentParser
import SupportProto

/// The words operators type for the contract's enums, and back.
protocol Labelled: Hashable, Sendable {
    static var labels: [(Self, String)] { get }
}

extension Labelled {
    init?(label: String) {
        guard let match = Self.labels.first(where: { $0.1 == label.lowercased() }) else { return nil }
        self = match.0
    }

    var label: String { Self.labels.first(where: { $0.0 == self })?.1 ?? "unspecified" }
}

/// An option or argument that takes one of a contract enum's labels.
struct Choice<Value: Labelled>: ExpressibleByArgument, Sendable {
    let value: Value

    init?(argument: String) {
        guard let value = Value(label: argument) else { return nil }
        self.value = value
    }

    static var allValueStrings: [String] { Value.labels.map(\.1) }
}

extension Support_Common_V1_Channel: Labelled {
    static let labels: [(Self, String)] = [(.portal, "portal"), (.phone, "phone"), (.email, "email"), (.tam, "tam")]
}

extension Support_Common_V1_Tier: Labelled {
    static let labels: [(Self, String)] = [(.enterprise, "enterprise"), (.standard, "standard")]
}

extension Support_Common_V1_IncidentKind: Labelled {
    static let labels: [(Self, String)] = [
        (.product, "product"), (.outbreak, "outbreak"), (.malware, "malware"), (.falsePositive, "false-positive"),
        (.service, "service"), (.definitionsRelease, "definitions-release"), (.patch, "patch"),
    ]
}

extension Support_Common_V1_IncidentState: Labelled {
    static let labels: [(Self, String)] = [
        (.new, "new"), (.inProgress, "in-progress"), (.waitingCustomer, "waiting-customer"), (.resolved, "resolved"), (.closed, "closed"),
    ]
}

extension Support_Common_V1_Side: Labelled {
    static let labels: [(Self, String)] = [(.vendor, "vendor"), (.customer, "customer")]
}

extension Support_Common_V1_ArticleKind: Labelled {
    static let labels: [(Self, String)] = [
        (.description_, "description"), (.customerMessage, "customer message"), (.response, "response"),
        (.infoRequest, "info request"), (.workaround, "workaround"), (.reply, "reply"), (.resolution, "resolution"),
        (.closure, "closure"), (.reopen, "reopen"), (.statusReport, "status report"),
        (.specialistProgress, "specialist progress"), (.note, "note"),
    ]
}

extension Support_Common_V1_Direction: Labelled {
    static let labels: [(Self, String)] = [(.fromCustomer, "from customer"), (.toCustomer, "to customer"), (.internal, "internal")]
}

extension Support_Common_V1_OutOfScopeReason: Labelled {
    static let labels: [(Self, String)] = [
        (.alreadyResolved, "already-resolved"), (.previousSolution, "previous-solution"), (.hardwareFault, "hardware-fault"),
        (.unsupportedPlatform, "unsupported-platform"), (.thirdPartyApplication, "third-party-application"),
        (.informationNotProvided, "information-not-provided"), (.misuse, "misuse"), (.accessRefused, "access-refused"),
        (.causeOutsideProduct, "cause-outside-product"),
    ]
}

/// `resolved`, `not-reproducible`, or `out-of-scope:<reason>` (R-SCOPE-3).
struct ClosureArgument: ExpressibleByArgument {
    let reason: Support_Common_V1_ClosureReason

    init?(argument: String) {
        var reason = Support_Common_V1_ClosureReason()
        let parts = argument.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        switch parts.first {
        case "resolved": reason.kind = .resolved
        case "not-reproducible": reason.kind = .notReproducible
        case "out-of-scope":
            guard parts.count == 2, let scope = Support_Common_V1_OutOfScopeReason(label: parts[1]) else { return nil }
            reason.kind = .outOfScope
            reason.outOfScopeReason = scope
        default: return nil
        }
        self.reason = reason
    }

    static var allValueStrings: [String] {
        ["resolved", "not-reproducible"] + Support_Common_V1_OutOfScopeReason.labels.map { "out-of-scope:\($0.1)" }
    }
}
