import CSupportClient
import CSupportProto
import Foundation

/// The C client as a Swift test drives it: every call blocks, so each runs
/// on a thread of its own — never on Swift's cooperative pool, whose few
/// threads also run the in-process server that must answer it.
struct CClient: Sendable {
    /// The outcome of one C call, copied out of the library's `sd_result`.
    struct Outcome: Sendable, Equatable {
        var code: Int32
        var message: String
        var detailReason: String?
        var detailField: String?
        var codeName: String { String(cString: sd_code_name(self.code)) }
    }

    /// A code of `sd_code` as the library's functions return it.
    static func code(_ code: sd_code) -> Int32 { Int32(bitPattern: code.rawValue) }

    /// Runs `body` on a new thread and waits for it without blocking the pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.start()
        }
    }

    /// Copies a result's status and frees it.
    static func take(_ result: inout sd_result) -> Outcome {
        defer { sd_result_free(&result) }
        return Outcome(
            code: result.code,
            message: result.message.map { String(cString: $0) } ?? "",
            detailReason: result.detail_reason.map { String(cString: $0) },
            detailField: result.detail_field.map { String(cString: $0) }
        )
    }

    /// Connects, runs `body` with the client, closes; all on one thread.
    static func session<T: Sendable>(
        _ socketPath: String, _ body: @escaping @Sendable (OpaquePointer) -> T
    ) async -> Result<T, ConnectError> {
        await blocking {
            var client: OpaquePointer?
            var result = sd_result()
            guard sd_connect(socketPath, 5000, &client, &result) == code(SD_OK), let client else {
                return .failure(ConnectError(outcome: take(&result)))
            }
            sd_result_free(&result)
            defer { sd_close(client) }
            return .success(body(client))
        }
    }

    struct ConnectError: Error, Sendable { let outcome: Outcome }
}

/// C strings for protobuf-c's `char *` fields, freed together.
final class CStrings {
    private var pointers: [UnsafeMutablePointer<CChar>] = []

    func callAsFunction(_ text: String) -> UnsafeMutablePointer<CChar> {
        let pointer = strdup(text)!
        self.pointers.append(pointer)
        return pointer
    }

    deinit { self.pointers.forEach { free($0) } }
}
