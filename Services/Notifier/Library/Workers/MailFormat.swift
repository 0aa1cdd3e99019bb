import Foundation

/// One notification as an RFC 5322 message: the headers a mail client
/// needs to show it and to thread an incident's messages together
/// (`Message-ID`, `In-Reply-To`, `References`), and a UTF-8 plain-text body.
///
/// Lines end in LF, the local convention for Maildir files and for
/// `sendmail -t` input; the MTA converts to CRLF on the wire.
enum MailFormat {
    static func render(_ message: Message, from: String) -> Data {
        var headers: [(String, String)] = [
            ("Date", Self.date(message.createdAt.date)),
            ("From", from),
            ("To", message.recipients.map(Self.address).joined(separator: ", ")),
            ("Subject", Self.encodedWord(message.subject)),
            ("Message-ID", message.messageIDHeader),
        ]
        if !message.inReplyTo.isEmpty {
            headers.append(("In-Reply-To", message.inReplyTo))
            headers.append(("References", message.inReplyTo))
        }
        headers += [
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "8bit"),
            ("X-SupportDesk-Message", message.id),
        ]
        if !message.incidentID.isEmpty { headers.append(("X-SupportDesk-Incident", message.incidentID)) }
        var text = headers.map { "\($0): \($1)" }.joined(separator: "\n")
        text += "\n\n" + message.body.replacingOccurrences(of: "\r\n", with: "\n")
        if !text.hasSuffix("\n") { text += "\n" }
        return Data(text.utf8)
    }

    static func address(_ recipient: Recipient) -> String {
        guard !recipient.name.isEmpty, recipient.name != recipient.email else { return "<\(recipient.email)>" }
        let ascii = recipient.name.allSatisfy { $0.isASCII && $0 != "\"" && $0 != "\\" }
        return ascii ? "\"\(recipient.name)\" <\(recipient.email)>" : "\(Self.encodedWord(recipient.name)) <\(recipient.email)>"
    }

    /// RFC 2047 for non-ASCII header text.
    static func encodedWord(_ text: String) -> String {
        guard !text.allSatisfy(\.isASCII) else { return text }
        return "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    /// RFC 5322 date-time, e.g. "Fri, 04 Dec 2026 18:00:00 +0000".
    static func date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}
