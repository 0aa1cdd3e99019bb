// Built only with the GRPCBaseline trait (on by default; CI turns it off:
// grpc's transport brings BoringSSL, a quarter of an hour of building).
#if GRPCBaseline
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import SupportProto

/// The peer a user would pick instead: grpc-swift-2 on its NIO HTTP/2
/// transport over a Unix socket, serving the same Health/Check with the same
/// protobuf messages. Hand-written against GRPCCore's router rather than
/// generated, so nothing has to build protoc-gen-grpc-swift.
enum GRPCBaseline {
    static let check = MethodDescriptor(fullyQualifiedService: "support.health.v1.Health", method: "Check")

    struct HealthService: RegistrableRPCService {
        func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
            router.registerHandler(
                forMethod: GRPCBaseline.check,
                deserializer: ProtobufDeserializer<Support_Health_V1_CheckRequest>(),
                serializer: ProtobufSerializer<Support_Health_V1_CheckResponse>()
            ) { request, _ in
                _ = try await ServerRequest(stream: request)
                var response = Support_Health_V1_CheckResponse()
                response.status = .serving
                return StreamingServerResponse(single: ServerResponse(message: response))
            }
        }
    }

    static func serve(at path: String) async throws {
        unlink(path)
        let transport = HTTP2ServerTransport.Posix(address: .unixDomainSocket(path: path), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [HealthService()])
        try await server.serve()
    }

    /// A client on one HTTP/2 connection, running while `body` runs.
    static func withClient<T: Sendable>(
        _ path: String, _ body: @Sendable @escaping (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            try await body(client)
        }
    }

    static func call(_ client: GRPCClient<HTTP2ClientTransport.Posix>) async throws {
        let status = try await client.unary(
            request: ClientRequest(message: Support_Health_V1_CheckRequest()),
            descriptor: Self.check,
            serializer: ProtobufSerializer<Support_Health_V1_CheckRequest>(),
            deserializer: ProtobufDeserializer<Support_Health_V1_CheckResponse>(),
            options: .defaults
        ) { response in try response.message.status }
        guard status == .serving else { throw BenchError("grpc answered \(status)") }
    }
}

#else
/// This build has no grpc-swift-2 baseline (the GRPCBaseline trait is off).
enum GRPCBaseline {
    struct NotBuilt: Error, CustomStringConvertible {
        var description: String { "supportbench was built without the GRPCBaseline trait; build it with default traits" }
    }

    static func serve(at path: String) async throws { throw NotBuilt() }
}
#endif
