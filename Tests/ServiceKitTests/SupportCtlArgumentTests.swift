import SupportCtl
import Testing

@Suite("supportctl arguments")
struct SupportCtlArgumentTests {
    @Test("Durations as operators type them", arguments: [
        ("90m", Duration.seconds(5400)), ("2h", .seconds(7200)), ("3d", .seconds(259_200)),
        ("1h30m", .seconds(5400)), ("45s", .seconds(45)), ("500ms", .milliseconds(500)), ("1w", .seconds(604_800)),
    ])
    func durations(text: String, expected: Duration) {
        #expect(DurationArgument.parse(text) == expected)
    }

    @Test("Nonsense durations are refused", arguments: ["", "m", "10", "ten minutes", "5y", "-1h"])
    func badDurations(text: String) {
        #expect(DurationArgument.parse(text) == nil)
    }

    @Test("Global options may come before or after the subcommand")
    func hoisting() {
        #expect(GlobalOptions.hoist(["--json", "--runtime-dir", "/r", "clock", "show"]) == ["clock", "show", "--json", "--runtime-dir", "/r"])
        #expect(GlobalOptions.hoist(["health", "--json"]) == ["health", "--json"])
        #expect(GlobalOptions.hoist(["--runtime-dir=/r", "call", "X", "--", "--json"]) == ["call", "X", "--runtime-dir=/r", "--", "--json"])
    }
}
