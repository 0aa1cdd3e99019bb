import Foundation

/// One mailbox: an addr-spec that was checked when the value was made, and
/// a display name that is written quoted or encoded, never as it came.
///
/// Addresses are refused, not repaired: an address with a line break, a
/// space, a second `@` or anything outside RFC 5322's dot-atom form (no
/// quoted local parts, no address literals, no non-ASCII) could send the
/// mail somewhere else, so the message fails with the reason instead
/// (issue 21, finding 5). Display names are text: sanitised like a
/// subject (``MailHeaders/sanitisedText(_:)``).
struct MailAddress: Sendable, Equatable {
    let displayName: String
    let addrSpec: String

    /// RFC 5321's limits: 64 octets of local part, 254 in all.
    static let maximumLength = 254

    init(_ addrSpec: String, name: String = "") throws {
        guard Self.isAddrSpec(addrSpec) else {
            throw MailHeaderError(
                .invalidAddress,
                "\"\(addrSpec.prefix(80).unicodeScalars.map { $0.escaped(asASCII: true) }.joined())\" is not a mail address (local@domain, ASCII dot-atoms, at most \(Self.maximumLength) characters)"
            )
        }
        self.addrSpec = addrSpec
        let name = MailHeaders.sanitisedText(name)
        self.displayName = name == addrSpec ? "" : name
    }

    /// Reads `Name <local@domain>` or `local@domain`, as an operator writes
    /// notifier.json's `from`.
    static func parse(_ text: String) throws -> MailAddress {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard text.hasSuffix(">"), let open = text.lastIndex(of: "<") else { return try MailAddress(text) }
        var name = text[..<open].trimmingCharacters(in: .whitespaces)
        if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") { name = String(name.dropFirst().dropLast()) }
        return try MailAddress(String(text[text.index(after: open)..<text.index(before: text.endIndex)]), name: name)
    }

    /// The display name as header atoms: nothing, one quoted-string, or
    /// encoded-words when it is not plain ASCII, looks like an
    /// encoded-word, or would not fit on a line.
    func phraseAtoms(firstBudget: Int) -> [String] {
        guard !self.displayName.isEmpty else { return [] }
        let escaped = self.displayName.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let plain = self.displayName.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F } && !self.displayName.contains("=?")
            && escaped.utf8.count <= 60
        guard plain else { return MailHeaders.encodedWords(self.displayName, firstBudget: firstBudget) }
        return ["\"\(escaped)\""]
    }

    /// `local@domain`: both RFC 5322 dot-atoms, the domain's labels letters,
    /// digits and hyphens.
    static func isAddrSpec(_ text: String) -> Bool {
        guard text.utf8.count <= Self.maximumLength else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 64, Self.isDotAtom(parts[0]), Self.isDotAtom(parts[1]) else { return false }
        return parts[1].split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-") && label.utf8.allSatisfy(Self.isLabelCharacter)
        }
    }

    /// RFC 5322 dot-atom-text: atext runs joined by single dots.
    static func isDotAtom(_ text: Substring) -> Bool {
        !text.isEmpty && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { atom in
            !atom.isEmpty && atom.utf8.allSatisfy(Self.isAtext)
        }
    }

    private static func isLabelCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): true
        default: false
        }
    }

    private static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
        }
    }
}
