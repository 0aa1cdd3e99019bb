import NIOCore
import SupportProto

/// Keeps one server connection within its limits, on the channel's event
/// loop (so its state needs no lock):
///
/// - at most `maximumCalls` calls in flight: one more is answered at once
///   with `RESOURCE_EXHAUSTED` and never reaches a handler;
/// - a frame that has begun must be complete within `partialFrameTimeout`,
///   so a peer that sends half a frame and stalls cannot hold the
///   connection (GoAway `DEADLINE_EXCEEDED`, then close);
/// - a connection with no call in flight that sends nothing for
///   `idleTimeout` is closed (GoAway `UNAVAILABLE`); clients reconnect on
///   their next call.
///
/// Time is the event loop's (`eventLoop.now`), never the wall clock's, so
/// that the tests drive both limits on an `EmbeddedEventLoop` in virtual
/// time instead of sleeping through them.
final class ConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias InboundOut = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = Frame

    struct Limits: Sendable {
        var maximumCalls: Int
        var partialFrameTimeout: Duration
        var idleTimeout: Duration
    }

    private let limits: Limits
    private var inFlight: Set<UInt64> = []
    private var partialFrameTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var lastActivity = NIODeadline.uptimeNanoseconds(0)
    /// The highest call id read: a GoAway tells the client that later ones
    /// were never processed, so it may send them again elsewhere.
    private var highestCallID: UInt64 = 0
    private var closing = false

    init(limits: Limits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.armIdleTimer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.armIdleTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.partialFrameTimer?.cancel()
        self.idleTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        self.armIdleTimer(context: context)
        switch frame.kind {
        case .request(let request):
            // A call id of 0 or one already in flight is no new call: the
            // connection handler ends the connection with GoAway for it, so
            // it is neither counted nor refused with a Response here.
            guard request.callID != 0, !self.inFlight.contains(request.callID) else { break }
            if self.inFlight.count >= self.limits.maximumCalls {
                let refusal = RPCError(
                    .resourceExhausted,
                    "this connection already has \(self.limits.maximumCalls) calls in flight, the most a connection may; wait for answers or open another connection"
                )
                context.writeAndFlush(self.wrapOutboundOut(.response(callID: request.callID, status: refusal)), promise: nil)
                return
            }
            self.inFlight.insert(request.callID)
            self.highestCallID = max(self.highestCallID, request.callID)
        case .cancel(let cancel):
            // A cancelled call gets no answer: it is no longer in flight.
            self.inFlight.remove(cancel.callID)
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .response(let response) = self.unwrapOutboundIn(data).kind {
            self.inFlight.remove(response.callID)
            if self.inFlight.isEmpty { self.armIdleTimer(context: context) }
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event as? FrameProgress {
        case .partial:
            guard self.partialFrameTimer == nil else { return }
            let timeout = self.limits.partialFrameTimeout
            self.partialFrameTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .init(timeout)) { [context] in
                self.goAway(context: context, RPCError(
                    .deadlineExceeded, "a frame was begun and not completed within \(timeout); send each frame whole"
                ))
            }
        case .betweenFrames:
            self.partialFrameTimer?.cancel()
            self.partialFrameTimer = nil
        case nil:
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// (Re)starts the idle countdown; it only closes a connection that has no
    /// call in flight when it runs out. Every frame restarts it, so it moves
    /// a timestamp rather than a timer: the one timer, when it fires early,
    /// waits out the rest (issue 9: a timer scheduled and cancelled per
    /// frame was a heap allocation and two heap operations per call).
    private func armIdleTimer(context: ChannelHandlerContext) {
        self.lastActivity = context.eventLoop.now
        guard self.idleTimer == nil else { return }
        self.scheduleIdleCheck(at: self.lastActivity + .init(self.limits.idleTimeout), context: context)
    }

    private func scheduleIdleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let timeout = self.limits.idleTimeout
        self.idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [context] in
            self.idleTimer = nil
            let due = self.lastActivity + .init(timeout)
            if due > context.eventLoop.now {
                self.scheduleIdleCheck(at: due, context: context)
                return
            }
            // Calls in flight: the write that answers the last one re-arms.
            guard self.inFlight.isEmpty else { return }
            self.goAway(context: context, RPCError(.unavailable, "closing a connection idle for \(timeout); reconnect when there is a call to make"))
        }
    }

    private func goAway(context: ChannelHandlerContext, _ error: RPCError) {
        guard !self.closing else { return }
        self.closing = true
        context.writeAndFlush(self.wrapOutboundOut(.goAway(error, lastCallID: self.highestCallID)), promise: nil)
        context.close(promise: nil)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
