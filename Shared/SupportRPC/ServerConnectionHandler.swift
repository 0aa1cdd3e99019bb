import Foundation
import Logging
import NIOCore
import SupportProto

/// The server end of one connection: reads requests, runs each call in a
/// task, writes its answer, all on the connection's event loop.
///
/// Why a channel handler and not an async loop over `NIOAsyncChannel`
/// (issue 9): the async loop made every call cross threads five times —
/// the frame handed from the event loop to the reading task, a child task
/// per call and another to watch its deadline, the deadline timer armed and
/// cancelled from off the loop, and the answer handed back to the loop to
/// be written. Here the frame is handled where it is read, the call table
/// and the deadlines (one sweep timer per connection) live on the loop
/// without locks, and each call's task
/// prefers the loop as its executor (``EventLoopTaskExecutor``), so a
/// handler that does not suspend elsewhere answers in the same loop tick
/// and one that awaits the database comes back to the loop to write.
///
/// A call ends in exactly one of three ways, whichever comes first: its
/// handler returns (the answer is written), its deadline passes
/// (`DEADLINE_EXCEEDED` is written and the task cancelled, so a handler
/// that ignores cancellation cannot hold the answer back), or the client
/// cancels it (nothing is written). The server counts a call as in flight
/// until its task has ended, so a drain waits for handlers still writing.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private struct Call {
        let task: Task<Void, Never>
        let method: String
        let started: ContinuousClock.Instant
        let deadline: NIODeadline
        let timeout: Duration
        let context: ServerContext
    }

    private let server: RPCServer
    private var calls: [UInt64: Call] = [:]
    /// Deadlines: one timer per connection (``DeadlineSweep``).
    private var sweep = DeadlineSweep()
    private var context: ChannelHandlerContext?
    private var executor: EventLoopTaskExecutor?
    private var peer: PeerCredentials?
    /// Counted in by the server's connection quota (released when it closes).
    private var admitted = false
    /// Frames read before the peer's credentials are known; nil once they are.
    private var waiting: [Frame]? = []
    private var state = State.new
    /// The highest call id read, for a GoAway's `last_call_id`.
    private var highestCallID: UInt64 = 0
    /// Whether a flush is queued behind the answers written this loop tick.
    private var flushQueued = false

    /// `goingAway`: a GoAway for a protocol error is written and the close
    /// requested; frames still arriving are not read.
    private enum State { case new, serving, goingAway, closed }

    init(server: RPCServer) {
        self.server = server
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.executor = EventLoopTaskExecutor(context.eventLoop)
        if context.channel.isActive { self.activate(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.activate(context: context)
        context.fireChannelActive()
    }

    private func activate(context: ChannelHandlerContext) {
        guard case .new = self.state else { return }
        self.server.track(context.channel)
        self.state = .serving
        self.server.configuration.metrics?.connectionOpened()
        // On the loop the kernel answers at once; frames that arrive before
        // (none should) wait, because the access check and the connection
        // quota need the peer.
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        PeerCredentials.of(context.channel).whenComplete { result in
            let handler = this.value
            handler.peer = (try? result.get()) ?? nil
            guard case .serving = handler.state, let context = handler.context else { return }
            if let full = handler.server.admit(peer: handler.peer) {
                let refusal = RPCError(
                    .resourceExhausted,
                    "\(handler.server.configuration.serviceName) \(full); reuse a connection (calls multiplex) or retry later"
                )
                handler.server.logger.warning("refused a connection", metadata: [
                    "reason": "\(full)", "peer.uid": "\(handler.peer?.uid ?? 0)", "peer.pid": "\(handler.peer?.pid ?? 0)",
                ])
                handler.state = .goingAway
                handler.waiting = nil
                context.writeAndFlush(handler.wrapOutboundOut(.goAway(refusal)), promise: nil)
                context.close(promise: nil)
                return
            }
            handler.admitted = true
            handler.server.logger.debug("connection accepted", metadata: [
                "peer.pid": "\(handler.peer?.pid ?? 0)", "peer.uid": "\(handler.peer?.uid ?? 0)", "peer.gid": "\(handler.peer?.gid ?? 0)",
            ])
            let early = handler.waiting ?? []
            handler.waiting = nil
            for frame in early { handler.handle(frame) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch self.state {
        case .serving, .goingAway:
            self.server.untrack(context.channel)
            if self.admitted { self.server.release(peer: self.peer) }
            self.server.configuration.metrics?.connectionClosed()
        case .new, .closed:
            break
        }
        self.state = .closed
        // Nobody waits for these answers any more; the tasks still count
        // as in flight until they notice.
        for call in self.calls.values {
            call.task.cancel()
        }
        self.calls = [:]
        self.sweep.disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        guard case .serving = self.state else { return }
        if self.waiting != nil {
            self.waiting!.append(frame)
        } else {
            self.handle(frame)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? FrameError {
            self.server.logger.warning("closing a connection that broke the wire protocol", metadata: ["error": "\(error)"])
            context.writeAndFlush(self.wrapOutboundOut(.goAway(error.status, lastCallID: self.highestCallID)), promise: nil)
        } else {
            self.server.logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }

    private func handle(_ frame: Frame) {
        guard let context = self.context, case .serving = self.state else { return }
        switch frame.kind {
        case .request(let request):
            if let violation = self.callIDViolation(request) {
                self.goAway(violation, context: context)
                return
            }
            self.highestCallID = max(self.highestCallID, request.callID)
            self.start(request, context: context)
        case .cancel(let cancel):
            guard let call = self.calls.removeValue(forKey: cancel.callID) else { return }
            call.task.cancel()
            self.server.configuration.metrics?.recordCall(method: call.method, code: .cancelled, duration: .now - call.started)
        case .ping(let ping):
            var pong = Support_Rpc_V1_Pong()
            pong.nonce = ping.nonce
            var reply = Frame()
            reply.kind = .pong(pong)
            self.write(reply, context: context)
        case .goAway:
            // The client is leaving: its calls are abandoned with it.
            context.close(promise: nil)
        case .response, .pong, .none:
            self.server.logger.debug("ignored a frame a client does not send", metadata: ["frame": "\(frame.kind.map { "\($0)" } ?? "empty")"])
        }
    }

    /// Why `request`'s call id breaks the wire's rules (rpc.proto,
    /// `Request.call_id`), or nil when it is a fresh id.
    ///
    /// Neither mistake can be answered with a Response: one carrying an id
    /// already in flight would be paired by the client with its first call
    /// (which then looks answered while its handler still runs), and id 0
    /// names no call at all. So the connection ends with a GoAway that says
    /// which id was wrong.
    private func callIDViolation(_ request: Support_Rpc_V1_Request) -> RPCError? {
        if request.callID == 0 {
            return RPCError(.invalidArgument, "call_id 0 is reserved for connection-level frames; number calls from 1")
        }
        if self.calls[request.callID] != nil {
            return RPCError(
                .invalidArgument,
                "call_id \(request.callID) is already in flight on this connection; a client must not reuse a call_id until its Response arrived"
            )
        }
        return nil
    }

    /// Ends the connection for a protocol error: the GoAway says why and
    /// which calls were read, then the close cancels the calls in flight
    /// (their answers could no longer be trusted to reach the right call).
    private func goAway(_ error: RPCError, context: ChannelHandlerContext) {
        self.state = .goingAway
        self.server.logger.warning("closing a connection that broke the wire protocol", metadata: ["error": "\(error.message)"])
        context.writeAndFlush(self.wrapOutboundOut(.goAway(error, lastCallID: self.highestCallID)), promise: nil)
        context.close(promise: nil)
    }

    private func start(_ request: Support_Rpc_V1_Request, context: ChannelHandlerContext) {
        let server = self.server
        let metadata = Metadata(request.metadata)
        let caller: Caller
        switch server.admission(for: request, metadata: metadata, peer: self.peer) {
        case .success(let admitted):
            caller = admitted
        case .failure(let refusal):
            // Unknown names are one label: a caller must not grow the series.
            let method = refusal.code == .unimplemented ? "(unknown)" : request.method
            server.configuration.metrics?.recordCall(method: method, code: refusal.code, duration: .zero)
            self.write(.response(callID: request.callID, status: refusal), context: context)
            return
        }
        // Admission counted the call in; the task's end counts it out.
        let handler = server.router.handler(for: request.method)!
        let started = ContinuousClock.now
        let timeout = request.timeoutMs > 0 ? Duration.milliseconds(Int64(request.timeoutMs)) : handler.defaultTimeout
        let callContext = ServerContext(
            method: request.method,
            callID: request.callID,
            requestID: metadata[Metadata.requestID] ?? RequestID.make(),
            metadata: metadata,
            deadline: started + timeout,
            logger: server.logger,
            caller: caller,
            peer: self.peer
        )
        let callID = request.callID
        let payload = request.payload
        let eventLoop = context.eventLoop
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        // The task is queued on this loop, so it runs after the call is in
        // the table below, never before.
        let task = Task(executorPreference: self.executor!) {
            defer { server.callFinished() }
            let outcome: Result<Data, any Error>
            do {
                outcome = .success(try await handler.run(payload, callContext))
            } catch {
                outcome = .failure(error)
            }
            if eventLoop.inEventLoop {
                this.value.finish(callID, outcome, context: callContext)
            } else {
                eventLoop.execute { this.value.finish(callID, outcome, context: callContext) }
            }
        }
        self.calls[callID] = Call(
            task: task, method: request.method, started: started, deadline: deadline, timeout: timeout, context: callContext
        )
        self.armSweep(at: deadline, context: context)
    }

    /// Makes sure the sweep runs by `deadline`.
    private func armSweep(at deadline: NIODeadline, context: ChannelHandlerContext) {
        guard !self.sweep.covers(deadline) else { return }
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.sweep.arm(at: deadline, on: context.eventLoop) { this.value.expireLateCalls() }
    }

    /// Ends every call past its deadline, then waits for the next one.
    private func expireLateCalls() {
        self.sweep.disarm()
        let now = NIODeadline.now()
        for (callID, call) in self.calls where call.deadline <= now {
            self.expire(callID, timeout: call.timeout, context: call.context)
        }
        if let next = self.calls.values.lazy.map(\.deadline).min(), let context = self.context {
            self.armSweep(at: next, context: context)
        }
    }

    /// The handler returned: its answer goes out unless the call already ended.
    private func finish(_ callID: UInt64, _ outcome: Result<Data, any Error>, context callContext: ServerContext) {
        guard let call = self.calls.removeValue(forKey: callID), let context = self.context else { return }
        // After a GoAway no Response may follow: for a reused id the client
        // could not tell which of its calls it answers.
        guard case .serving = self.state else { return }
        let answer: Frame
        let code: RPCError.Code
        switch outcome {
        case .success(let payload):
            answer = .response(callID: callID, payload: payload)
            code = .ok
        case .failure(let error):
            let status = self.server.status(for: error, context: callContext)
            answer = .response(callID: callID, status: status)
            code = status.code
        }
        self.write(answer, context: context)
        self.server.configuration.metrics?.recordCall(method: call.method, code: code, duration: .now - call.started)
    }

    /// The deadline passed first: the caller is told, the handler cancelled.
    private func expire(_ callID: UInt64, timeout: Duration, context callContext: ServerContext) {
        guard let call = self.calls.removeValue(forKey: callID), let context = self.context else { return }
        call.task.cancel()
        guard case .serving = self.state else { return }
        callContext.logger.info("deadline exceeded", metadata: ["timeout": "\(timeout)"])
        let status = RPCError(.deadlineExceeded, "\(call.method) did not finish within its \(timeout) deadline")
        self.write(.response(callID: callID, status: status), context: context)
        self.server.configuration.metrics?.recordCall(method: call.method, code: .deadlineExceeded, duration: .now - call.started)
    }

    /// Writes now and flushes once behind every answer of this loop tick:
    /// with many calls in flight their answers leave in one `writev`.
    private func write(_ frame: Frame, context: ChannelHandlerContext) {
        context.write(self.wrapOutboundOut(frame), promise: nil)
        guard !self.flushQueued else { return }
        self.flushQueued = true
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = this.value
            handler.flushQueued = false
            handler.context?.flush()
        }
    }
}
