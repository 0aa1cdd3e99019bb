import ArgumentParser
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import SupportProto
import SupportRPC

/// What a service library tells ServiceKit about itself.
public struct ServiceDefinition: Sendable {
    /// The executable's and socket's name: `intake`, `sla-timer`, …
    public let name: String
    public let synchronous: ServiceDatabase.Synchronous
    public let migrations: @Sendable (inout DatabaseMigrator) -> Void
    /// The domain's RPC services, built on the opened environment.
    public let services: @Sendable (ServiceEnvironment) throws -> [any RPCService]

    public init(
        name: String,
        synchronous: ServiceDatabase.Synchronous = .normal,
        migrations: @escaping @Sendable (inout DatabaseMigrator) -> Void = { _ in },
        services: @escaping @Sendable (ServiceEnvironment) throws -> [any RPCService] = { _ in [] }
    ) {
        self.name = name
        self.synchronous = synchronous
        self.migrations = migrations
        self.services = services
    }
}

/// What a service's domain code is built on.
public struct ServiceEnvironment: Sendable {
    public let name: String
    public let database: ServiceDatabase
    public let clock: any ServiceClock
    public let logger: Logger
    public let layout: RuntimeLayout
}

/// One running service: its environment and its RPC server. `main` builds it
/// with ``ServiceHost/build(_:options:logger:)`` and runs it; tests build the
/// same thing in process.
public struct ServiceProcess: Sendable {
    public let environment: ServiceEnvironment
    public let server: RPCServer
}

public enum ServiceHost {
    /// Opens the database, chooses the clock and assembles the server.
    public static func build(
        _ definition: ServiceDefinition,
        options: ServiceOptions,
        logger: Logger
    ) throws -> ServiceProcess {
        let layout = options.layout
        let socketPath = options.socketPath(for: definition.name)
        let databasePath = options.databasePath(for: definition.name)
        if options.socket == nil || options.database == nil { try layout.create() }

        let database: ServiceDatabase
        do {
            database = try ServiceDatabase(path: databasePath, synchronous: definition.synchronous, migrations: definition.migrations)
        } catch {
            throw RuntimeError("\(definition.name) cannot open its database \(databasePath): \(error)")
        }

        let clock: any ServiceClock
        if let start = options.fakeClockStart {
            // Resume where the fake clock was, if that is later than asked.
            let persisted = try database.persistedFakeClock()
            let now = max(start, persisted ?? start)
            clock = ManualClock(start: now)
            logger.notice("running on a fake clock", metadata: ["now": "\(now.rfc3339)"])
        } else {
            clock = WallClock()
        }

        let environment = ServiceEnvironment(name: definition.name, database: database, clock: clock, logger: logger, layout: layout)
        var router = RPCRouter()
        router.register(ClockService(serviceName: definition.name, clock: clock) { now in
            try await database.persistFakeClock(now)
        })
        for service in try definition.services(environment) {
            router.register(service)
        }

        var configuration = RPCServer.Configuration(serviceName: definition.name, socketPath: socketPath)
        configuration.maximumFrameSize = options.maxFrameBytes
        configuration.status = {
            var status = Support_Health_V1_StatusResponse()
            status.databasePath = database.path
            if let schema = try? database.schemaVersion() {
                status.schemaVersion = Int64(schema.version)
                status.schemaMigration = schema.latest
            }
            status.fakeClock = clock is ManualClock
            return status
        }
        let server = RPCServer(configuration: configuration, router: router, logger: logger)
        return ServiceProcess(environment: environment, server: server)
    }

    /// Runs a service until SIGTERM or SIGINT, then drains and returns.
    public static func run(_ definition: ServiceDefinition, options: ServiceOptions) async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = options.logLevel
            return handler
        }
        var logger = Logger(label: "supportdesk.\(definition.name)")
        logger.logLevel = options.logLevel
        do {
            let process = try build(definition, options: options, logger: logger)
            let group = ServiceGroup(
                configuration: .init(
                    services: [.init(service: process.server)],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        } catch let error as RuntimeError {
            logger.critical("\(error.message)")
            throw ExitCode(1)
        }
    }
}

/// The command line of a service executable: `main` is a type that names
/// its ``ServiceDefinition`` and the shared ``ServiceOptions``.
public protocol ServiceCommand: AsyncParsableCommand {
    static var definition: ServiceDefinition { get }
    var options: ServiceOptions { get }
}

extension ServiceCommand {
    public func run() async throws {
        try await ServiceHost.run(Self.definition, options: self.options)
    }
}
