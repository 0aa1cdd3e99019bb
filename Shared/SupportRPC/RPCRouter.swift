import Foundation
import SupportProto
import SwiftProtobuf

/// The methods a server answers, keyed by their full name.
public struct RPCRouter: Sendable {
    struct Handler: Sendable {
        let defaultTimeout: Duration
        /// The full proto names of the messages the method takes and returns
        /// (`support.intake.v1.OpenIncidentRequest`), for Reflection.
        let requestType: String
        let responseType: String
        let run: @Sendable (Data, ServerContext) async throws -> Data
    }

    private(set) var handlers: [String: Handler] = [:]

    public init() {}

    /// Answers `method` with `handler`.
    ///
    /// - Parameters:
    ///   - method: The method to answer.
    ///   - defaultTimeout: The deadline when the caller sets none.
    ///   - handler: Decoded request and call context in, response out. A thrown
    ///     ``RPCError`` or ``RPCErrorConvertible`` reaches the caller with its
    ///     code and message; anything else becomes `INTERNAL`.
    ///   - checksLimits: Whether the router refuses the whole request when
    ///     any field breaks ``RequestLimits``; false only for a handler that
    ///     checks the parts itself (event delivery checks each event, so one
    ///     bad event is set aside instead of refusing the batch).
    public mutating func register<Request, Response>(
        _ method: RPCMethod<Request, Response>,
        defaultTimeout: Duration = .seconds(30),
        checksLimits: Bool = true,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        self.registerEncoded(method, defaultTimeout: defaultTimeout, checksLimits: checksLimits) { request, context in
            try Encoded<Response>(try await handler(request, context))
        }
    }

    /// Answers `method` with `handler`, which gives its response already
    /// encoded: for a handler that had to encode the response anyway (to
    /// store it), so that the server does not encode it a second time.
    public mutating func registerEncoded<Request, Response>(
        _ method: RPCMethod<Request, Response>,
        defaultTimeout: Duration = .seconds(30),
        checksLimits: Bool = true,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Encoded<Response>
    ) {
        precondition(self.handlers[method.fullName] == nil, "\(method.fullName) is registered twice")
        self.handlers[method.fullName] = Handler(
            defaultTimeout: defaultTimeout, requestType: Request.protoMessageName, responseType: Response.protoMessageName
        ) { payload, context in
            let request: Request
            do {
                request = try Request(serializedBytes: payload)
            } catch {
                throw RPCError(
                    .invalidArgument,
                    "the request payload is not a valid \(Request.protoMessageName): \(DecodingFailure.reason(error)); encode it with the .proto in Proto/"
                )
            }
            if checksLimits { try RequestLimits.check(request) }
            var context = context
            context.payload = payload
            return try await handler(request, context).bytes
        }
    }

    /// Adds every method of `service`.
    public mutating func register(_ service: some RPCService) {
        service.register(into: &self)
    }

    /// The registered method names, sorted.
    public var methods: [String] { self.handlers.keys.sorted() }

    /// Every registered method with its message names, sorted by full name:
    /// what `support.reflection.v1.Reflection/ListMethods` answers.
    public var methodDescriptors: [Support_Reflection_V1_MethodDescriptor] {
        self.handlers.sorted { $0.key < $1.key }.map { name, handler in
            var descriptor = Support_Reflection_V1_MethodDescriptor()
            descriptor.fullName = name
            descriptor.requestType = handler.requestType
            descriptor.responseType = handler.responseType
            return descriptor
        }
    }

    func handler(for method: String) -> Handler? { self.handlers[method] }
}

/// A `Message`'s wire form, as a handler answers it.
public struct Encoded<Message: SwiftProtobuf.Message>: Sendable {
    public let bytes: Data

    /// Encodes `message`.
    public init(_ message: Message) throws {
        self.bytes = try message.serializedBytes()
    }

    /// `bytes`, which must be a `Message`'s encoding (one stored earlier, or
    /// made beside the message): they are sent as they are.
    public init(bytes: Data) {
        self.bytes = bytes
    }
}

/// A set of methods that belong together (Health, Clock, Intake, …).
public protocol RPCService: Sendable {
    func register(into router: inout RPCRouter)
}
