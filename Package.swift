// swift-tools-version:6.1
// SupportDesk: four services (intake, sla-timer, escalation, notifier) that
// speak length-prefixed protobuf frames over Unix sockets, and supportctl.
import Foundation
import PackageDescription

/// One settings array for every target (STYLE 1): Swift 6 language mode is
/// the tools-version default; strict concurrency comes with it. In CI
/// (CI=true) warnings are errors.
let settings: [SwiftSetting] =
    [.enableUpcomingFeature("ExistentialAny")]
    + (ProcessInfo.processInfo.environment["CI"] == "true" ? [.unsafeFlags(["-warnings-as-errors"])] : [])

/// The same for the C targets: strict warnings on the code we write (not on
/// protoc-c's output), errors in CI.
let cSettings: [CSetting] =
    [.unsafeFlags(["-Wall", "-Wextra", "-Wpedantic"])]
    + (ProcessInfo.processInfo.environment["CI"] == "true" ? [.unsafeFlags(["-Werror"])] : [])

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOFoundationCompat", package: "swift-nio"),
]

/// A service is a library (domain → store → handlers) and a thin executable.
/// `extra` adds dependencies to the library only (notifier's template engine).
func service(_ name: String, executable: String, extra: [Target.Dependency] = []) -> [Target] {
    [
        .target(
            name: name,
            dependencies: [
                "ServiceKit", "SupportRPC", "SupportProto", "BusinessCalendar",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ] + extra,
            path: "Services/\(name)/Library",
            swiftSettings: settings
        ),
        .executableTarget(
            name: "\(name)Executable",
            dependencies: [
                .target(name: name), "ServiceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/\(name)/Executable",
            swiftSettings: settings
        ),
    ]
}

let package = Package(
    name: "SupportDesk",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "intake", targets: ["IntakeExecutable"]),
        .executable(name: "sla-timer", targets: ["SLATimerExecutable"]),
        .executable(name: "escalation", targets: ["EscalationExecutable"]),
        .executable(name: "notifier", targets: ["NotifierExecutable"]),
        .executable(name: "supportctl", targets: ["SupportCtlExecutable"]),
        .executable(name: "supportdesk-c-example", targets: ["SupportDeskCExample"]),
        .executable(name: "supportdesk-chaos", targets: ["ChaosExecutable"]),
        .library(name: "SupportRPC", targets: ["SupportRPC"]),
        // For Benchmarks/ and Fuzz/ (packages of their own, so gRPC and the
        // fuzzing runtime never enter this build).
        .library(name: "SupportProto", targets: ["SupportProto"]),
        .library(name: "ServiceKit", targets: ["ServiceKit"]),
        .library(name: "BusinessCalendar", targets: ["BusinessCalendar"]),
        .library(name: "Intake", targets: ["Intake"]),
        .library(name: "SLATimer", targets: ["SLATimer"]),
        .library(name: "Escalation", targets: ["Escalation"]),
        .library(name: "Notifier", targets: ["Notifier"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // SHA-256 of attachments (issue 22): Foundation on Linux has none.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        .target(
            name: "SupportProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Shared/SupportProto",
            exclude: ["PROTO_DESCRIPTOR.sha256"],
            swiftSettings: settings
        ),
        .target(
            name: "SupportRPC",
            dependencies: nio + [
                "SupportProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Shared/SupportRPC",
            swiftSettings: settings
        ),
        // The C client (issue 8): the system protobuf-c runtime, protoc-c's
        // messages, and the client library over them. The messages are a
        // target of their own, rooted at generated/, so that every target
        // depending on them (the library, the example, the Swift tests) gets
        // generated/ on its include path: protoc-c's headers include each
        // other as "support/v1/x.pb-c.h".
        .systemLibrary(
            name: "CProtobufC",
            path: "Shared/CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .target(
            name: "CSupportProto",
            dependencies: ["CProtobufC"],
            path: "Shared/CSupportClient/generated",
            publicHeadersPath: "."
        ),
        .target(
            name: "CSupportClient",
            dependencies: ["CSupportProto", "CProtobufC"],
            path: "Shared/CSupportClient",
            exclude: ["generated"],
            sources: ["src"],
            publicHeadersPath: "include",
            cSettings: cSettings
        ),
        .executableTarget(
            name: "SupportDeskCExample",
            dependencies: ["CSupportClient"],
            path: "Examples/CClient",
            cSettings: cSettings
        ),
        .target(
            name: "BusinessCalendar",
            path: "Shared/BusinessCalendar",
            swiftSettings: settings
        ),
        .target(
            name: "ServiceKit",
            dependencies: [
                "SupportRPC", "SupportProto",
                .product(name: "GRDB", package: "GRDB.swift"),
                // sqlite3_db_readonly: whether the database was opened read-only.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Shared/ServiceKit",
            swiftSettings: settings
        ),
        .target(
            name: "SupportCtl",
            dependencies: [
                "SupportRPC", "SupportProto", "ServiceKit", "BusinessCalendar",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Services/SupportCtl/Library",
            swiftSettings: settings
        ),
        .executableTarget(
            name: "SupportCtlExecutable",
            dependencies: ["SupportCtl"],
            path: "Services/SupportCtl/Executable",
            swiftSettings: settings
        ),
        // Shared by every test target (and the chaos command): the harnesses,
        // and `eventually`, the one way a test waits (issue 20).
        .target(
            name: "TestSupport",
            dependencies: [
                "SupportRPC", "ServiceKit", "SupportProto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: settings
        ),
        // scripts/chaos (issue 10): the fault run of Tests/TestSupport/Chaos.swift
        // as a command; the end-to-end suite runs the same code at CI size.
        .executableTarget(
            name: "ChaosExecutable",
            dependencies: ["TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/ChaosExecutable",
            swiftSettings: settings
        ),
        .testTarget(
            name: "SupportRPCTests",
            // NIOEmbedded: ConnectionGuard's timeouts run in virtual time.
            dependencies: ["SupportRPC", "SupportProto", "TestSupport", .product(name: "NIOEmbedded", package: "swift-nio")] + nio,
            path: "Tests/SupportRPCTests",
            swiftSettings: settings
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: [
                "ServiceKit", "SupportCtl", "TestSupport", "SupportRPC", "SupportProto",
                // The write path's idempotency suite calls every service's mutating methods.
                "Intake", "SLATimer", "Escalation", "Notifier",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/ServiceKitTests",
            swiftSettings: settings
        ),
        .testTarget(
            name: "SupportProtoTests",
            dependencies: ["SupportProto", "TestSupport"],
            path: "Tests/SupportProtoTests",
            swiftSettings: settings
        ),
        // Test-only: protoc-c's descriptors by message name, for the
        // conformance vectors (generated by Proto/testdata/generate).
        .target(
            name: "CSupportConformance",
            dependencies: ["CSupportProto", "CProtobufC"],
            path: "Tests/CSupportConformance",
            cSettings: cSettings
        ),
        .testTarget(
            name: "CSupportClientTests",
            dependencies: nio + [
                "CSupportClient", "CSupportProto", "CSupportConformance", "CProtobufC",
                .product(name: "GRDB", package: "GRDB.swift"),
                "SupportProto", "SupportRPC", "TestSupport", "Intake", "Escalation", "ServiceKit",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/CSupportClientTests",
            swiftSettings: settings
        ),
        .testTarget(
            name: "BusinessCalendarTests",
            dependencies: ["BusinessCalendar", "TestSupport"],
            path: "Tests/BusinessCalendarTests",
            swiftSettings: settings
        ),
        .testTarget(
            name: "IntakeTests",
            dependencies: [
                "Intake", "ServiceKit", "SupportRPC", "SupportProto", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/IntakeTests",
            swiftSettings: settings
        ),
        .testTarget(
            name: "SLATimerTests",
            dependencies: [
                "SLATimer", "BusinessCalendar", "ServiceKit", "SupportProto", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                // sqlite3_stmt_status: the deadline-queue test counts re-preparations.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            path: "Tests/SLATimerTests",
            swiftSettings: settings
        ),
        .testTarget(
            name: "EscalationTests",
            dependencies: [
                "Escalation", "BusinessCalendar", "ServiceKit", "SupportProto", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/EscalationTests",
            swiftSettings: settings
        ),
        .testTarget(
            name: "NotifierTests",
            dependencies: [
                "Notifier", "BusinessCalendar", "ServiceKit", "SupportProto", "SupportRPC", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/NotifierTests",
            swiftSettings: settings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "SupportRPC", "SupportProto", "TestSupport", "ServiceKit",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/EndToEndTests",
            swiftSettings: settings
        ),
    ]
        + service("Intake", executable: "intake")
        + service("SLATimer", executable: "sla-timer")
        + service("Escalation", executable: "escalation")
        + service("Notifier", executable: "notifier", extra: [.product(name: "Mustache", package: "swift-mustache")])
)
