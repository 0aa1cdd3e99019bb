import Foundation
import NIOCore
import NIOPosix

/// The floor of any SwiftNIO server and client (issue 9): the Health/Check
/// frame bytes answered with the canned response by a server that only cuts
/// length-prefixed frames, called by a client that only cuts frames and
/// sends the next request from the event loop itself, no Swift concurrency,
/// no protobuf, no routing. What SupportRPC adds shows as its distance to
/// this; what is left below it (this against the raw blocking ping-pong) is
/// SwiftNIO's event loop on each side: readiness polling, the channel
/// pipeline, a buffer per read.
enum NIOEcho {
    /// Serves until the process is killed.
    static func serve(at path: String) async throws {
        unlink(path)
        let response = ByteBuffer(bytes: RawPingPong.responseFrame)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameCutter()))
                    try channel.pipeline.syncOperations.addHandler(Answer(response: response))
                }
            }
            .bind(unixDomainSocketPath: path)
            .get()
        try await channel.closeFuture.get()
    }

    /// `count` round trips, one at a time, each sent from the event loop as
    /// the previous answer is read; each one's latency in µs.
    static func roundTrips(_ path: String, count: Int) async throws -> [Double] {
        let group = MultiThreadedEventLoopGroup.singleton
        let done = group.any().makePromise(of: [Double].self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameCutter()))
                    try channel.pipeline.syncOperations.addHandler(Caller(count: count, done: done))
                }
            }
            .connect(unixDomainSocketPath: path)
            .get()
        defer { channel.close(promise: nil) }
        return try await done.futureResult.get()
    }

    /// Cuts a stream into frames: a big-endian 32-bit length, then that many
    /// bytes (SupportRPC's framing).
    struct FrameCutter: ByteToMessageDecoder {
        typealias InboundOut = ByteBuffer

        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                buffer.readableBytes >= 4 + Int(length)
            else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 4)
            context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: Int(length))!))
            return .continue
        }
    }

    final class Answer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let response: ByteBuffer

        init(response: ByteBuffer) {
            self.response = response
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(Self.wrapOutboundOut(self.response), promise: nil)
        }
    }

    final class Caller: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let request = ByteBuffer(bytes: RawPingPong.requestFrame)
        let count: Int
        let done: EventLoopPromise<[Double]>
        var samples: [Double] = []
        var started: UInt64 = 0
        var finished = false

        init(count: Int, done: EventLoopPromise<[Double]>) {
            self.count = count
            self.done = done
            self.samples.reserveCapacity(count)
        }

        func channelActive(context: ChannelHandlerContext) {
            self.send(context)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.samples.append(Double(monotonicNanoseconds() - self.started) / 1000)
            if self.samples.count == self.count {
                self.finish(.success(self.samples))
            } else {
                self.send(context)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.finish(.failure(BenchError("the NIO echo server closed the connection")))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.finish(.failure(error))
            context.close(promise: nil)
        }

        private func finish(_ result: Result<[Double], any Error>) {
            guard !self.finished else { return }
            self.finished = true
            self.done.completeWith(result)
        }

        private func send(_ context: ChannelHandlerContext) {
            self.started = monotonicNanoseconds()
            context.writeAndFlush(Self.wrapOutboundOut(self.request), promise: nil)
        }
    }
}
