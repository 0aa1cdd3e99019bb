import Foundation
import Logging

extension RPCServer {
    /// The methods this server answers, by full name, sorted.
    public var methodNames: [String] { self.router.methods }

    /// Runs one call in this process, without a socket: the payload is
    /// decoded, checked by ``RequestLimits`` and handed to the method's
    /// handler exactly as a connection does, but no access policy, deadline
    /// or connection limit applies.
    ///
    /// For harnesses that drive the real handlers with arbitrary payloads
    /// (Fuzz/'s PayloadFuzzer, issue 21); services and clients never call it.
    ///
    /// - Returns: The encoded response.
    /// - Throws: `UNIMPLEMENTED` for a method the server does not answer,
    ///   else whatever the handler throws.
    public func callInProcess(_ method: String, payload: Data, logger: Logger, metadata: Metadata = Metadata()) async throws -> Data {
        guard let handler = self.router.handler(for: method) else {
            throw RPCError(.unimplemented, "\(self.configuration.serviceName) has no method \(method)")
        }
        let context = ServerContext(
            method: method, requestID: RequestID.make(), metadata: metadata, deadline: .now + .seconds(30), logger: logger
        )
        return try await handler.run(payload, context)
    }
}
