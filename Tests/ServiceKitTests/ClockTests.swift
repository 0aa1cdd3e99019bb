import Foundation
import ServiceKit
import Synchronization
import Testing

@Suite("Clock")
struct ClockTests {
    @Test("A manual clock stands still, moves forward only, and calls its listeners before a move returns")
    func manualClock() async throws {
        let start = Date(timeIntervalSince1970: 1_796_371_200)  // 2026-12-04T08:00:00Z
        let clock = ManualClock(start: start)
        let seen = Mutex<[Date]>([])
        clock.onChange { now in
            try? await Task.sleep(for: .milliseconds(5))
            seen.withLock { $0.append(now) }
        }
        #expect(clock.now() == start)
        try await clock.advance(by: 5400)
        #expect(seen.withLock { $0 } == [start + 5400], "the listener ran before advance returned")
        await #expect(throws: ClockError.backwards(now: start + 5400, requested: start)) {
            try await clock.set(to: start)
        }
        await #expect(throws: ClockError.negative(-1)) { try await clock.advance(by: -1) }
        #expect(clock.now() == start + 5400)
    }

    @Test("Concurrent moves reach listeners in order")
    func movesAreSerialised() async throws {
        let clock = ManualClock(start: Date(timeIntervalSince1970: 0))
        let seen = Mutex<[Date]>([])
        clock.onChange { now in
            try? await Task.sleep(for: .milliseconds(1))
            seen.withLock { $0.append(now) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { try await clock.advance(by: 60) } }
            try await group.waitForAll()
        }
        let times = seen.withLock { $0 }
        #expect(times.count == 20)
        #expect(times == times.sorted())
        #expect(clock.now() == Date(timeIntervalSince1970: 1200))
    }
}

@Suite("Options and layout")
struct OptionsTests {
    @Test("The runtime dir is --runtime-dir, else $SUPPORTDESK_RUNTIME_DIR, else ./.run")
    func runtimeDirectory() {
        #expect(RuntimeLayout(directory: "/srv/sd", environment: ["SUPPORTDESK_RUNTIME_DIR": "/x"]).directory == "/srv/sd")
        #expect(RuntimeLayout(directory: nil, environment: ["SUPPORTDESK_RUNTIME_DIR": "/x"]).directory == "/x")
        let fallback = RuntimeLayout(directory: nil, environment: [:])
        #expect(fallback.directory == FileManager.default.currentDirectoryPath + "/.run")
        #expect(RuntimeLayout(directory: "/r").socketPath(for: "sla-timer") == "/r/sla-timer.sock")
        #expect(RuntimeLayout(directory: "/r").databasePath(for: "intake") == "/r/intake.sqlite")
    }

    @Test("--socket and --database override the runtime dir's paths")
    func overrides() throws {
        let options = try ServiceOptions.parse(["--runtime-dir", "/r", "--socket", "/s/i.sock"])
        #expect(options.socketPath(for: "intake") == "/s/i.sock")
        #expect(options.databasePath(for: "intake") == "/r/intake.sqlite")
    }

    @Test("--fake-clock takes ISO 8601 with an offset and refuses anything else with an example")
    func fakeClockFlag() throws {
        let options = try ServiceOptions.parse(["--fake-clock", "2026-12-04T17:00:00+09:00"])
        #expect(options.fakeClockStart == Date(timeIntervalSince1970: 1_796_371_200))
        #expect(throws: (any Error).self) { try ServiceOptions.parse(["--fake-clock", "friday"]) }
        let message = ServiceOptions.message(for: ServiceOptionsTestError.parse(["--fake-clock", "friday"]))
        #expect(message.contains("2026-12-04T08:00:00Z"))
    }
}

enum ServiceOptionsTestError {
    static func parse(_ arguments: [String]) -> any Error {
        do {
            _ = try ServiceOptions.parse(arguments)
            return CancellationError()
        } catch {
            return error
        }
    }
}
