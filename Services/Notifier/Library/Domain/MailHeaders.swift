import Foundation

/// The header section of one mail, built field by field: the only way
/// notifier writes a header (DESIGN.md, Trust: mail headers are built by an
/// API that encodes, never by concatenating text; issue 21, finding 5).
///
/// Each `add…` method checks the field name against RFC 5322 (printable
/// US-ASCII but `:`), takes a name once only, and writes the value in the
/// form its kind needs, so no value can end the field early and start
/// another one:
///
/// - Text (``addText(_:_:)``, e.g. `Subject`): what a person or a template
///   wrote. Line breaks (CR, LF, NEL, U+2028/9) and tabs become a space,
///   other control characters are dropped (``sanitisedText(_:)``); the
///   rest is kept. Text that is not plain ASCII, looks like an encoded-word
///   or has a word too long for a line is written as RFC 2047 encoded-words
///   (UTF-8, Q encoding), so it decodes to exactly the sanitised text.
/// - Addresses (``addAddresses(_:_:)``): ``MailAddress`` values, whose
///   addr-spec was refused at construction if not well formed; display
///   names are quoted or encoded.
/// - Message ids (``addMessageIDs(_:_:)``): `<left@right>` of RFC 5322
///   dot-atoms, refused otherwise.
///
/// Lines are folded at 78 characters (76 where encoded-words are, RFC
/// 2047), none longer than 998, and end in CRLF.
struct MailHeaders: Sendable, Equatable {
    /// One field as written: `Name: value`, folded, without the final CRLF.
    struct Field: Sendable, Equatable {
        let name: String
        let text: String
    }

    private(set) var fields: [Field] = []

    /// The longest field name accepted: short enough that an encoded-word
    /// always fits on the first line beside it.
    static let maximumNameLength = 40
    /// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters.
    static let recommendedLineLength = 78
    /// RFC 2047 §2: a line holding an encoded-word is at most 76 characters.
    static let encodedLineLength = 76

