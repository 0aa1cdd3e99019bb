import GRDB
import Synchronization

/// Certificates and the Company Account as OpenIncident last read them in
/// the one writer, given again while nothing that could change them has
/// begun since. The two reads were about a tenth of the writer's time under
/// OpenIncident load (issue 9); with every open reading them, they are read
/// far more often than they change.
///
/// Why a given certificate is never stale: every handler that writes a
/// certificate or the Company Account runs inside ``changing(_:)``, from
/// before its request is queued for the writer until its transaction has
/// committed or rolled back and its caller is answered (the store's save
/// functions take the ``Change`` only `changing` hands out, so no write can
/// happen outside it). Beginning and ending a change empty the cache and
/// count a generation. An entry is kept only if no change was under way
/// from before its read until after it, and the generation did not move: the
/// database then held no uncommitted change of these documents in any
/// transaction, so what was read is what the last committed change left,
/// and it stays so until the next change begins, which empties the cache.
final class AccountCache: Sendable {
    /// Proof that a change of certificates or the Company Account is under
    /// way: what ``IntakeStore``'s save functions ask for.
    struct Change: Sendable {
        fileprivate init() {}
    }

    private struct State {
        var generation: UInt64 = 0
        var changing = 0
        var certificates: [String: Certificate] = [:]
        var account: CompanyAccount?
    }

    private let state = Mutex(State())
    /// Certificates kept at most; past it, the others are read each time.
    let limit: Int

    init(limit: Int = 10_000) {
        self.limit = limit
    }

    /// Runs `body`, which may write certificates or the Company Account,
    /// with the cache emptied and out of use until it has returned.
    func changing<T>(_ body: (Change) async throws -> T) async rethrows -> T {
        self.begin()
        defer { self.end() }
        return try await body(Change())
    }

    /// The certificate, as ``IntakeStore/certificate(_:in:)`` reads it.
    func certificate(_ id: String, in db: Database) throws -> Certificate? {
        try self.cached(read: { try IntakeStore.certificate(id, in: db) }, get: { $0.certificates[id] }) { state, certificate in
            guard let certificate, state.certificates.count < self.limit else { return }
            state.certificates[id] = certificate
        }
    }

    /// The Company Account, as ``IntakeStore/companyAccount(in:)`` reads it.
    func companyAccount(in db: Database) throws -> CompanyAccount {
        try self.cached(read: { try IntakeStore.companyAccount(in: db) }, get: { $0.account }) { state, account in
            state.account = account
        }
    }

    private func cached<Value>(
        read: () throws -> Value, get: (State) -> Value?, keep: (inout State, Value) -> Void
    ) throws -> Value {
        // The cached value, or the generation to keep a fresh read under
        // (nil while a change is under way: read, and keep nothing).
        let (cached, generation) = self.state.withLock { state -> (Value?, UInt64?) in
            guard state.changing == 0 else { return (nil, nil) }
            return (get(state), state.generation)
        }
        if let cached { return cached }
        let value = try read()
        if let generation {
            self.state.withLock { state in
                guard state.changing == 0, state.generation == generation else { return }
                keep(&state, value)
            }
        }
        return value
    }

    private func begin() {
        self.state.withLock { state in
            state.changing += 1
            state.generation += 1
            state.certificates.removeAll()
            state.account = nil
        }
    }

    private func end() {
        self.state.withLock { state in
            state.changing -= 1
            state.generation += 1
            state.certificates.removeAll()
            state.account = nil
        }
    }
}
