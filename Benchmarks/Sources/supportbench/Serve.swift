import ArgumentParser
import Escalation
import Foundation
import Intake
import Logging
import Notifier
import SLATimer
import ServiceKit
import SupportRPC

/// `supportbench serve KIND`: one server for the measuring process to call.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs one server to be measured (started by the benchmarks themselves).",
        shouldDisplay: false
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        /// SupportRPC's server with nothing but Health.
        case ours
        /// A blocking ping-pong of canned frames: the transport's limit.
        case raw
        /// grpc-swift-2 on its NIO HTTP/2 transport, answering Health/Check.
        case grpc
        /// SwiftNIO cutting frames and answering the canned response: the
        /// floor of any NIO server.
        case nioEcho = "nio-echo"
        case intake, slaTimer = "sla-timer", escalation, notifier
    }

    @Argument var kind: Kind
    @Flag(help: "A service without event subscribers: its outbox is written but not delivered.") var alone = false
    @Option(help: "intake's --max-attachment-bytes.") var maxAttachmentBytes: UInt64 = IntakeService.defaultMaxAttachmentBytes
    @OptionGroup var options: ServiceOptions

    func run() async throws {
        switch self.kind {
        case .ours:
            var logger = Logger(label: "bench.ours")
            logger.logLevel = .error
            let server = RPCServer(configuration: .init(serviceName: "bench", socketPath: try self.requireSocket()), router: RPCRouter(), logger: logger)
            try await server.run()
        case .raw:
            try RawPingPong.serve(at: try self.requireSocket())
        case .grpc:
            try await GRPCBaseline.serve(at: try self.requireSocket())
        case .nioEcho:
            try await NIOEcho.serve(at: try self.requireSocket())
        case .intake, .slaTimer, .escalation, .notifier:
            var definition = self.definition
            if self.alone {
                definition = ServiceDefinition(
                    name: definition.name, synchronous: definition.synchronous, subscribers: [],
                    migrations: definition.migrations, make: definition.make
                )
            }
            try await ServiceHost.run(definition, options: self.options)
        }
    }

    private var definition: ServiceDefinition {
        switch self.kind {
        case .intake: IntakeService.definition(maxAttachmentBytes: self.maxAttachmentBytes)
        case .slaTimer: SLATimerService.definition
        case .escalation: EscalationService.definition
        default: NotifierService.definition
        }
    }

    private func requireSocket() throws -> String {
        // ServiceOptions' --socket serves ours, raw and grpc too (two options
        // of one name fail ArgumentParser's validation in debug builds).
        guard let socket = self.options.socket else { throw ValidationError("serve \(self.kind.rawValue) needs --socket") }
        return socket
    }
}
