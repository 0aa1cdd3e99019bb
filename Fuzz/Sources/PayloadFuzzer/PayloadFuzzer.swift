// Frame and payload decoding of every method (issue 10). The fuzzer's bytes
// are decoded as a support.rpc.v1.Frame (a frame body, without the length
// prefix); the payload it carries (a Request's or a Response's), and the
// bytes themselves as a bare payload, are then decoded as the request and
// the response message of every method in
// AllRPCMethods.all — what a server or client does with a payload before a
// handler sees it.
//
// Checked, besides "no crash, no sanitizer report": whatever decodes,
// re-encodes, and decodes again to an equal message (unknown fields
// included); its JSON form (supportctl prints it) can be produced or
// refused with an error.
//
// Then the same bytes drive the services' handlers (Handlers.swift): the
// first byte chooses a method, the rest is its request.
import Foundation
import SupportProto
import SupportRPC
import SwiftProtobuf

/// Each message type once, though many methods share one.
let messageTypes: [any SwiftProtobuf.Message.Type] = {
    var seen = Set<String>()
    var types: [any SwiftProtobuf.Message.Type] = []
    for method in AllRPCMethods.all {
        for type in [method.requestType, method.responseType] where seen.insert(type.protoMessageName).inserted {
            types.append(type)
        }
    }
    return types
}()

func roundTrip(_ message: any SwiftProtobuf.Message) {
    let type = Swift.type(of: message)
    let encoded: [UInt8]
    do {
        encoded = try message.serializedBytes()
    } catch {
        fatalError("\(type.protoMessageName) decoded but does not encode: \(error)")
    }
    do {
        let again = try type.init(serializedBytes: encoded)
        precondition(again.isEqualTo(message: message), "\(type.protoMessageName): \(message) re-encoded as \(again)")
    } catch {
        fatalError("\(type.protoMessageName) does not decode its own encoding: \(error)")
    }
    _ = try? message.jsonUTF8Data()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    // No copy: the bytes live until this function returns.
    let input = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: start), count: count, deallocator: .none)
    if let frame = try? Support_Rpc_V1_Frame(serializedBytes: input) {
        roundTrip(frame)
        switch frame.kind {
        case .request(let request): decodeAsEveryMessage(request.payload)
        case .response(let response): decodeAsEveryMessage(response.payload)
        default: break
        }
    }
    decodeAsEveryMessage(input)
    driveHandlers(input)
    return 0
}

func decodeAsEveryMessage(_ payload: Data) {
    for type in messageTypes {
        guard let message = try? type.init(serializedBytes: payload) else { continue }
        roundTrip(message)
    }
}
