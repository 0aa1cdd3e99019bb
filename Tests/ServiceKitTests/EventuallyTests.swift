import Synchronization
import Testing
import TestSupport

/// TestSupport's `eventually`, which every suite waits with (issue 20): a
/// wait that ends without the truth must fail its test.
@Suite("eventually")
struct EventuallyTests {
    /// The issues a known-issue block saw, for the matcher (which must be
    /// Sendable).
    final class Seen: Sendable {
        let comments = Mutex<[String]>([])
        let errors = Mutex<[String]>([])
    }

    @Test("A condition that never holds records a failure naming what was awaited and the last error, and throws")
    func neverHolds() async throws {
        let seen = Seen()
        let thrown = Mutex<(any Error)?>(nil)
        try await withKnownIssue {
            do {
                try await eventually("the impossible", timeout: .milliseconds(200)) { () async throws -> Bool in
                    throw NotYet()
                }
            } catch {
                thrown.withLock { $0 = error }
                throw error
            }
        } matching: { issue in
            if let error = issue.error {
                seen.errors.withLock { $0.append("\(error)") }
            } else {
                seen.comments.withLock { $0.append(contentsOf: issue.comments.map(\.rawValue)) }
            }
            return true
        }
        #expect(thrown.withLock { $0 } is EventuallyTimedOut, "the test cannot go on past it")
        let comments = seen.comments.withLock { $0 }
        #expect(comments.count == 1, "\(comments)")
        #expect(comments.first?.hasPrefix("the impossible did not hold within") == true, "\(comments)")
        #expect(comments.first?.contains("NotYet") == true, "the last look's error is named: \(comments)")
    }

    @Test("A condition that holds after some looks, or a value that appears, ends the wait at once; errors meanwhile are looks that did not hold")
    func holdsLater() async throws {
        var looks = 0
        try await eventually {
            looks += 1
            if looks == 1 { throw NotYet() }
            return looks == 3
        }
        #expect(looks == 3)
        let value = try await eventually { () -> String? in
            looks += 1
            return looks >= 5 ? "found" : nil
        }
        #expect(value == "found" && looks == 5)
    }

    struct NotYet: Error {}
}
