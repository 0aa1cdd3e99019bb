import ArgumentParser
import Foundation
import SupportRPC
import SwiftProtobuf

/// How supportctl shows results: aligned tables for people, one JSON
/// document for scripts.
enum Output {
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Prints `value` (JSON-compatible Foundation objects) as one document.
    static func printJSON(_ value: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }

    /// A message in the protobuf JSON mapping, as a Foundation object so it
    /// can sit inside a larger document.
    static func jsonObject(_ message: some SwiftProtobuf.Message) throws -> Any {
        var options = JSONEncodingOptions()
        options.alwaysPrintEnumsAsInts = false
        options.preserveProtoFieldNames = false
        return try JSONSerialization.jsonObject(with: message.jsonUTF8Data(options: options))
    }

    static func duration(seconds: Int64) -> String {
        if seconds < 60 { return "\(seconds)s" }
        var parts: [String] = []
        var remaining = seconds
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where remaining >= size {
            parts.append("\(remaining / size)\(unit)")
            remaining %= size
        }
        return parts.prefix(2).joined()
    }
}

/// A failed call, printed as `STATUS: message` with a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ error: any Error) {
        if let rpc = error as? RPCError {
            self.description = "\(rpc.code.name): \(rpc.message)"
        } else {
            self.description = "\(error)"
        }
    }

    init(message: String) { self.description = message }
}
