// swift-tools-version:6.1
// supportbench: SupportDesk measured against its physical limits and the
// peers a user would pick instead (issue 9). A package of its own so that the
// main build and the services never compile gRPC or benchmark-only code.
import Foundation
import PackageDescription

/// A path dependency is named after its folder, which is whatever the clone
/// is called (`main`, `wt-bench`, `supportdesk`…): refer to it by that name.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

/// The main package's settings (STYLE 1): Swift 6 mode, ExistentialAny, and
/// warnings as errors in CI.
let settings: [SwiftSetting] =
    [.enableUpcomingFeature("ExistentialAny")]
    + (ProcessInfo.processInfo.environment["CI"] == "true" ? [.unsafeFlags(["-warnings-as-errors"])] : [])

let package = Package(
    name: "SupportDeskBenchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "supportbench", targets: ["supportbench"])
    ],
    // The grpc-swift-2 baseline is a trait so that CI, which only checks
    // that the suite builds and runs, can leave gRPC (and BoringSSL) out:
    // `swift build --disable-default-traits`.
    traits: [
        .trait(name: "GRPCBaseline", description: "Measure grpc-swift-2 over a Unix socket beside SupportRPC."),
        .default(enabledTraits: ["GRPCBaseline"]),
    ],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "supportbench",
            dependencies: [
                .product(name: "SupportRPC", package: root),
                .product(name: "SupportProto", package: root),
                .product(name: "ServiceKit", package: root),
                .product(name: "Intake", package: root),
                .product(name: "SLATimer", package: root),
                .product(name: "Escalation", package: root),
                .product(name: "Notifier", package: root),
                .product(name: "GRPCCore", package: "grpc-swift-2", condition: .when(traits: ["GRPCBaseline"])),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport", condition: .when(traits: ["GRPCBaseline"])),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf", condition: .when(traits: ["GRPCBaseline"])),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings
        )
    ]
)
