import Foundation

/// Who may call which methods, checked by the server before a handler runs.
///
/// Every method belongs to one ``MethodClass``. A caller is judged twice:
///
/// 1. by its **peer credentials** (the uid and groups the kernel reports
///    for the socket's other end) against the allow-lists of the policy,
///    which the services read from `access.json`; the classes are ordered,
///    so a caller allowed `admin` may also call `staff` and `customer`
///    methods;
/// 2. by the **identity it claims** in the `caller.identity` metadata
///    (`contact:<email>` or `staff:<id>`): a call made for a customer
///    contact may only use `customer` methods, and a caller allowed no more
///    than `customer` must say which contact it acts for. Services then
///    limit a contact to its own organisation's incidents.
///
/// A peer may assert a `staff:` identity only when it is allowed staff
/// methods; a customer-class peer acts for contacts only.
///
/// Without a policy file every peer that can open the socket (mode 0660,
/// the service group) is trusted as staff and may call everything.
public struct AccessPolicy: Sendable, Equatable {
    /// The allow-list of one class: user ids and group ids.
    public struct AllowList: Sendable, Equatable {
        public var uids: Set<UInt32>
        public var gids: Set<UInt32>

        public init(uids: Set<UInt32> = [], gids: Set<UInt32> = []) {
            self.uids = uids
            self.gids = gids
        }

        func admits(_ peer: PeerCredentials) -> Bool {
            self.uids.contains(peer.uid) || !self.gids.isDisjoint(with: peer.groups)
        }
    }

    public var customer: AllowList
    public var staff: AllowList
    public var admin: AllowList
    /// The service's own user (all four run as one) may call everything,
    /// `internal` methods included; off only in tests that run as one user.
    public var trustServiceUser: Bool

    public init(customer: AllowList = .init(), staff: AllowList = .init(), admin: AllowList = .init(), trustServiceUser: Bool = true) {
        self.customer = customer
        self.staff = staff
        self.admin = admin
        self.trustServiceUser = trustServiceUser
    }

    /// No policy file: every peer that can open the socket is trusted.
    static let everyone = AccessPolicy(customer: .init(), staff: .init(), admin: .init(), trustServiceUser: true, everyone: true)

    /// Set only for ``everyone``.
    private var everyone = false

    init(customer: AllowList, staff: AllowList, admin: AllowList, trustServiceUser: Bool, everyone: Bool) {
        self.init(customer: customer, staff: staff, admin: admin, trustServiceUser: trustServiceUser)
        self.everyone = everyone
    }

    /// The highest class `peer` may call.
    func level(of peer: PeerCredentials?, serviceUID: UInt32) -> MethodClass? {
        if self.everyone { return .internal }
        guard let peer else { return nil }
        if self.trustServiceUser && peer.uid == serviceUID { return .internal }
        if self.admin.admits(peer) { return .admin }
        if self.staff.admits(peer) { return .staff }
        if self.customer.admits(peer) { return .customer }
        return nil
    }

    /// Why `method` is refused to this caller, or nil when it may call it.
    func refusal(
        method: String, peer: PeerCredentials?, caller: Caller, serviceUID: UInt32, serviceName: String
    ) -> RPCError? {
        let required = MethodClass.of(method)
        if required == .open { return nil }
        if case .contact = caller, required > .customer {
            return RPCError(.permissionDenied, "\(method) is not for customer contacts; a call made for a contact (caller.identity contact:…) may use only customer-facing methods")
        }
        guard let level = self.level(of: peer, serviceUID: serviceUID), level >= required else {
            let who = peer.map { "uid \($0.uid) (groups \($0.groups.sorted().map(String.init).joined(separator: ","))), pid \($0.pid)" } ?? "a caller whose credentials the kernel did not give"
            return RPCError(.permissionDenied, "\(who) may not call \(method) (\(required) methods) on \(serviceName); access.json lists who may")
        }
        if level == .customer, case .unspecified = caller {
            return RPCError(.permissionDenied, "a customer-facing caller must name the contact it acts for in caller.identity (contact:<email>) to call \(method)")
        }
        // Identity is bound to the peer: only a peer allowed staff methods
        // may act as staff. A customer-class peer (a portal) asserting
        // staff:<id> would otherwise read every organisation's incidents.
        if level < .staff, case .staff(let id) = caller {
            return RPCError(
                .permissionDenied,
                "caller.identity staff:\(id) may be asserted only by a staff peer; this peer is allowed customer methods and acts for contacts (contact:<email>)"
            )
        }
        return nil
    }
}

