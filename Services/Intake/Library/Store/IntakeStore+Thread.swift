import Foundation
import GRDB
import ServiceKit
import SupportProto
import SupportRPC
import SwiftProtobuf

/// Incidents' threads (issue 22): one `article` row per article, keyed by
/// incident and number. The incident's document holds neither the thread
/// nor the deprecated conversation; ``IntakeStore/incident(_:in:)`` reads
/// the thread beside it.
extension IntakeStore {
    /// The incident's thread, oldest first, internal notes included.
    static func thread(of incidentID: String, in db: Database) throws -> [Article] {
        var thread = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT number, kind, author, direction, channel, visibility, at, at_nanos, text, closure, entered_by
                FROM article WHERE incident_id = ? ORDER BY number
                """),
            arguments: [incidentID]
        ).map(Self.article)
        // Each article's files (AttachmentStore), by the article's number.
        let files = Dictionary(grouping: try AttachmentStore.attachments(of: incidentID, in: db).map(\.attachment), by: \.articleNumber)
        if !files.isEmpty {
            for index in thread.indices { thread[index].attachments = files[thread[index].number] ?? [] }
        }
        return thread
    }

    /// Appends `article` to the incident's thread as its next number.
    ///
    /// Everything that adds to a thread comes here: the life-cycle steps
    /// (through ``update(_:adding:in:)``) and, for an attachment, its
    /// commit. The caller also announces a public article with
    /// ArticleAdded in the same transaction (``IncidentLifecycle`` does).
    ///
    /// - Parameters:
    ///   - article: Its `number` is 0 (the store numbers it) or the number
    ///     it must get: a mismatch means the caller's view of the thread is
    ///     stale, and is refused rather than stored out of order.
    ///   - incidentID: An incident that exists.
    /// - Returns: The article's number: 1 for the first (the description).
    @discardableResult
    static func appendArticle(_ article: Article, to incidentID: String, in db: Database) throws -> UInt32 {
        let next = try UInt32.fetchOne(
            db.cachedStatement(sql: "SELECT COALESCE(MAX(number), 0) + 1 FROM article WHERE incident_id = ?"),
            arguments: [incidentID]
        ) ?? 1
        guard article.number == 0 || article.number == next else {
            throw RPCError(.internal, "article \(article.number) of \(incidentID) would follow article \(next - 1); the thread changed under the request")
        }
        try db.executeCached(
            sql: """
                INSERT INTO article (incident_id, number, kind, author, direction, channel, visibility, at, at_nanos, text, closure, entered_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                incidentID, next, article.kind.rawValue, article.author, article.direction.rawValue, article.channel.rawValue,
                article.visibility.rawValue, article.at.seconds, article.at.nanos, article.text,
                article.hasClosure ? try article.closure.serializedBytes() as Data : nil, article.enteredBy,
            ]
        )
        return next
    }

    /// Writes a changed incident and appends the articles its change added.
    static func update(_ incident: Incident, adding articles: [Article], in db: Database) throws {
        try Self.update(incident, in: db)
        for article in articles {
            try Self.appendArticle(article, to: incident.id, in: db)
        }
    }

    /// The document as stored: without the thread (the `article` rows hold
    /// it) and without the conversation derived from it.
    static func document(_ incident: Incident) throws -> Data {
        guard !incident.thread.isEmpty || !incident.conversation.isEmpty else { return try incident.serializedBytes() }
        var stored = incident
        stored.thread = []
        stored.conversation = []
        return try stored.serializedBytes()
    }

    private static func article(_ row: Row) throws -> Article {
        var article = Article()
        article.number = row["number"]
        article.kind = .init(rawValue: row["kind"]) ?? .unspecified
        article.author = row["author"]
        article.direction = .init(rawValue: row["direction"]) ?? .unspecified
        article.channel = .init(rawValue: row["channel"]) ?? .unspecified
        article.visibility = .init(rawValue: row["visibility"]) ?? .unspecified
        article.at.seconds = row["at"]
        article.at.nanos = row["at_nanos"]
        article.text = row["text"]
        if let closure = row["closure"] as Data? { article.closure = try Support_Common_V1_ClosureReason(serializedBytes: closure) }
        article.enteredBy = row["entered_by"]
        return article
    }
}
