import Foundation
import SupportProto

typealias Article = Support_Common_V1_Article
typealias ConversationEntry = Support_Intake_V1_ConversationEntry

/// An incident's thread (issue 22): the customer's description, every later
/// message of the customer and of the vendor, and internal notes, numbered
/// 1, 2, 3... in the order they were added. Pure: building articles and the
/// views derived from them.
enum IncidentThread {
    /// A new article, not yet numbered (the store numbers it,
    /// ``IntakeStore/appendArticle(_:to:in:)``).
    ///
    /// The visibility follows the direction: an internal article (a note)
    /// is never public, and nothing else is internal.
    ///
    /// - Parameters:
    ///   - author: A contact's email for the customer's articles, a staff id
    ///     for the vendor's, "sla-timer" for the customer-timeout closure.
    ///   - channel: How it travelled; a vendor message written in intake
    ///     goes out on the portal and by mail (``Channel/portal``).
    ///   - enteredBy: The staff id who recorded a customer's phone or mail
    ///     message; staff-only.
    static func article(
        _ kind: Support_Common_V1_ArticleKind, author: String, direction: Support_Common_V1_Direction,
        channel: Support_Common_V1_Channel, text: String, at: Date, enteredBy: String = "",
        closure: Support_Common_V1_ClosureReason? = nil
    ) -> Article {
        var article = Article()
        article.kind = kind
        article.author = author
        article.direction = direction
        article.channel = channel
        article.visibility = direction == .internal ? .internal : .public
        article.at = .init(date: at)
        article.text = text
        article.enteredBy = enteredBy
        if let closure { article.closure = closure }
        return article
    }

    /// The deprecated `Incident.conversation`, derived from the thread as it
    /// was kept before issue 22: responses (with how they reached the
    /// customer), information requests and answers, workarounds and notes.
    /// The description, replies, resolutions, closures and reopenings have
    /// their own fields or were never in it.
    static func conversation(of thread: [Article]) -> [ConversationEntry] {
        thread.compactMap { article in
            var entry = ConversationEntry()
            switch article.kind {
            case .response:
                entry.kind = .response
                entry.via = article.channel
            case .infoRequest: entry.kind = .infoRequest
            case .customerMessage: entry.kind = .infoProvided
            case .workaround: entry.kind = .workaround
            case .note: entry.kind = .note
            default: return nil
            }
            entry.author = article.author
            entry.at = article.at
            entry.text = article.text
            return entry
        }
    }

    /// The article an entry of the deprecated conversation becomes: how
    /// intake-5-thread carries over what incidents held before issue 22.
    static func article(from entry: ConversationEntry) -> Article {
        var article = Article()
        switch entry.kind {
        case .response:
            article.kind = .response
            article.direction = .toCustomer
        case .infoRequest:
            article.kind = .infoRequest
            article.direction = .toCustomer
        case .infoProvided:
            article.kind = .customerMessage
            article.direction = .fromCustomer
        case .workaround:
            article.kind = .workaround
            article.direction = .toCustomer
        case .note:
            article.kind = .note
            article.direction = .internal
        default:
            // No other kind was ever written; keep it from the customer.
            article.kind = .note
            article.direction = .internal
        }
        article.visibility = article.direction == .internal ? .internal : .public
        article.author = entry.author
        article.channel = entry.via
        article.at = entry.at
        article.text = entry.text
        return article
    }
}
