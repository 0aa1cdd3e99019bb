/// Why office configuration could not be loaded: the file, the key in it
/// and a sentence saying what is wrong, e.g.
/// `offices.json: offices[0].hours.monday[1]: end 25:00 is after 24:00`.
///
/// The arithmetic itself never throws and never traps: what it cannot
/// answer (an instant tens of thousands of years away, a negative duration)
/// is `nil`. Only loading throws.
public struct BusinessCalendarError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is. A struct over a private enum so codes
    /// can be added without breaking callers that switch over them.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unreadableFile = "unreadable file"
            case malformedJSON = "malformed JSON"
            case missingKey = "missing key"
            case unknownKey = "unknown key"
            case invalidValue = "invalid value"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file is missing or cannot be read.
        public static let unreadableFile = Code(.unreadableFile)
        /// The file is not JSON at all.
        public static let malformedJSON = Code(.malformedJSON)
        /// A required key is absent.
        public static let missingKey = Code(.missingKey)
        /// A key this format does not have, usually a typo.
        public static let unknownKey = Code(.unknownKey)
        /// A value of the wrong type, out of range, or contradicting another.
        public static let invalidValue = Code(.invalidValue)

        public var description: String { self.base.rawValue }
    }

    public var code: Code
    /// The file, relative to the configuration directory: `offices.json`,
    /// `holidays/jp.json`.
    public var file: String
    /// Where in the file: `offices[0].hours.monday[1]`; empty for the
    /// whole file.
    public var key: String
    /// What is wrong and, where it helps, what to do.
    public var message: String

    public init(_ code: Code, file: String, key: String, _ message: String) {
        self.code = code
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        self.key.isEmpty ? "\(self.file): \(self.message)" : "\(self.file): \(self.key): \(self.message)"
    }
}
