// The frame decoder (issue 10): the fuzzer's bytes are what a peer writes
// on a connection. They go through SupportRPC's FrameDecoder inside NIO's
// ByteToMessageHandler on an EmbeddedChannel, as on a real connection, then
// the peer closes (decodeLast with EOF).
//
// Input: one control byte, then the stream.
//   bits 0-3  the stream arrives in reads of 2^n bytes (1 … 32 768)
//   bits 4-5  maximum frame size: 16, 256, 4096 or the default 4 MiB
//
// Checked, besides "no crash, no sanitizer report":
//   - the frames and the error do not depend on how the stream is split
//     into reads (the same stream is also decoded in one read);
//   - every error is a FrameError, and tooLarge names a length above the
//     maximum;
//   - every frame survives encoding with FrameEncoder and decoding again.
import NIOCore
import NIOEmbedded
import SupportProto
import SupportRPC
import SwiftProtobuf

typealias Frame = Support_Rpc_V1_Frame

let maximumSizes = [16, 256, 4096, FrameLimits.defaultMaximum]

/// What a connection made of a stream: the frames it read, and the error
/// that ended it, if any.
struct Outcome: Equatable {
    var frames: [Frame] = []
    var error: FrameError?
}

func decode(_ stream: UnsafeRawBufferPointer, readSize: Int, maximum: Int) -> Outcome {
    let channel = EmbeddedChannel()
    var outcome = Outcome()
    func drain() {
        while let frame = try! channel.readInbound(as: Frame.self) { outcome.frames.append(frame) }
    }
    func record(_ error: any Error) {
        guard let error = error as? FrameError else { fatalError("not a FrameError: \(error)") }
        outcome.error = error
    }
    try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maximumFrameSize: maximum)))
    var offset = 0
    do {
        while offset < stream.count {
            let end = min(stream.count, offset + readSize)
            var buffer = channel.allocator.buffer(capacity: end - offset)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: stream[offset..<end]))
            offset = end
            try channel.writeInbound(buffer)
            drain()
        }
    } catch {
        drain()
        record(error)
        // A broken connection is closed without reading on.
        _ = try? channel.finish(acceptAlreadyClosed: true)
        return outcome
    }
    do {
        _ = try channel.finish()
    } catch {
        record(error)
    }
    drain()
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard let control = input.first else { return 0 }
    let stream = UnsafeRawBufferPointer(rebasing: input.dropFirst())
    let readSize = 1 << Int(control & 0x0F)
    let maximum = maximumSizes[Int(control >> 4) & 3]

    let chunked = decode(stream, readSize: readSize, maximum: maximum)
    if readSize < stream.count {
        let whole = decode(stream, readSize: max(1, stream.count), maximum: maximum)
        precondition(whole == chunked, "reads of \(readSize) bytes: \(chunked), one read: \(whole)")
    }
    if case .tooLarge(let length, let limit) = chunked.error {
        precondition(limit == maximum && Int(length) > maximum, "\(chunked.error!)")
    }
    for frame in chunked.frames {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        try! FrameEncoder().encode(data: frame, out: &buffer)
        let length = buffer.readInteger(as: UInt32.self)!
        precondition(Int(length) == buffer.readableBytes)
        let again = try! Frame(serializedBytes: Array(buffer.readableBytesView))
        precondition(again == frame, "\(frame) re-encoded as \(again)")
    }
    return 0
}
