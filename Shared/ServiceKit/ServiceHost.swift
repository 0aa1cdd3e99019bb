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
    /// The services this one's outbox is delivered to.
    public let subscribers: [String]
    /// Builds the domain on the opened environment, once per process.
    public let make: @Sendable (ServiceEnvironment) throws -> ServiceParts
    /// Validates the service's configuration files in a directory without
    /// opening a database (`--check-config`); returns one line per file.
    public let checkConfig: @Sendable (URL) throws -> [String]

    public init(
        name: String,
        synchronous: ServiceDatabase.Synchronous = .normal,
        subscribers: [String] = [],
        migrations: @escaping @Sendable (inout DatabaseMigrator) -> Void = { _ in },
        make: @escaping @Sendable (ServiceEnvironment) throws -> ServiceParts = { _ in ServiceParts() },
        checkConfig: @escaping @Sendable (URL) throws -> [String] = { _ in [] }
    ) {
        self.name = name
        self.synchronous = synchronous
        self.subscribers = subscribers
        self.migrations = migrations
        self.make = make
        self.checkConfig = checkConfig
    }
}

/// The pieces of one service's domain.
public struct ServiceParts: Sendable {
    /// The domain's RPC services.
    public var rpc: [any RPCService]
    /// Long-running work beside the server (a timer scheduler), stopped
    /// before the server drains.
    public var workers: [any ServiceLifecycle.Service]
    /// Applies another service's event inside the inbox transaction; the
    /// default records it and changes nothing else.
    public var applyEvent: EventInbox.Apply
    /// Runs after a batch of events was applied and committed (wake a
    /// scheduler whose timers may have changed).
    public var afterEvents: @Sendable () -> Void

    public init(
        rpc: [any RPCService] = [],
        workers: [any ServiceLifecycle.Service] = [],
        applyEvent: @escaping EventInbox.Apply = { _, _ in },
        afterEvents: @escaping @Sendable () -> Void = {}
    ) {
        self.rpc = rpc
        self.workers = workers
        self.applyEvent = applyEvent
        self.afterEvents = afterEvents
    }
}

/// What a service's domain code is built on.
public struct ServiceEnvironment: Sendable {
    public let name: String
    public let database: ServiceDatabase
    public let clock: any ServiceClock
    public let logger: Logger
    public let layout: RuntimeLayout
    /// The shared configuration directory (offices, holidays, roster).
    public let configDirectory: URL
    /// Where this service's events are written, in its own transactions.
    public let outbox: EventOutbox
    /// Delivers the outbox; nil for a service nobody subscribes to.
    public let relay: OutboxRelay?
    /// Where the domain records its metrics and registers its gauges.
    public let metrics: ServiceMetrics
    /// Whether the database is still the file opened and writable.
    public let storage: StorageWatch

    public init(
        name: String, database: ServiceDatabase, clock: any ServiceClock, logger: Logger, layout: RuntimeLayout,
        configDirectory: URL, outbox: EventOutbox, relay: OutboxRelay?, metrics: ServiceMetrics = ServiceMetrics(),
        storage: StorageWatch? = nil
    ) {
        self.storage = storage ?? StorageWatch(database: database)
        self.name = name
        self.database = database
        self.clock = clock
        self.logger = logger
        self.layout = layout
        self.configDirectory = configDirectory
        self.outbox = outbox
        self.relay = relay
        self.metrics = metrics
    }

    /// Call after committing a transaction that appended events, so they go
    /// out now rather than at the relay's next periodic look.
    public func eventsCommitted() {
        self.relay?.wake()
    }
}

/// One running service: its environment and its RPC server. `main` builds it
/// with ``ServiceHost/build(_:options:logger:)`` and runs it; tests build the
/// same thing in process.
public struct ServiceProcess: Sendable {
    public let environment: ServiceEnvironment
    public let server: RPCServer
    public let workers: [any ServiceLifecycle.Service]
}

