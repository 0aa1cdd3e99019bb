import Foundation

/// One notification as an RFC 5322 message: the headers a mail client
/// needs to show it and to thread an incident's messages together
/// (`Message-ID`, `In-Reply-To`, `References`), and a UTF-8 plain-text body.
///
/// Every header goes through ``MailHeaders`` (issue 21, finding 5); the
/// header section and the body are separated by exactly one empty line.
/// Lines end in CRLF, RFC 5322's form: the sendmail commands notifier
/// drives (postfix's `sendmail_fix_line_endings`, exim, msmtp) and Maildir
/// readers take it as it is.
enum MailFormat {
    /// Throws ``MailHeaderError`` when a value cannot be written safely (a
    /// malformed address or message id): the message must not be sent.
    static func render(_ message: Message, from: String) throws -> Data {
        var headers = MailHeaders()
        try headers.addDate("Date", message.createdAt.date)
        try headers.addAddresses("From", [MailAddress.parse(from)])
        try headers.addAddresses("To", message.recipients.map(Self.address))
        try headers.addText("Subject", message.subject)
        try headers.addMessageIDs("Message-ID", [message.messageIDHeader])
        if !message.inReplyTo.isEmpty {
            try headers.addMessageIDs("In-Reply-To", [message.inReplyTo])
            try headers.addMessageIDs("References", [message.inReplyTo])
        }
        let body = Self.bodyLines(message.body)
        // RFC 5322 §2.1.1: no line over 998 octets; a body with one (a very
        // long title) goes as base64 rather than being cut.
        let longLine = body.contains { $0.utf8.count > 998 }
        try headers.addText("MIME-Version", "1.0")
        try headers.addText("Content-Type", "text/plain; charset=utf-8")
        try headers.addText("Content-Transfer-Encoding", longLine ? "base64" : "8bit")
        try headers.addText("X-SupportDesk-Message", message.id)
        if !message.incidentID.isEmpty { try headers.addText("X-SupportDesk-Incident", message.incidentID) }
        var text = headers.serialized + "\r\n"
        if longLine {
            let encoded = Data(body.map { $0 + "\r\n" }.joined().utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            text += encoded + "\r\n"
        } else {
            text += body.map { $0 + "\r\n" }.joined()
        }
        return Data(text.utf8)
    }

    static func address(_ recipient: Recipient) throws -> MailAddress {
        try MailAddress(recipient.email, name: recipient.name)
    }

    /// The body's lines: line breaks of any convention end a line, other
    /// control characters but tab are dropped (NUL may not appear in an
    /// 8bit body, RFC 2045 §2.8), and a final line break adds no empty line.
    static func bodyLines(_ body: String) -> [String] {
        var lines: [String] = []
        var line = String.UnicodeScalarView()
        var afterCR = false
        for scalar in body.unicodeScalars {
            defer { afterCR = scalar == "\r" }
            switch scalar.value {
            case 0x0A where afterCR:
                continue
            case 0x0A, 0x0D:
                lines.append(String(line))
                line = String.UnicodeScalarView()
            case 0x09:
                line.append(scalar)
            case 0x00...0x1F, 0x7F:
                continue
            default:
                line.append(scalar)
            }
        }
        if !line.isEmpty || lines.isEmpty { lines.append(String(line)) }
        return lines
    }
}
