import SupportProto
import SupportRPC

/// What a caller is shown of an incident (R-SCOPE, issue 22): the one
/// place an Incident is made fit for the caller before intake answers with
/// it. Every handler that answers with an Incident (or a list of them)
/// passes it through ``shown(_:to:)``.
///
/// A call made for a contact (`caller.identity contact:<email>`) never
/// receives an internal article (nor, with it, its attachments), the
/// deprecated conversation's notes, or a field intake.proto marks
/// "Staff-only": Incident.entered_by, Incident.problem_id and
/// Article.entered_by come back empty. Every other caller is staff and sees
/// everything.
enum IncidentView {
    /// `incident` as `caller` may see it, with the deprecated conversation
    /// derived from the thread it is shown.
    static func shown(_ incident: Incident, to caller: Caller) -> Incident {
        var shown = incident
        if case .contact = caller {
            shown.enteredBy = ""
            shown.problemID = ""
            shown.thread = incident.thread.compactMap(Self.forContact)
        }
        shown.conversation = IncidentThread.conversation(of: shown.thread)
        return shown
    }

    /// An article as a contact sees it, or nil when it is internal.
    static func forContact(_ article: Article) -> Article? {
        // Anything not explicitly public is withheld: a visibility added
        // later, or left unset, stays with staff.
        guard article.visibility == .public, article.direction != .internal else { return nil }
        var article = article
        article.enteredBy = ""
        return article
    }
}
