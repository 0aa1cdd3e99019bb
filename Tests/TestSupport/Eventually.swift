import Testing

/// Thrown by ``eventually(_:timeout:pollingEvery:sourceLocation:isolation:_:)``
/// when what it waited for never held; the test failure is recorded already.
public struct EventuallyTimedOut: Error, CustomStringConvertible {
    public let description: String
}

/// Waits for the truth instead of for time (issue 20): polls `condition`
/// until it returns true.
///
/// A condition that throws has not held yet (a service still restarting
/// answers UNAVAILABLE); the last error is reported if it never holds.
///
/// - Parameters:
///   - description: What is awaited, for the failure: "the relay delivered
///     all six events".
///   - timeout: How long to poll. Generous: a passing test waits only as
///     long as the truth takes; a loaded 2-CPU CI runner needs the margin.
///   - interval: The pause between two looks.
/// - Throws: ``EventuallyTimedOut`` after recording a test failure at
///   `sourceLocation`, so a test cannot go on as if it had held.
public func eventually(
    _ description: @autoclosure () -> String = "the condition",
    timeout: Duration = .seconds(60),
    pollingEvery interval: Duration = .milliseconds(20),
    sourceLocation: SourceLocation = #_sourceLocation,
    isolation: isolated (any Actor)? = #isolation,
    _ condition: () async throws -> Bool
) async throws {
    try await eventually(
        description(), timeout: timeout, pollingEvery: interval, sourceLocation: sourceLocation
    ) { () async throws -> Bool? in
        try await condition() ? true : nil
    }
}

/// Polls `probe` until it returns a value, and returns that value; see
/// ``eventually(_:timeout:pollingEvery:sourceLocation:isolation:_:)`` for
/// the rest.
@discardableResult
public func eventually<T>(
    _ description: @autoclosure () -> String = "the awaited value",
    timeout: Duration = .seconds(60),
    pollingEvery interval: Duration = .milliseconds(20),
    sourceLocation: SourceLocation = #_sourceLocation,
    isolation: isolated (any Actor)? = #isolation,
    _ probe: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var lastError: (any Error)?
    while true {
        do {
            if let value = try await probe() { return value }
            lastError = nil
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            lastError = error
        }
        guard clock.now < deadline else { break }
        try await Task.sleep(for: interval)
    }
    let message = "\(description()) did not hold within \(timeout)" + (lastError.map { "; the last look failed: \($0)" } ?? "")
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    throw EventuallyTimedOut(description: message)
}
