import NIOCore
import NIOEmbedded
import SupportProto
import Testing

@testable import SupportRPC

/// ConnectionGuard's two timeouts, driven in virtual time on an
/// `EmbeddedEventLoop`: each closes the connection exactly when its limit
/// has passed and not a nanosecond before, whatever the test machine's load.
///
/// The tests are synchronous: an `EmbeddedEventLoop` belongs to the thread
/// that made it.
@Suite("Connection guard in virtual time")
struct ConnectionGuardTests {
    static let idleTimeout = TimeAmount.seconds(300)
    static let partialFrameTimeout = TimeAmount.seconds(30)
    static let justBefore = TimeAmount.nanoseconds(1)

    /// A connected channel as the server builds one, up to the guard:
    /// bytes in, frames decoded, the guard; frames the guard writes are
    /// read back as `Support_Rpc_V1_Frame`s.
    static func connection() throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maximumFrameSize: FrameLimits.defaultMaximum)))
        // The same limits as `partialFrameTimeout` and `idleTimeout` above.
        try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: .init(
            maximumCalls: 8, partialFrameTimeout: .seconds(30), idleTimeout: .seconds(300)
        )))
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/supportdesk/guard-test.sock")).wait()
        return (channel, loop)
    }

    static func bytes(_ frame: Support_Rpc_V1_Frame) throws -> ByteBuffer {
        let body: [UInt8] = try frame.serializedBytes()
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(body.count))
        buffer.writeBytes(body)
        return buffer
    }

    static func request(_ callID: UInt64) -> Support_Rpc_V1_Frame {
        var request = Support_Rpc_V1_Request()
        request.callID = callID
        request.method = "/test.Echo/Echo"
        var frame = Support_Rpc_V1_Frame()
        frame.kind = .request(request)
        return frame
    }

    static func ping(_ nonce: UInt64) -> Support_Rpc_V1_Frame {
        var ping = Support_Rpc_V1_Ping()
        ping.nonce = nonce
        var frame = Support_Rpc_V1_Frame()
        frame.kind = .ping(ping)
        return frame
    }

    /// The GoAway the guard wrote, if it wrote one.
    static func goAway(_ channel: EmbeddedChannel) throws -> Support_Rpc_V1_GoAway? {
        while let frame = try channel.readOutbound(as: Support_Rpc_V1_Frame.self) {
            if case .goAway(let goAway) = frame.kind { return goAway }
        }
        return nil
    }

    @Test("A connection that sends nothing is closed with GoAway UNAVAILABLE exactly when the idle timeout has passed")
    func idleCloseAtTheLimit() throws {
        let (channel, loop) = try Self.connection()
        loop.advanceTime(by: Self.idleTimeout - Self.justBefore)
        #expect(channel.isActive, "closed before the idle timeout passed")
        #expect(try Self.goAway(channel) == nil)

        loop.advanceTime(by: Self.justBefore)
        let goAway = try #require(try Self.goAway(channel))
        #expect(goAway.status.code == RPCError.Code.unavailable.rawValue)
        #expect(goAway.status.message.contains("idle"))
        #expect(!channel.isActive)
    }

    @Test("Every frame restarts the idle count: the close comes a full idle timeout after the last one")
    func activityPostponesIdleClose() throws {
        let (channel, loop) = try Self.connection()
        loop.advanceTime(by: .seconds(200))
        try channel.writeInbound(try Self.bytes(Self.ping(1)))
        loop.advanceTime(by: Self.idleTimeout - Self.justBefore)
        #expect(channel.isActive, "closed counting from the connection's start, not its last frame")
        #expect(try Self.goAway(channel) == nil)

        loop.advanceTime(by: Self.justBefore)
        #expect(try Self.goAway(channel)?.status.code == RPCError.Code.unavailable.rawValue)
        #expect(!channel.isActive)
    }

    @Test("A call in flight keeps a quiet connection open; its answer starts the idle count, and the GoAway says which calls were read")
    func callInFlightHoldsIdleClose() throws {
        let (channel, loop) = try Self.connection()
        try channel.writeInbound(try Self.bytes(Self.request(3)))
        loop.advanceTime(by: Self.idleTimeout * 4)
        #expect(channel.isActive, "closed with a call in flight")
        #expect(try Self.goAway(channel) == nil)

        // The handler answers: the call is no longer in flight.
        try channel.writeOutbound(Frame.response(callID: 3))
        loop.advanceTime(by: Self.idleTimeout - Self.justBefore)
        #expect(channel.isActive)
        loop.advanceTime(by: Self.justBefore)
        let goAway = try #require(try Self.goAway(channel))
        #expect(goAway.status.code == RPCError.Code.unavailable.rawValue)
        #expect(goAway.lastCallID == 3)
        #expect(!channel.isActive)
    }

    @Test("Half a frame that stalls is answered with GoAway DEADLINE_EXCEEDED exactly when the half-frame timeout has passed")
    func partialFrameCloseAtTheLimit() throws {
        let (channel, loop) = try Self.connection()
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 10, 1, 2]))  // 10 bytes announced, 2 sent
        loop.advanceTime(by: Self.partialFrameTimeout - Self.justBefore)
        #expect(channel.isActive, "closed before the half-frame timeout passed")
        #expect(try Self.goAway(channel) == nil)

        loop.advanceTime(by: Self.justBefore)
        let goAway = try #require(try Self.goAway(channel))
        #expect(goAway.status.code == RPCError.Code.deadlineExceeded.rawValue)
        #expect(!channel.isActive)
        // Closing mid-frame, the decoder reports the truncated frame; expected here.
        _ = try? channel.throwIfErrorCaught()
    }

    @Test("A frame completed in time stops the half-frame clock; the connection then closes only when idle")
    func completedFrameStopsPartialClock() throws {
        let (channel, loop) = try Self.connection()
        var whole = try Self.bytes(Self.request(1))
        let split = whole.readSlice(length: 7)
        let head = try #require(split)
        try channel.writeInbound(head)
        loop.advanceTime(by: Self.partialFrameTimeout - Self.justBefore)
        try channel.writeInbound(whole)
        #expect(try channel.readInbound(as: Support_Rpc_V1_Frame.self) == Self.request(1), "the frame in two reads is decoded whole")
        try channel.writeOutbound(Frame.response(callID: 1))
        _ = try channel.readOutbound(as: Support_Rpc_V1_Frame.self)

        // Well past the half-frame timeout counted from the first bytes.
        loop.advanceTime(by: Self.partialFrameTimeout * 2)
        #expect(channel.isActive, "closed as a stalled half frame")
        #expect(try Self.goAway(channel) == nil)

        // Idle from the answer, written just before the frame completed.
        loop.advanceTime(to: NIODeadline.uptimeNanoseconds(0) + Self.partialFrameTimeout - Self.justBefore + Self.idleTimeout - Self.justBefore)
        #expect(channel.isActive)
        loop.advanceTime(by: Self.justBefore)
        let goAway = try #require(try Self.goAway(channel))
        #expect(goAway.status.code == RPCError.Code.unavailable.rawValue, "closed as idle")
        #expect(goAway.lastCallID == 1)
    }
}
