import Foundation
import NIOCore
import NIOFoundationCompat
import SupportProto
import SwiftProtobuf

typealias Frame = Support_Rpc_V1_Frame

/// Why a byte stream stopped being a valid sequence of frames. Each one ends
/// the connection; none of them harms the process.
public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The length prefix announces more than the configured maximum; refused
    /// before a single byte of the body is buffered.
    case tooLarge(length: UInt32, maximum: Int)
    /// A length prefix of zero: no frame is empty.
    case empty
    /// The body is not a `support.rpc.v1.Frame`; `reason` says why in plain
    /// words (``DecodingFailure``), never as a Swift error.
    case undecodable(reason: String)
    /// The peer closed the connection part-way through a frame.
    case truncated(expected: Int, received: Int)

    public var description: String {
        switch self {
        case .tooLarge(let length, let maximum):
            "a frame of \(length) bytes exceeds the \(maximum)-byte maximum"
        case .empty:
            "a frame of length 0 was sent; every frame carries a message"
        case .undecodable(let reason):
            "the frame is not a valid support.rpc.v1.Frame: \(reason)"
        case .truncated(let expected, let received):
            "the connection closed after \(received) of \(expected) bytes of a frame"
        }
    }

    /// The status the peer is told in a GoAway before the connection closes.
    var status: RPCError {
        switch self {
        case .tooLarge: RPCError(.resourceExhausted, self.description)
        case .empty, .undecodable, .truncated: RPCError(.invalidArgument, self.description)
        }
    }
}

/// The size limits of the wire.
public enum FrameLimits {
    /// Default maximum frame body: 4 MiB.
    public static let defaultMaximum = 4 * 1024 * 1024
    static let headerSize = 4
}

/// Splits a byte stream into `Frame`s: a 4-byte big-endian length, then that
/// many bytes of one protobuf `Frame`.
///
/// NIOExtras' `LengthFieldBasedFrameDecoder` has no upper bound, so a peer
/// could make it buffer 4 GiB; this one checks the length the moment the
/// header is readable.
///
/// Public (with ``FrameEncoder``) for the fuzz harnesses of `Fuzz/`
/// (issue 10), which drive it exactly as a connection does.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Support_Rpc_V1_Frame

    public let maximumFrameSize: Int
    /// Whether ``FrameProgress/partial`` was said for the frame being read.
    private var partialReported = false

    public init(maximumFrameSize: Int) {
        self.maximumFrameSize = maximumFrameSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try self.next(from: &buffer) else {
            // Tells the server's ConnectionGuard that a frame is half read.
            // (NIO never calls a decoder with an empty buffer, so "nothing
            // half read" is said below, when a frame completes.)
            if buffer.readableBytes > 0 && !self.partialReported {
                self.partialReported = true
                context.fireUserInboundEventTriggered(FrameProgress.partial)
            }
            return .needMoreData
        }
        if self.partialReported {
            // The frame that was half read is whole: its clock stops. Once
            // only this said so on an empty buffer, which NIO never passes,
            // and a connection that once saw a split frame was closed 30 s
            // later however busy it was (found by the full supportbench run).
            self.partialReported = false
            context.fireUserInboundEventTriggered(FrameProgress.betweenFrames)
        }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while let frame = try self.next(from: &buffer) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
        }
        if buffer.readableBytes > 0 {
            let expected = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self).map {
                Int($0) + FrameLimits.headerSize
            } ?? FrameLimits.headerSize
            let received = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: received)
            throw FrameError.truncated(expected: expected, received: received)
        }
        return .needMoreData
    }

    /// The next whole frame in `buffer`, or nil when more bytes are needed.
    func next(from buffer: inout ByteBuffer) throws -> Frame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length > 0 else { throw FrameError.empty }
        guard Int(length) <= self.maximumFrameSize else {
            throw FrameError.tooLarge(length: length, maximum: self.maximumFrameSize)
        }
        guard buffer.readableBytes >= FrameLimits.headerSize + Int(length) else { return nil }
        // Decoded in place from the buffer's bytes: the frame's fields are
        // copies, so nothing keeps the receive buffer alive and NIO reuses it
        // for the next read (issue 9: a Data slice of it made every read
        // allocate a fresh buffer).
        var frame = Frame()
        do {
            try frame.merge(serializedBytes: buffer.readableBytesSpan.extracting(FrameLimits.headerSize..<FrameLimits.headerSize + Int(length)))
        } catch {
            buffer.moveReaderIndex(forwardBy: FrameLimits.headerSize + Int(length))
            throw FrameError.undecodable(reason: DecodingFailure.reason(error))
        }
        buffer.moveReaderIndex(forwardBy: FrameLimits.headerSize + Int(length))
        return frame
    }
}

/// Where the decoder stands once it has used up a read: between frames, or
/// holding the first bytes of one that has not all arrived.
enum FrameProgress: Sendable {
    case betweenFrames
    case partial
}

/// Writes each `Frame` with its 4-byte big-endian length.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Support_Rpc_V1_Frame

    public init() {}

    public func encode(data: Support_Rpc_V1_Frame, out: inout ByteBuffer) throws {
        let bytes: [UInt8] = try data.serializedBytes()
        out.reserveCapacity(minimumWritableBytes: FrameLimits.headerSize + bytes.count)
        out.writeInteger(UInt32(bytes.count))
        out.writeBytes(bytes)
    }
}

extension Frame {
    static func goAway(_ error: RPCError, lastCallID: UInt64 = 0) -> Frame {
        var goAway = Support_Rpc_V1_GoAway()
        goAway.status = error.status
        goAway.lastCallID = lastCallID
        var frame = Frame()
        frame.kind = .goAway(goAway)
        return frame
    }

    static func response(callID: UInt64, status: RPCError? = nil, payload: Data = Data()) -> Frame {
        var response = Support_Rpc_V1_Response()
        response.callID = callID
        if let status {
            response.status = status.status
        } else {
            response.status = Support_Rpc_V1_Status()
        }
        response.payload = payload
        var frame = Frame()
        frame.kind = .response(response)
        return frame
    }
}
