import SwiftProtobuf

/// A typed handle on one RPC: its gRPC-style full name and the message types
/// it takes and returns. Clients call it, servers register a handler for it.
public struct RPCMethod<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: Sendable {
    /// `/package.Service/Method`, as on the wire.
    public let fullName: String

    public init(_ fullName: String) {
        self.fullName = fullName
    }

    /// The short name after the last slash, e.g. `OpenIncident`.
    public var name: Substring {
        self.fullName[self.fullName.index(after: self.fullName.lastIndex(of: "/") ?? self.fullName.startIndex)...]
    }
}

/// The type-erased description of a method, for tools that go by name
/// (`supportctl call METHOD --data JSON`).
public struct AnyRPCMethod: Sendable {
    public let fullName: String
    public let requestType: any SwiftProtobuf.Message.Type
    public let responseType: any SwiftProtobuf.Message.Type

    public init<Request, Response>(_ method: RPCMethod<Request, Response>) {
        self.fullName = method.fullName
        self.requestType = Request.self
        self.responseType = Response.self
    }
}
