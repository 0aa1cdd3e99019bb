import Foundation
import Testing

@testable import Escalation

/// Inputs the configuration fuzz harness (Fuzz/, scripts/fuzz config;
/// issue 10) showed crashing roster.json parsing, replayed: each must be
/// refused with an error naming the entry, never stop the process.
@Suite("roster.json fuzz regressions")
struct RosterSeedFuzzRegressionTests {
    /// JSONSerialization.data(withJSONObject:) calls fatalError on anything
    /// but an array or an object, and every roster entry went through it.
    @Test("A roster entry that is not an object is an error, not a crash", arguments: [
        #"{"rosters":[1]}"#, #"{"rosters":["tokyo"]}"#, #"{"rosters":[null]}"#, #"{"rosters":[true]}"#,
    ])
    func entryNotAnObject(_ json: String) {
        let error = #expect(throws: (any Error).self) { try RosterSeed.parse(Data(json.utf8)) }
        #expect(error.map { "\($0)" }?.contains("must be an object") == true, "\(String(describing: error))")
    }

    @Test("A roster entry that is an array is refused too")
    func entryIsAnArray() {
        #expect(throws: (any Error).self) { try RosterSeed.parse(Data(#"{"rosters":[[1]]}"#.utf8)) }
    }
}
