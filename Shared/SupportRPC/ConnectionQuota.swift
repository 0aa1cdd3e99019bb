/// Which connections a server keeps, decided once the kernel said who the
/// peer is (issue 21: one uid with no access class held all 512 connections
/// and intake refused everyone else, the other services' relays included).
///
/// - At most ``maximum`` connections in all.
/// - The last ``reservedForServices`` of them only the service's own user
///   may take: the four services run as one user, so the other services'
///   event relays (and the operator tools run as that user) always get
///   through.
/// - At most ``maximumPerPeer`` per other uid (a peer whose credentials the
///   kernel did not give counts as one uid).
struct ConnectionQuota: Sendable {
    let maximum: Int
    let maximumPerPeer: Int
    let reservedForServices: Int
    let serviceUID: UInt32

    private(set) var total = 0
    private(set) var byPeer: [UInt32: Int] = [:]

    /// The uid a peer whose credentials are unknown counts under.
    static let unknownPeer = UInt32.max

    init(maximum: Int, maximumPerPeer: Int, serviceUID: UInt32) {
        self.maximum = max(1, maximum)
        self.maximumPerPeer = max(1, maximumPerPeer)
        // A sixteenth, at least one, never all of them.
        self.reservedForServices = min(max(1, self.maximum / 16), self.maximum - 1)
        self.serviceUID = serviceUID
    }

    /// Why a connection from `uid` is refused, or nil (then it is counted in
    /// and must be ``release(uid:)``d when it closes).
    mutating func admit(uid: UInt32?) -> String? {
        let uid = uid ?? Self.unknownPeer
        if uid == self.serviceUID {
            guard self.total < self.maximum else {
                return "has \(self.total) connections open, its maximum"
            }
        } else {
            guard self.total < self.maximum - self.reservedForServices else {
                return "has \(self.total) connections open; the last \(self.reservedForServices) of its \(self.maximum) are kept for the services' own"
            }
            let mine = self.byPeer[uid, default: 0]
            guard mine < self.maximumPerPeer else {
                return "has \(mine) connections open from uid \(uid), the most one user may hold"
            }
        }
        self.total += 1
        self.byPeer[uid, default: 0] += 1
        return nil
    }

    mutating func release(uid: UInt32?) {
        let uid = uid ?? Self.unknownPeer
        guard let count = self.byPeer[uid], count > 0 else { return }
        self.total -= 1
        self.byPeer[uid] = count == 1 ? nil : count - 1
    }
}
