import Foundation
import GRDB
import Logging
import ServiceKit
import ServiceLifecycle

/// Deletes attachment uploads 24 hours after their BeginAttachment
/// (intake.proto): the bytes of one never committed, and the record of one
/// that was (its bytes are its attachment's now, and a Commit that late is
/// NOT_FOUND as the contract says).
///
/// Expired uploads are already refused by every RPC (``AttachmentStore``
/// reads them as gone); this only gives their space back. It works as
/// ServiceKit's `IdempotencyPruner` does: on the service's clock, every
/// ``interval``, in small transactions so the one writer is held briefly.
final class AttachmentUploadPruner: Service, Sendable {
    /// Uploads forgotten per transaction.
    static let batchSize = 8

    let database: ServiceDatabase
    let clock: any ServiceClock
    let logger: Logger
    let interval: Duration

    init(database: ServiceDatabase, clock: any ServiceClock, logger: Logger, interval: Duration = .seconds(600)) {
        self.database = database
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let pruned = try await self.prune()
                if pruned > 0 { self.logger.info("discarded expired attachment uploads", metadata: ["uploads": "\(pruned)"]) }
            } catch {
                self.logger.warning("expired attachment uploads could not be discarded; trying again later", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }

    /// Deletes the uploads expired on the service's clock, with their
    /// bytes unless they were committed.
    ///
    /// - Returns: How many uploads were deleted.
    @discardableResult
    func prune() async throws -> Int {
        let now = self.clock.now()
        var total = 0
        while true {
            // An upload holds at most 25 MiB by default: a few of them a
            // transaction keeps each one short.
            let deleted = try await self.database.writer.write { db -> Int in
                let expired = try AttachmentStore.expiredUploads(before: now, limit: Self.batchSize, in: db)
                for upload in expired { try AttachmentStore.discard(upload, in: db) }
                return expired.count
            }
            total += deleted
            if deleted < Self.batchSize { return total }
        }
    }
}