extension AccessPolicy {
    /// The policy without access.json, for tests.
    public static var everyoneForTesting: AccessPolicy { .everyone }

    /// ``refusal(method:peer:caller:serviceUID:serviceName:)`` for tests.
    public func refusalForTesting(method: String, peer: PeerCredentials?, caller: Caller, serviceUID: UInt32) -> RPCError? {
        self.refusal(method: method, peer: peer, caller: caller, serviceUID: serviceUID, serviceName: "test")
    }
}

/// What a method does, for the access check; ordered by privilege.
public enum MethodClass: Int, Sendable, Comparable, CustomStringConvertible {
    /// Anyone who can open the socket: Health.
    case open
    /// What a customer portal calls for an authorised contact.
    case customer
    /// Staff and operator tools: the rest.
    case staff
    /// Moving the clock, backups, the roster.
    case admin
    /// Service to service: event delivery, the customer-timeout close.
    case `internal`

    public static func < (lhs: MethodClass, rhs: MethodClass) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .open: "open"
        case .customer: "customer"
        case .staff: "staff"
        case .admin: "admin"
        case .internal: "internal"
        }
    }

    static let table: [String: MethodClass] = [
        "/support.intake.v1.Intake/OpenIncident": .customer,
        "/support.intake.v1.Intake/GetIncident": .customer,
        "/support.intake.v1.Intake/ListIncidents": .customer,
        "/support.intake.v1.Intake/ProvideInfo": .customer,
        "/support.intake.v1.Intake/Reopen": .customer,
        "/support.intake.v1.Intake/Close": .customer,
        "/support.intake.v1.Intake/ListOffices": .customer,
        "/support.intake.v1.Intake/BeginAttachment": .customer,
        "/support.intake.v1.Intake/WriteAttachment": .customer,
        "/support.intake.v1.Intake/CommitAttachment": .customer,
        "/support.intake.v1.Intake/ReadAttachment": .customer,
        "/support.escalation.v1.Escalation/Escalate": .customer,
        "/support.clock.v1.Clock/Set": .admin,
        "/support.clock.v1.Clock/Advance": .admin,
        "/support.admin.v1.Admin/Backup": .admin,
        "/support.admin.v1.Admin/ReadBackup": .admin,
        "/support.admin.v1.Admin/ReleaseBackup": .admin,
        "/support.escalation.v1.Escalation/SetRoster": .admin,
        "/support.events.v1.EventSink/Deliver": .internal,
        "/support.intake.v1.Intake/CloseForCustomerTimeout": .internal,
    ]

    /// The class of a method by its full name; staff unless listed.
    public static func of(_ method: String) -> MethodClass {
        if method.hasPrefix("/support.health.v1.Health/") { return .open }
        return Self.table[method] ?? .staff
    }
}

/// Who a call says it is made for (`caller.identity` metadata).
public enum Caller: Sendable, Equatable {
    /// No identity claimed: an operator tool or another service.
    case unspecified
    /// A customer's authorised contact, by email (lower-cased).
    case contact(email: String)
    /// A member of the vendor's staff, by staff id.
    case staff(id: String)

    public static let metadataKey = "caller.identity"

    /// Parses `contact:<email>` or `staff:<id>`.
    public init(_ metadata: Metadata) throws {
        guard let value = metadata[Self.metadataKey], !value.isEmpty else {
            self = .unspecified
            return
        }
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first, parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : "") {
        case ("contact", let email) where email.contains("@"):
            self = .contact(email: email.lowercased())
        case ("staff", let id) where !id.isEmpty:
            self = .staff(id: id)
        default:
            throw RPCError(.invalidArgument, "caller.identity must be contact:<email> or staff:<id>, not \"\(value)\"")
        }
    }
}
