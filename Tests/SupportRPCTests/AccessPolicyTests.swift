import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Who may call what: peer credentials against access.json's allow-lists,
/// and the identity a call claims.
@Suite("Access policy")
struct AccessPolicyTests {
    static let portal = PeerCredentials(pid: 10, uid: 2001, gid: 2001)
    static let agent = PeerCredentials(pid: 11, uid: 2002, gid: 2002, groups: [3000])
    static let operatorPeer = PeerCredentials(pid: 12, uid: 2003, gid: 2003)
    static let policy = AccessPolicy(
        customer: .init(uids: [2001]), staff: .init(gids: [3000]), admin: .init(uids: [2003]), trustServiceUser: true
    )

    static func decide(_ method: String, _ peer: PeerCredentials?, _ caller: Caller = .unspecified) -> RPCError.Code {
        Self.policy.refusalForTesting(method: method, peer: peer, caller: caller, serviceUID: 999)?.code ?? .ok
    }

    @Test("Classes are ordered: admin may call staff and customer methods, staff may not move the clock, a stranger only gets Health")
    func classes() {
        #expect(Self.decide("/support.clock.v1.Clock/Advance", Self.operatorPeer) == .ok)
        #expect(Self.decide("/support.intake.v1.Intake/Respond", Self.operatorPeer) == .ok)
        #expect(Self.decide("/support.intake.v1.Intake/Respond", Self.agent) == .ok, "a supplementary group counts")
        #expect(Self.decide("/support.clock.v1.Clock/Advance", Self.agent) == .permissionDenied)
        let stranger = PeerCredentials(pid: 13, uid: 4000, gid: 4000)
        #expect(Self.decide("/support.health.v1.Health/Check", stranger) == .ok)
        #expect(Self.decide("/support.intake.v1.Intake/GetIncident", stranger) == .permissionDenied)
        #expect(Self.decide("/support.events.v1.EventSink/Deliver", Self.operatorPeer) == .permissionDenied, "event delivery is the services' own")
        #expect(Self.decide("/support.events.v1.EventSink/Deliver", PeerCredentials(pid: 14, uid: 999, gid: 999)) == .ok)
    }

    @Test("A customer-facing caller must name its contact, and a call made for a contact may use only customer methods")
    func contacts() {
        #expect(Self.decide("/support.intake.v1.Intake/GetIncident", Self.portal) == .permissionDenied)
        #expect(Self.decide("/support.intake.v1.Intake/GetIncident", Self.portal, .contact(email: "ann@acme.example")) == .ok)
        #expect(Self.decide("/support.intake.v1.Intake/Respond", Self.portal, .contact(email: "ann@acme.example")) == .permissionDenied)
        #expect(Self.decide("/support.intake.v1.Intake/Respond", Self.operatorPeer, .contact(email: "ann@acme.example")) == .permissionDenied,
                "even an admin's call made for a contact is a contact's call")
    }

    @Test("Identity is bound to the peer: a customer-class peer asserting staff:<id> is refused; a staff peer may; without access.json every peer is trusted as staff")
    func staffOnlyFromStaffPeers() {
        // Issue 21, finding 3: the portal claiming staff read and closed
        // every organisation's incidents.
        #expect(Self.decide("/support.intake.v1.Intake/GetIncident", Self.portal, .staff(id: "x")) == .permissionDenied)
        #expect(Self.decide("/support.intake.v1.Intake/ListIncidents", Self.portal, .staff(id: "x")) == .permissionDenied)
        #expect(Self.decide("/support.intake.v1.Intake/Close", Self.portal, .staff(id: "x")) == .permissionDenied)
        #expect(Self.decide("/support.escalation.v1.Escalation/Escalate", Self.portal, .staff(id: "x")) == .permissionDenied)
        let message = Self.policy.refusalForTesting(
            method: "/support.intake.v1.Intake/GetIncident", peer: Self.portal, caller: .staff(id: "x"), serviceUID: 999
        )?.message ?? ""
        #expect(message.contains("staff:x") && message.contains("contact:<email>"))
        #expect(Self.decide("/support.intake.v1.Intake/GetIncident", Self.agent, .staff(id: "eng.kato")) == .ok)
        #expect(AccessPolicy.everyoneForTesting.refusalForTesting(
            method: "/support.intake.v1.Intake/GetIncident", peer: Self.portal, caller: .staff(id: "x"), serviceUID: 999
        ) == nil)
    }

    @Test("Metadata is bounded: more than 64 entries, a key over 128 bytes or a value over 1 KiB is INVALID_ARGUMENT naming it; the connection goes on")
    func metadataBounds() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock"))
        let client = RPCClient(socketPath: running.socketPath)
        var many = Metadata()
        for index in 0..<65 { many["k\(index)"] = "v" }
        let cases: [(Metadata, String)] = [
            (many, "metadata"),
            ([String(repeating: "k", count: 129): "v"], "metadata[0].key"),
            (["request.note": String(repeating: "v", count: 1025)], "metadata[0].value"),
            ([Metadata.idempotencyKey: String(repeating: "k", count: 1025)], "metadata[0].value"),
        ]
        for (metadata, field) in cases {
            let error = await #expect(throws: RPCError.self) { try await client.call(EchoRPC.echo, ping(1), metadata: metadata) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.details.first?.field == field)
        }
        #expect(try await client.call(EchoRPC.echo, ping(2), metadata: ["request.note": String(repeating: "v", count: 1024)]).nonce == 2)
        try await running.stop()
    }

    @Test("Caller identities parse as contact:<email> or staff:<id>; anything else is INVALID_ARGUMENT")
    func identities() throws {
        #expect(try Caller([Caller.metadataKey: "contact:Ann@Acme.example"]) == .contact(email: "ann@acme.example"))
        #expect(try Caller([Caller.metadataKey: "staff:tam.sato"]) == .staff(id: "tam.sato"))
        #expect(try Caller(Metadata()) == .unspecified)
        #expect(throws: RPCError.self) { try Caller([Caller.metadataKey: "root"]) }
    }

    @Test("Over the socket: the server reads the peer's uid with SO_PEERCRED and refuses by it")
    func overTheSocket() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let me = getuid()
        // This process is the peer: allowed staff, not admin, not trusted as the service user.
        var router = echoRouter()
        router.register(ClockRPC.advance) { _, _ in Support_Clock_V1_ClockState() }
        let running = try await RunningServer.start(router: router, socketPath: directory.file("s.sock")) {
            $0.accessPolicy = AccessPolicy(staff: .init(uids: [me]), trustServiceUser: false)
        }
        let client = RPCClient(socketPath: running.socketPath)
        #expect(try await client.call(EchoRPC.echo, ping(1)).nonce == 1)
        #expect(try await client.call(HealthRPC.check, .init()).status == .serving)
        let denied = await #expect(throws: RPCError.self) { try await client.call(ClockRPC.advance, .init()) }
        #expect(denied?.code == .permissionDenied)
        #expect(denied?.message.contains("uid \(me)") == true, "the refusal names the peer the kernel reported")
        try await running.stop()
    }
}
