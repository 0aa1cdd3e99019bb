import NIOCore
import SupportProto

/// One call on its way out: the request frame, when the caller stops
/// waiting, and the continuation its answer resumes.
struct OutboundCall {
    let request: Support_Rpc_V1_Request
    let deadline: NIODeadline
    let continuation: CheckedContinuation<Support_Rpc_V1_Response, any Error>
}

/// A call the server closed the connection without reading (its id is above
/// the GoAway's `last_call_id`): safe to send again, whatever it does.
struct NotProcessed: Error {
    let reason: RPCError
}

/// The client end of one connection: matches answers to calls by call id.
///
/// Lives on the channel's event loop, so its table needs no lock, and the
/// deadlines are kept there too (one sweep timer per connection): a call
/// costs the caller one hop onto the loop (the write) and one back (the
/// answer), not a hop for every timer and callback. When the connection closes, every call
/// still waiting fails with `UNAVAILABLE` (or with the status of the
/// server's GoAway).
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private struct Pending {
        let continuation: CheckedContinuation<Support_Rpc_V1_Response, any Error>
        let deadline: NIODeadline
        let method: String
    }

    private var pending: [UInt64: Pending] = [:]
    /// Deadlines: one timer per connection (``DeadlineSweep``).
    private var sweep = DeadlineSweep()
    private var closing: RPCError?
    private let target: String
    private var context: ChannelHandlerContext?
    private var flushQueued = false

    init(target: String) {
        self.target = target
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends a call and arms its deadline; on the event loop.
    func send(_ call: OutboundCall) {
        guard self.closing == nil, let context = self.context, context.channel.isActive else {
            // Never sent, so safe to send on a new connection: the caller saw
            // this one open a moment before it closed.
            call.continuation.resume(throwing: NotProcessed(reason: self.closing ?? RPCError(.unavailable, "the connection to \(self.target) is closed")))
            return
        }
        let callID = call.request.callID
        self.pending[callID] = Pending(continuation: call.continuation, deadline: call.deadline, method: call.request.method)
        self.armSweep(at: call.deadline, context: context)
        var frame = Frame()
        frame.kind = .request(call.request)
        // A write can fail without the channel closing at once (the server
        // went away as the call was sent): the call fails then, with
        // UNAVAILABLE, not at its deadline.
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            this.value.fail(callID: callID, error: error as? RPCError ?? RPCError(.unavailable, "could not send to \(this.value.target): \(SocketFailure.reason(error) ?? "the request could not be written")"))
        }
        context.write(self.wrapOutboundOut(frame), promise: written)
        self.flushSoon(context: context)
    }

    /// Makes sure the sweep runs by `deadline`.
    private func armSweep(at deadline: NIODeadline, context: ChannelHandlerContext) {
        guard !self.sweep.covers(deadline) else { return }
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.sweep.arm(at: deadline, on: context.eventLoop) { this.value.expireLateCalls() }
    }

    /// Fails every call past its deadline, then waits for the next one.
    private func expireLateCalls() {
        self.sweep.disarm()
        let now = NIODeadline.now()
        let late = self.pending.filter { $0.value.deadline <= now }
        for (callID, call) in late {
            self.abandon(callID: callID, error: RPCError(.deadlineExceeded, "\(self.target) did not answer \(call.method) in time"))
        }
        if let next = self.pending.values.lazy.map(\.deadline).min(), let context = self.context {
            self.armSweep(at: next, context: context)
        }
    }

    /// Flushes once behind every call sent this loop tick: callers that
    /// hand their calls over together share one `writev` (issue 9).
    private func flushSoon(context: ChannelHandlerContext) {
        guard !self.flushQueued else { return }
        self.flushQueued = true
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = this.value
            handler.flushQueued = false
            handler.context?.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.kind {
        case .response(let response):
            self.pending.removeValue(forKey: response.callID)?.continuation.resume(returning: response)
        case .goAway(let goAway):
            let reason = RPCError(status: goAway.status)
            self.closing = reason
            // Closed first, so a caller resumed below does not find the
            // channel still open. Calls the server says it never read may go
            // again on a new connection (an idle close racing a new call is
            // the usual case); channelInactive fails the others.
            let unread = self.pending.filter { $0.key > goAway.lastCallID }
            for callID in unread.keys { self.pending[callID] = nil }
            context.close(promise: nil)
            for call in unread.values {
                call.continuation.resume(throwing: NotProcessed(reason: reason))
            }
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

    /// Fails a call the client gave up on (deadline or task cancelled) and
    /// tells the server to stop working on it.
    func abandon(callID: UInt64, error: RPCError) {
        guard self.fail(callID: callID, error: error), let context = self.context else { return }
        var cancel = Support_Rpc_V1_Cancel()
        cancel.callID = callID
        var frame = Frame()
        frame.kind = .cancel(cancel)
        context.writeAndFlush(self.wrapOutboundOut(frame), promise: nil)
    }

    @discardableResult
    private func fail(callID: UInt64, error: any Error) -> Bool {
        guard let call = self.pending.removeValue(forKey: callID) else { return false }
        call.continuation.resume(throwing: error)
        return true
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
        self.sweep.disarm()
        for call in waiting.values {
            call.continuation.resume(throwing: error)
        }
        context.fireChannelInactive()
    }
}
