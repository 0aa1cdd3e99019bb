// The handler half of the payload harness (issue 21): the fuzzer's bytes
// are a request to a real handler of a real service. The four services are
// built once, as their executables build them (ServiceHost.build), each on
// a temporary runtime dir with its own database, on a fake clock, with the
// repository's deploy/config; the first byte chooses a method of one of
// them and the rest is its request payload, called in process through the
// router (decoding, RequestLimits, handler) without a socket.
//
// The services keep their state from one input to the next (incidents,
// certificates, the clock), as a long-running service would. Their workers
// do not run, but a fake clock's moves still fire what comes due, so
// Clock/Set and Clock/Advance drive the timers. Checked: no crash, no
// sanitizer report, no call that never returns (libFuzzer's -timeout).
import Escalation
import Foundation
import Intake
import Logging
import Notifier
import ServiceKit
import SLATimer
import SupportRPC

/// Where the services keep their databases: removed at exit.
let handlerRoot = FileManager.default.temporaryDirectory.appendingPathComponent("supportdesk-payload-fuzz-\(getpid())").path

/// The repository's deploy/config, from this file's path.
let configDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("deploy/config").path
}()

/// Logs nothing: a refused request is the common case here, not news.
let quietLogger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

/// Methods not driven: Backup writes a snapshot of the whole database per
/// call, which fills the disk at fuzzing rates and is not request handling.
let skippedMethods: Set<String> = ["/support.admin.v1.Admin/Backup"]

@_silgen_name("__lsan_disable") func lsanDisable()
@_silgen_name("__lsan_enable") func lsanEnable()

/// Builds the services before the first input (libFuzzer calls this once),
/// so that what they keep for their lifetime is not taken for a leak of
/// whichever input happened to come first.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    // Set-up is not under test: what opening four databases and seeding
    // a roster allocates for good is not reported (LeakSanitizer cannot see
    // every pointer Swift keeps in spare bits).
    lsanDisable()
    _ = handlerTable.count
    lsanEnable()
    return 0
}

/// Every method of every service, with the server that answers it.
let handlerTable: [(server: RPCServer, method: String)] = {
    try? FileManager.default.createDirectory(atPath: handlerRoot, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: handlerRoot) }
    var table: [(server: RPCServer, method: String)] = []
    for definition in [IntakeService.definition, SLATimerService.definition, EscalationService.definition, NotifierService.definition] {
        let directory = "\(handlerRoot)/\(definition.name)"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let options = try ServiceOptions.parse([
                "--runtime-dir", directory, "--fake-clock", "2026-12-04T01:00:00Z", "--config-dir", configDirectory,
            ])
            let process = try ServiceHost.build(definition, options: options, logger: quietLogger)
            for method in process.server.methodNames where !skippedMethods.contains(method) {
                table.append((process.server, method))
            }
        } catch {
            // The harness's own setup, not an input: nothing to fuzz without it.
            fatalError("PayloadFuzzer cannot build \(definition.name) in \(directory) with config \(configDirectory): \(error)")
        }
    }
    return table
}()

/// Calls the method the first byte chooses with the rest as its payload.
func driveHandlers(_ input: Data) {
    guard let selector = input.first else { return }
    let (server, method) = handlerTable[Int(selector) % handlerTable.count]
    let payload = Data(input.dropFirst())
    let done = DispatchSemaphore(value: 0)
    Task {
        // Any refusal is an answer; only a crash or a hang is a finding.
        _ = try? await server.callInProcess(method, payload: payload, logger: quietLogger)
        done.signal()
    }
    done.wait()
}
