import ArgumentParser
import Foundation
import SupportProto
import SupportRPC
import SwiftProtobuf

/// Options of commands that create something.
struct CreateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Makes a retry safe: the same key returns the first result and creates nothing new.", valueName: "key"))
    var idempotencyKey: String?

    var metadata: Metadata {
        var metadata = Metadata()
        if let idempotencyKey { metadata[Metadata.idempotencyKey] = idempotencyKey }
        return metadata
    }
}

extension GlobalOptions {
    /// Calls `method` on `service`, turning a refusal into `STATUS: message`.
    func call<Request, Response>(
        _ service: String, _ method: RPCMethod<Request, Response>, _ request: Request, metadata: Metadata = Metadata()
    ) async throws -> Response {
        do {
            return try await self.client(for: service).call(method, request, timeout: self.timeout.duration, metadata: metadata)
        } catch {
            throw CommandFailure(error)
        }
    }

    /// Prints `message` as JSON with --json, else as `human` renders it.
    func show<Message: SwiftProtobuf.Message>(_ message: Message, _ human: (Message) -> String) throws {
        if self.json {
            try Output.printJSON(Output.jsonObject(message))
        } else {
            print(human(message))
        }
    }
}

extension Google_Protobuf_Timestamp {
    /// RFC 3339 in UTC, or "-" when unset.
    var text: String { self.seconds == 0 && self.nanos == 0 ? "-" : self.date.formatted(.iso8601) }
}