public enum ServiceHost {
    /// Opens the database, chooses the clock and assembles the server.
    public static func build(
        _ definition: ServiceDefinition,
        options: ServiceOptions,
        logger: Logger,
        listeningSocket: Int32? = nil
    ) throws -> ServiceProcess {
        let layout = options.layout
        let socketPath = options.socketPath(for: definition.name)
        let databasePath = options.databasePath(for: definition.name)
        if options.socket == nil || options.database == nil { try layout.create() }

        let database: ServiceDatabase
        do {
            database = try ServiceDatabase(
                path: databasePath, synchronous: definition.synchronous, checkpoints: .background, migrations: definition.migrations
            )
        } catch {
            throw RuntimeError("\(definition.name) cannot open its database \(databasePath): \(error)")
        }

        let clock: any ServiceClock
        if let start = options.fakeClockStart {
            // Resume where the fake clock was, if that is later than asked.
            let persisted = try database.persistedFakeClock()
            // A build before issue 21 let Clock/Set store any time; a clock
            // past year 9999 dates events no service accepts, so refuse to
            // start on it rather than crash later.
            if let persisted, !RequestLimits.supportedTimes.contains(persisted) {
                throw RuntimeError(
                    "\(definition.name)'s database \(databasePath) holds a fake clock of \(persisted.timeIntervalSince1970) seconds since 1970, outside the years 1970-9999 SupportDesk handles (an older build accepted it). Stop the service, delete it with: sqlite3 \(databasePath) 'DELETE FROM fake_clock' and start again with --fake-clock"
                )
            }
            let now = max(start, persisted ?? start)
            clock = ManualClock(start: now)
            logger.notice("running on a fake clock", metadata: ["now": "\(now.rfc3339)"])
        } else {
            clock = WallClock()
        }

        let relay: OutboxRelay? = definition.subscribers.isEmpty ? nil : OutboxRelay(
            database: database,
            subscribers: definition.subscribers.map { name in
                OutboxRelay.Subscriber(name: name, client: RPCClient(socketPath: layout.socketPath(for: name), targetName: name))
            },
            logger: logger
        )
        AdminService.removeStaleSnapshots(of: databasePath)
        let metrics = ServiceMetrics()
        if let relay {
            Self.collectOutboxBacklog(of: relay, clock: clock, into: metrics)
        }
        let environment = ServiceEnvironment(
            name: definition.name, database: database, clock: clock, logger: logger, layout: layout,
            configDirectory: options.configDirectory, outbox: EventOutbox(producer: definition.name), relay: relay,
            metrics: metrics
        )
        let storage = environment.storage
        let parts: ServiceParts
        do {
            parts = try definition.make(environment)
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError("\(definition.name) cannot start: \(error)")
        }
        var router = RPCRouter()
        let inbox = EventInbox(database: database, logger: logger, apply: parts.applyEvent)
        let afterEvents: @Sendable () -> Void = {
            // Applying may have written this service's own events.
            relay?.wake()
            parts.afterEvents()
        }
        router.register(EventSinkService(inbox: inbox, clock: clock, writes: environment.writes, afterCommit: afterEvents))
        router.register(ClockService(serviceName: definition.name, clock: clock, writes: environment.writes))
        router.register(AdminService(
            serviceName: definition.name, database: database, clock: clock, metrics: metrics, writes: environment.writes,
            inbox: inbox, afterEvents: afterEvents
        ))
        metrics.onCollect("events_parked") {
            let parked = try await Blocking.run { try database.writer.read { try EventInbox.parkedCount(in: $0) } }
            metrics.gauge("supportdesk_events_parked").record(parked)
        }
        for service in parts.rpc {
            router.register(service)
        }

        var configuration = RPCServer.Configuration(serviceName: definition.name, socketPath: socketPath)
        do {
            configuration.accessPolicy = try AccessConfig.load(configDirectory: options.configDirectory)
        } catch let error as RuntimeError {
            throw RuntimeError("\(definition.name) cannot load its access policy: \(error.message)")
        }
        configuration.maximumFrameSize = options.maxFrameBytes
        configuration.maximumConnections = options.maxConnections
        configuration.maximumConnectionsPerPeer = options.maxConnectionsPerPeer
        configuration.maximumCallsPerConnection = options.maxCallsPerConnection
        configuration.idleTimeout = .seconds(options.idleTimeout)
        configuration.listeningSocket = listeningSocket
        configuration.metrics = RPCMetrics(factory: metrics.factory)
        configuration.errorStatus = { [name = definition.name, path = database.path] error in
            StorageFailure.status(for: error, service: name, path: path)
        }
        configuration.notServingReason = { storage.current }
        configuration.onListening = { Systemd.notify("READY=1\nSTATUS=serving") }
        configuration.onDraining = { Systemd.notify("STOPPING=1\nSTATUS=draining") }
        configuration.status = {
            var status = Support_Health_V1_StatusResponse()
            status.databasePath = database.path
            if let schema = try? database.schemaVersion() {
                status.schemaVersion = Int64(schema.version)
                status.schemaMigration = schema.latest
            }
            status.fakeClock = clock is ManualClock
            if let depth = try? relay?.depth() {
                status.outboxDepth = Int64(depth.values.reduce(0, +))
            }
            return status
        }
        let server = RPCServer(configuration: configuration, router: router, logger: logger)
        var workers = parts.workers
        workers.append(WALCheckpointer(database: database, logger: logger, metrics: metrics))
        workers.append(IdempotencyPruner(database: database, clock: clock, logger: logger))
        workers.append(StorageWatchWorker(watch: storage, logger: logger))
        if let path = options.metricsTextfile {
            workers.append(MetricsTextfileWriter(path: path, interval: .seconds(options.metricsInterval), metrics: metrics, logger: logger))
        }
        return ServiceProcess(environment: environment, server: server, workers: workers)
    }

