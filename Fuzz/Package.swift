// swift-tools-version:6.1
// libFuzzer harnesses for SupportDesk (issue 10): a package of its own so
// that the main package's build and tests never see the sanitizer flags.
// One executable per harness; each defines LLVMFuzzerTestOneInput and gets
// main from libFuzzer. Build and run them with scripts/fuzz, which passes
//   swift build -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address
// (`--sanitize fuzzer` alone makes SwiftPM link libFuzzer's main instead of
// the target's; the combined -Xswiftc flag gives the frontend coverage
// instrumentation and ASan together, which two separate `--sanitize`
// options do not on Swift 6.3).
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory (the checkout's
/// name: main, a worktree, a CI workspace), not after its manifest.
let supportDesk = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

/// libFuzzer supplies main, so no harness file is a top-level script. As in
/// the main package, warnings are errors in CI.
let settings: [SwiftSetting] =
    [.unsafeFlags(["-parse-as-library"]), .enableUpcomingFeature("ExistentialAny")]
    + (ProcessInfo.processInfo.environment["CI"] == "true" ? [.unsafeFlags(["-warnings-as-errors"])] : [])

func harness(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: dependencies, path: "Sources/\(name)", swiftSettings: settings)
}

let package = Package(
    name: "SupportDeskFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        harness("FrameDecoderFuzzer", [
            .product(name: "SupportRPC", package: supportDesk),
            .product(name: "SupportProto", package: supportDesk),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // Decodes every message, then drives the four services' handlers
        // in process on temporary databases (issue 21).
        harness("PayloadFuzzer", [
            .product(name: "SupportRPC", package: supportDesk),
            .product(name: "SupportProto", package: supportDesk),
            .product(name: "ServiceKit", package: supportDesk),
            .product(name: "Intake", package: supportDesk),
            .product(name: "SLATimer", package: supportDesk),
            .product(name: "Escalation", package: supportDesk),
            .product(name: "Notifier", package: supportDesk),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        harness("CalendarFuzzer", [
            .product(name: "BusinessCalendar", package: supportDesk),
        ]),
        harness("ConfigFuzzer", [
            .product(name: "BusinessCalendar", package: supportDesk),
            .product(name: "SLATimer", package: supportDesk),
            .product(name: "Escalation", package: supportDesk),
            .product(name: "Notifier", package: supportDesk),
            .product(name: "ServiceKit", package: supportDesk),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
    ]
)
