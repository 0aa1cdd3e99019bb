import Foundation

extension MailHeaders {
    /// Header text as it may be written: each run of line breaks (CR, LF,
    /// NEL, U+2028, U+2029) and each tab becomes one space, other control
    /// characters (C0, DEL, C1; NUL among them) are dropped, and the ends
    /// are trimmed. A title "x\r\nBcc: a@evil" becomes the subject text
    /// "x Bcc: a@evil", one field (issue 21, finding 5).
    static func sanitisedText(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var inBreak = false
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A, 0x0D, 0x85, 0x2028, 0x2029:
                if !inBreak { scalars.append(" ") }
                inBreak = true
                continue
            case 0x09:
                scalars.append(" ")
            case 0x00...0x1F, 0x7F...0x9F:
                break
            default:
                scalars.append(scalar)
            }
            inBreak = false
        }
        return String(scalars).trimmingCharacters(in: .whitespaces)
    }

    /// `text` as RFC 2047 encoded-words (UTF-8, Q encoding), each of at
    /// most 75 characters (the first at most `firstBudget`) and each made
    /// of whole characters, so every one decodes on its own. A decoder
    /// drops the space between adjacent encoded-words: together they decode
    /// to `text` exactly.
    ///
    /// Only letters, digits and `! * + - /` stay literal, the set RFC 2047
    /// §5 allows in a display name as well as in text; a space is `_`.
    static func encodedWords(_ text: String, firstBudget: Int) -> [String] {
        let prefix = "=?UTF-8?Q?"
        let overhead = prefix.count + 2
        var words: [String] = []
        var current = ""
        var budget = firstBudget
        for scalar in text.unicodeScalars {
            let encoded = Self.qEncoded(scalar)
            if !current.isEmpty, overhead + current.count + encoded.count > budget {
                words.append(prefix + current + "?=")
                current = ""
                budget = Self.encodedLineLength - 1
            }
            current += encoded
        }
        if !current.isEmpty || words.isEmpty { words.append(prefix + current + "?=") }
        return words
    }

    private static func qEncoded(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "!", "*", "+", "-", "/": return String(scalar)
        case " ": return "_"
        default:
            let hex = Array("0123456789ABCDEF")
            return String(scalar).utf8.map { "=\(hex[Int($0 >> 4)])\(hex[Int($0 & 0x0F)])" }.joined()
        }
    }
}