    /// `supportdesk_outbox_depth{subscriber}` and
    /// `supportdesk_outbox_oldest_age_seconds{subscriber}`: how far each
    /// subscriber is behind, in events and in (service-clock) time.
    private static func collectOutboxBacklog(of relay: OutboxRelay, clock: any ServiceClock, into metrics: ServiceMetrics) {
        metrics.onCollect("outbox") {
            let backlog = try await Blocking.run { try relay.backlog() }
            let now = clock.now()
            for (subscriber, entry) in backlog {
                metrics.gauge("supportdesk_outbox_depth", [("subscriber", subscriber)]).record(entry.depth)
                let age = entry.oldestCreatedAt.map { max(0, now.timeIntervalSince($0)) } ?? 0
                metrics.gauge("supportdesk_outbox_oldest_age_seconds", [("subscriber", subscriber)]).record(age)
            }
        }
    }

    /// Runs a service until SIGTERM or SIGINT, then drains and returns.
    public static func run(_ definition: ServiceDefinition, options: ServiceOptions) async throws {
        if options.checkConfig {
            try Self.checkConfiguration(definition, options: options)
            return
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = options.logLevel
            return handler
        }
        var logger = Logger(label: "supportdesk.\(definition.name)")
        logger.logLevel = options.logLevel
        do {
            // Under systemd's socket activation the socket is passed in, open.
            let process = try build(definition, options: options, logger: logger, listeningSocket: Systemd.takeListeningSocket())
            // Reverse order on shutdown: the relay stops before the server drains.
            let services: [ServiceGroupConfiguration.ServiceConfiguration] =
                [.init(service: process.server)] + (process.environment.relay.map { [.init(service: $0)] } ?? [])
                + process.workers.map { .init(service: $0) }
            let group = ServiceGroup(
                configuration: .init(
                    services: services,
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        } catch let error as RuntimeError {
            logger.critical("\(error.message)")
            throw ExitCode(1)
        } catch {
            logger.critical("\(definition.name) stopped: \(error)")
            throw ExitCode(1)
        }
    }
}

extension ServiceHost {
    /// `--check-config`: validates the configuration the service would read
    /// and exits 0, or 1 naming the file and key at fault. Touches no
    /// socket and no database, so it can run beside the live service (an
    /// `ExecStartPre=` or a deploy step).
    static func checkConfiguration(_ definition: ServiceDefinition, options: ServiceOptions) throws {
        let directory = options.configDirectory
        do {
            var lines = try definition.checkConfig(directory)
            if let policy = try AccessConfig.load(configDirectory: directory) {
                lines.append("\(AccessConfig.fileName): \(policy.customer.uids.count + policy.customer.gids.count) customer, \(policy.staff.uids.count + policy.staff.gids.count) staff, \(policy.admin.uids.count + policy.admin.gids.count) admin entries")
            }
            for line in lines { print("ok  \(directory.path)/\(line)") }
            print("\(definition.name): configuration in \(directory.path) is valid")
        } catch {
            FileHandle.standardError.write(Data("\(definition.name): configuration error: \(error)\n".utf8))
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