    /// `name` if it is an RFC 5322 field name (ftext: `!`…`~` but `:`) of
    /// at most ``maximumNameLength`` characters.
    static func checkedName(_ name: String) throws -> String {
        guard !name.isEmpty, name.utf8.count <= Self.maximumNameLength, name.utf8.allSatisfy({ $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: ":") }) else {
            throw MailHeaderError(.invalidFieldName, "\"\(name.prefix(60))\" is not a mail header name (RFC 5322: 1 to \(Self.maximumNameLength) printable ASCII characters, no colon)")
        }
        return name
    }

    /// The field named `name` (ASCII case-insensitive), as written.
    func field(_ name: String) -> Field? {
        self.fields.first { $0.name.lowercased() == name.lowercased() }
    }

    /// Adds an unstructured field (`Subject`, `X-…`): `text` is sanitised
    /// (``sanitisedText(_:)``), then encoded where needed and folded.
    mutating func addText(_ name: String, _ text: String) throws {
        let name = try self.newName(name)
        let text = Self.sanitisedText(text)
        let words = Self.plainWords(text)
        let plain = text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F } && !text.contains("=?")
            && words.allSatisfy { $0.utf8.count <= Self.recommendedLineLength - name.utf8.count - 2 }
        if plain {
            self.append(name, tokens: words, limit: Self.recommendedLineLength)
        } else {
            let encoded = Self.encodedWords(text, firstBudget: Self.firstBudget(name))
            self.append(name, tokens: encoded.enumerated().map { $0.offset == 0 ? $0.element : " " + $0.element }, limit: Self.encodedLineLength)
        }
    }

    /// Adds an address-list field (`From`, `To`, …).
    mutating func addAddresses(_ name: String, _ addresses: [MailAddress]) throws {
        let name = try self.newName(name)
        guard !addresses.isEmpty else { throw MailHeaderError(.invalidAddress, "\(name) needs at least one address") }
        var tokens: [String] = []
        for (index, address) in addresses.enumerated() {
            var atoms = address.phraseAtoms(firstBudget: tokens.isEmpty ? Self.firstBudget(name) : Self.encodedLineLength - 1)
            atoms.append("<\(address.addrSpec)>")
            if index < addresses.count - 1 { atoms[atoms.count - 1] += "," }
            for atom in atoms { tokens.append(tokens.isEmpty ? atom : " " + atom) }
        }
        self.append(name, tokens: tokens, limit: Self.encodedLineLength)
    }

    /// Adds a field of message ids (`Message-ID`, `In-Reply-To`, `References`).
    mutating func addMessageIDs(_ name: String, _ ids: [String]) throws {
        let name = try self.newName(name)
        guard !ids.isEmpty else { throw MailHeaderError(.invalidMessageID, "\(name) needs at least one message id") }
        for id in ids where !Self.isMessageID(id) {
            throw MailHeaderError(.invalidMessageID, "\(name): \"\(id.prefix(80))\" is not a message id (RFC 5322: <left@right> of dot-atoms, at most 250 characters)")
        }
        self.append(name, tokens: ids.enumerated().map { $0.offset == 0 ? $0.element : " " + $0.element }, limit: Self.recommendedLineLength)
    }

    /// Adds an RFC 5322 date-time, e.g. `Fri, 04 Dec 2026 18:00:00 +0000`.
    mutating func addDate(_ name: String, _ date: Date) throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        try self.addText(name, formatter.string(from: date))
    }

    /// The section as written: every field, each line ending in CRLF.
    var serialized: String {
        self.fields.map { $0.text + "\r\n" }.joined()
    }

    // MARK: Building

    private func newName(_ name: String) throws -> String {
        let name = try Self.checkedName(name)
        guard self.field(name) == nil else { throw MailHeaderError(.duplicateField, "\(name) is set twice; a mail has each header once") }
        return name
    }

    /// Room for the first encoded-word, beside `Name: `.
    private static func firstBudget(_ name: String) -> Int {
        min(Self.encodedLineLength - 1, Self.encodedLineLength - name.utf8.count - 2)
    }

    /// Joins `tokens` after `Name: `, starting a new line before a token
    /// when the line would pass `limit`. Every token but the first begins
    /// with whitespace, so each folded line does (RFC 5322 §3.2.2), and
    /// unfolding (removing the CRLFs) gives the value back unchanged.
    private mutating func append(_ name: String, tokens: [String], limit: Int) {
        var text = "\(name): "
        var line = text.utf8.count
        for (index, token) in tokens.enumerated() {
            if index > 0, line + token.utf8.count > limit {
                text += "\r\n"
                line = 0
            }
            text += token
            line += token.utf8.count
        }
        self.fields.append(Field(name: name, text: text))
    }

    /// `text` cut before each run of spaces: the runs stay with the word
    /// after them, so joining the pieces gives `text` back.
    static func plainWords(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inSpaces = false
        for character in text {
            if character == " " {
                if !inSpaces, !current.isEmpty {
                    words.append(current)
                    current = ""
                }
                inSpaces = true
            } else {
                inSpaces = false
            }
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// RFC 5322 §3.6.4 msg-id: `<` dot-atom-text `@` dot-atom-text `>`.
    static func isMessageID(_ id: String) -> Bool {
        guard id.utf8.count <= 250, id.hasPrefix("<"), id.hasSuffix(">") else { return false }
        let parts = id.dropFirst().dropLast().split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { MailAddress.isDotAtom($0) }
    }
}

/// Why a header could not be written. The mail is not sent: the message
/// fails with this sentence, which names the header and the value at fault.
struct MailHeaderError: Error, CustomStringConvertible, Equatable {
    enum Code: Sendable, Equatable {
        case invalidFieldName
        case duplicateField
        case invalidAddress
        case invalidMessageID
        /// A template set a header notifier writes itself.
        case notATemplateHeader
    }

    let code: Code
    let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
