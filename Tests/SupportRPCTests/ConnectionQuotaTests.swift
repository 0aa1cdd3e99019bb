import Testing

@testable import SupportRPC

/// Fair connections (issue 21, finding 6): one user cannot take every
/// connection, and the services' own user always gets through.
@Suite("Connection quota")
struct ConnectionQuotaTests {
    @Test("a user with no access class holding connections is stopped at its per-peer share; others still connect")
    func perPeer() {
        var quota = ConnectionQuota(maximum: 512, maximumPerPeer: 64, serviceUID: 999)
        for _ in 0..<64 { #expect(quota.admit(uid: 4000) == nil) }
        let refused = quota.admit(uid: 4000)
        #expect(refused?.contains("from uid 4000") == true)
        #expect(quota.admit(uid: 4001) == nil, "another user still connects")
        #expect(quota.admit(uid: 999) == nil, "the services' own user still connects")
        quota.release(uid: 4000)
        #expect(quota.admit(uid: 4000) == nil, "a closed connection frees its place")
    }

    @Test("the last sixteenth of the connections are kept for the services' own user: their relays get through a full server")
    func reservedForServices() {
        var quota = ConnectionQuota(maximum: 32, maximumPerPeer: 32, serviceUID: 999)
        #expect(quota.reservedForServices == 2)
        for uid in UInt32(5000)..<5030 { #expect(quota.admit(uid: uid) == nil) }
        #expect(quota.admit(uid: 6000)?.contains("kept for the services' own") == true)
        #expect(quota.admit(uid: nil) != nil, "a peer the kernel did not name is another user")
        #expect(quota.admit(uid: 999) == nil)
        #expect(quota.admit(uid: 999) == nil)
        #expect(quota.admit(uid: 999)?.contains("its maximum") == true, "the total still holds")
        #expect(quota.total == 32)
    }

    @Test("releases are counted per peer and never go below zero")
    func releases() {
        var quota = ConnectionQuota(maximum: 4, maximumPerPeer: 4, serviceUID: 999)
        #expect(quota.admit(uid: 1) == nil)
        quota.release(uid: 2)
        quota.release(uid: 1)
        quota.release(uid: 1)
        #expect(quota.total == 0)
        #expect(quota.byPeer.isEmpty)
    }
}
