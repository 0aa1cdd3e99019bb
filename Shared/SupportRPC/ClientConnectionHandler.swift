import NIOCore
import SupportProto

/// One call on its way out: the request frame and the promise its answer
/// completes.
struct OutboundCall {
    let request: Support_Rpc_V1_Request
    let promise: EventLoopPromise<Support_Rpc_V1_Response>
}

/// The client end of one connection: matches answers to calls by call id.
///
/// Lives on the channel's event loop, so its table needs no lock. When the
/// connection closes, every call still waiting fails with `UNAVAILABLE`
/// (or with the status of the server's GoAway).
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = OutboundCall
    typealias OutboundOut = Frame

    private var pending: [UInt64: EventLoopPromise<Support_Rpc_V1_Response>] = [:]
    private var closing: RPCError?
    private let target: String

    init(target: String) {
        self.target = target
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let call = self.unwrapOutboundIn(data)
        if let closing {
            call.promise.fail(closing)
            promise?.fail(closing)
            return
        }
        self.pending[call.request.callID] = call.promise
        var frame = Frame()
        frame.kind = .request(call.request)
        context.write(self.wrapOutboundOut(frame), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.kind {
        case .response(let response):
            self.pending.removeValue(forKey: response.callID)?.succeed(response)
        case .goAway(let goAway):
            self.closing = RPCError(status: goAway.status)
            context.close(promise: nil)
        case .ping(let ping):
            var pong = Support_Rpc_V1_Pong()
            pong.nonce = ping.nonce
            var reply = Frame()
            reply.kind = .pong(pong)
            context.writeAndFlush(self.wrapOutboundOut(reply), promise: nil)
        case .request, .cancel, .pong, .none:
            break
        }
    }

    /// Forgets a call the client gave up on (deadline or task cancelled).
    func abandon(callID: UInt64, error: RPCError) {
        self.pending.removeValue(forKey: callID)?.fail(error)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let frameError = error as? FrameError {
            self.closing = RPCError(.internal, "\(self.target) sent a malformed answer: \(frameError)")
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = self.closing ?? RPCError(.unavailable, "the connection to \(self.target) closed before it answered")
        self.closing = error
        let waiting = self.pending
        self.pending = [:]
        for promise in waiting.values { promise.fail(error) }
        context.fireChannelInactive()
    }
}
