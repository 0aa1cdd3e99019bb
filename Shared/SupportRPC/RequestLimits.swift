import Foundation
import SupportProto
import SwiftProtobuf

/// The limits every request is checked against before its handler runs, on
/// every method of every service, so that no handler has to remember them:
///
/// - a string field holds at most ``identifierLimit`` bytes of UTF-8
///   (ids, emails, names, titles), or ``textLimit`` for the free-text
///   fields named in ``textFields`` (messages, notes, reasons, …);
/// - an enum field holds a value the `.proto` defines (a newer client's
///   value this build does not know is refused, not silently stored);
/// - a `google.protobuf.Timestamp`, at any depth, lies in
///   ``supportedTimes`` (years 1970 through 9999 UTC) with `nanos` in
///   0..<1e9, so that no instant a request or an event carries can overflow
///   the arithmetic behind it (issue 21);
/// - a `google.protobuf.Duration` is at most ``durationSeconds`` either way
///   (10 000 years, as the well-known type documents) with `nanos` under a
///   second and of the same sign; a method bounds its own durations further
///   where it needs to (Clock/Advance: 0 to 100 years).
///
/// A violation is `INVALID_ARGUMENT` naming the field by its proto path
/// (`contact.email`, `events[3].sla_breached.cycle.due_at`), with reason
/// `FIELD_TOO_LONG`, `FIELD_OUT_OF_RANGE` (times and durations) or
/// `FIELD_INVALID`.
public enum RequestLimits {
    /// Ids, emails, names, titles: 1 KiB.
    public static let identifierLimit = 1024
    /// Conversation messages, notes, reasons, report text: 64 KiB.
    public static let textLimit = 64 * 1024
    /// Fields whose proto name is one of these take ``textLimit``.
    public static let textFields: Set<String> = [
        "message", "body", "text", "detail", "description", "note", "reason", "summary", "workaround", "markdown", "comment",
        "resolution", "root_cause", "permanent_fix", "findings",
    ]

    /// The seconds of a Timestamp: 1970-01-01T00:00:00Z through
    /// 9999-12-31T23:59:59Z (issue 21). Documented in common.proto.
    public static let timestampSeconds: ClosedRange<Int64> = 0...253_402_300_799
    /// The instants every service handles, as ``timestampSeconds`` says:
    /// what a clock may be set to and what an event may be dated.
    public static let supportedTimes: Range<Date> =
        Date(timeIntervalSince1970: 0)..<Date(timeIntervalSince1970: 253_402_300_800)
    /// The seconds of a Duration: ±10 000 years, the well-known type's range.
    public static let durationSeconds: ClosedRange<Int64> = -315_576_000_000...315_576_000_000

    /// `INVALID_ARGUMENT` (`FIELD_OUT_OF_RANGE`) naming `field`, unless
    /// `date` is one of the ``supportedTimes``.
    public static func checkSupported(_ date: Date, field: String, _ what: String) throws {
        guard !Self.supportedTimes.contains(date) else { return }
        throw Self.outOfRange(
            field: field,
            "\(field) \(what); times must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"
        )
    }

    /// The error for a time or duration outside its documented range.
    public static func outOfRange(field: String, _ message: String) -> RPCError {
        var detail = Support_Rpc_V1_StatusDetail()
        detail.reason = "FIELD_OUT_OF_RANGE"
        detail.field = field
        detail.description_p = message
        return RPCError(.invalidArgument, message, details: [detail])
    }

    /// Throws the first violation in `message`, if any.
    public static func check(_ message: some SwiftProtobuf.Message) throws {
        var visitor = LimitVisitor(path: "", message: type(of: message).protoMessageName)
        do {
            try message.traverse(visitor: &visitor)
        } catch let violation as Violation {
            throw violation.error
        }
    }

    struct Violation: Error {
        let error: RPCError
    }
}

/// Walks a message and its nested messages, checking strings, enums,
/// timestamps and durations.
///
/// Fields and enums are named from the tables Proto/generate writes
/// (``ProtoFieldNames``, ``ProtoEnumFields``), as the `.proto` names them:
/// a refusal is read by client authors in any language, to whom the Swift
/// type (`Support_Common_V1_Channel`) means nothing.
private struct LimitVisitor: SwiftProtobuf.Visitor {
    let path: String
    /// The full proto name of the message being walked.
    let message: String
    private let names: [Int: String]

    init(path: String, message: String) {
        self.path = path
        self.message = message
        self.names = ProtoFieldNames.byMessage[message] ?? [:]
    }

    private func name(_ number: Int) -> String {
        self.names[number] ?? "field \(number)"
    }

    private func field(_ number: Int, index: Int? = nil) -> String {
        let name = self.name(number)
        let indexed = index.map { "\(name)[\($0)]" } ?? name
        return self.path.isEmpty ? indexed : "\(self.path).\(indexed)"
    }

    private func checkString(_ value: String, _ number: Int, index: Int? = nil) throws {
        let limit = RequestLimits.textFields.contains(self.name(number)) ? RequestLimits.textLimit : RequestLimits.identifierLimit
        let bytes = value.utf8.count
        guard bytes > limit else { return }
        let field = self.field(number, index: index)
        var detail = Support_Rpc_V1_StatusDetail()
        detail.reason = "FIELD_TOO_LONG"
        detail.field = field
        detail.description_p = "\(field) has \(bytes) bytes; the limit is \(limit)"
        throw RequestLimits.Violation(error: RPCError(
            .invalidArgument, "\(field) is too long (\(bytes) bytes of UTF-8; at most \(limit)); shorten it", details: [detail]
        ))
    }

    private func checkEnum<E: SwiftProtobuf.Enum>(_ value: E, _ number: Int, index: Int? = nil) throws {
        guard !Self.defines(value) else { return }
        let field = self.field(number, index: index)
        let enumName = ProtoEnumFields.byMessage[self.message]?[number] ?? "its enum"
        throw RequestLimits.Violation(error: .invalidArgument(
            field: field, "\(field) has the value \(value.rawValue), which \(enumName) does not define; use one of the values in Proto/"
        ))
    }

    private func checkTimestamp(_ value: Google_Protobuf_Timestamp, _ number: Int, index: Int? = nil) throws {
        if RequestLimits.timestampSeconds.contains(value.seconds), (0..<1_000_000_000).contains(value.nanos) { return }
        let field = self.field(number, index: index)
        throw RequestLimits.Violation(error: RequestLimits.outOfRange(
            field: field,
            "\(field) is out of range (seconds \(value.seconds), nanos \(value.nanos)); a Timestamp must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z (seconds \(RequestLimits.timestampSeconds.lowerBound)...\(RequestLimits.timestampSeconds.upperBound), nanos 0...999999999)"
        ))
    }

    private func checkDuration(_ value: Google_Protobuf_Duration, _ number: Int, index: Int? = nil) throws {
        let nanosValid = (-999_999_999...999_999_999).contains(value.nanos)
            && (value.seconds == 0 || value.nanos == 0 || (value.seconds < 0) == (value.nanos < 0))
        if RequestLimits.durationSeconds.contains(value.seconds), nanosValid { return }
        let field = self.field(number, index: index)
        throw RequestLimits.Violation(error: RequestLimits.outOfRange(
            field: field,
            "\(field) is out of range (seconds \(value.seconds), nanos \(value.nanos)); a Duration is at most 10000 years either way (seconds \(RequestLimits.durationSeconds.lowerBound)...\(RequestLimits.durationSeconds.upperBound)) with nanos under a second and of the same sign as seconds"
        ))
    }

    /// Whether `value` is one the `.proto` defines. swift-protobuf keeps a
    /// value it does not know as `UNRECOGNIZED(n)`, which its generated
    /// `allCases` leaves out; an enum without `allCases` (none that
    /// Proto/generate writes) is told by the case name. Not by the name
    /// always: `String(describing:)` reflects the value, and it was a tenth
    /// of intake's event loop under load (issue 9).
    private static func defines<E: SwiftProtobuf.Enum>(_ value: E) -> Bool {
        if let listed = E.self as? any (CaseIterable & SwiftProtobuf.Enum).Type {
            return Self.cases(of: listed, include: value.rawValue)
        }
        return !String(describing: value).hasPrefix("UNRECOGNIZED(")
    }

    private static func cases<C: CaseIterable & SwiftProtobuf.Enum>(of _: C.Type, include rawValue: Int) -> Bool {
        C.allCases.contains { $0.rawValue == rawValue }
    }

    /// A Timestamp or Duration is checked as a whole and named by the field
    /// that holds it (`valid_until`, not `valid_until.seconds`).
    private func nested<M: SwiftProtobuf.Message>(_ value: M, _ number: Int, index: Int? = nil) throws {
        if let timestamp = value as? Google_Protobuf_Timestamp {
            return try self.checkTimestamp(timestamp, number, index: index)
        }
        if let duration = value as? Google_Protobuf_Duration {
            return try self.checkDuration(duration, number, index: index)
        }
        var visitor = LimitVisitor(path: self.field(number, index: index), message: M.protoMessageName)
        try value.traverse(visitor: &visitor)
    }

    mutating func visitSingularStringField(value: String, fieldNumber: Int) throws { try self.checkString(value, fieldNumber) }
    mutating func visitRepeatedStringField(value: [String], fieldNumber: Int) throws {
        for (index, element) in value.enumerated() { try self.checkString(element, fieldNumber, index: index) }
    }
    mutating func visitSingularEnumField<E: SwiftProtobuf.Enum>(value: E, fieldNumber: Int) throws { try self.checkEnum(value, fieldNumber) }
    mutating func visitRepeatedEnumField<E: SwiftProtobuf.Enum>(value: [E], fieldNumber: Int) throws {
        for (index, element) in value.enumerated() { try self.checkEnum(element, fieldNumber, index: index) }
    }
    mutating func visitPackedEnumField<E: SwiftProtobuf.Enum>(value: [E], fieldNumber: Int) throws {
        try self.visitRepeatedEnumField(value: value, fieldNumber: fieldNumber)
    }
    mutating func visitSingularMessageField<M: SwiftProtobuf.Message>(value: M, fieldNumber: Int) throws { try self.nested(value, fieldNumber) }
    mutating func visitRepeatedMessageField<M: SwiftProtobuf.Message>(value: [M], fieldNumber: Int) throws {
        for (index, element) in value.enumerated() { try self.nested(element, fieldNumber, index: index) }
    }
    mutating func visitSingularGroupField<G: SwiftProtobuf.Message>(value: G, fieldNumber: Int) throws { try self.nested(value, fieldNumber) }
    mutating func visitMapField<KeyType, ValueType: MapValueType>(
        fieldType: _ProtobufMap<KeyType, ValueType>.Type, value: _ProtobufMap<KeyType, ValueType>.BaseType, fieldNumber: Int
    ) throws {
        for (key, element) in value {
            if let key = key as? String { try self.checkString(key, fieldNumber) }
            if let element = element as? String { try self.checkString(element, fieldNumber) }
        }
    }
    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type, value: _ProtobufEnumMap<KeyType, ValueType>.BaseType, fieldNumber: Int
    ) throws where ValueType.RawValue == Int {
        for (key, element) in value {
            if let key = key as? String { try self.checkString(key, fieldNumber) }
            try self.checkEnum(element, fieldNumber)
        }
    }
    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type, value: _ProtobufMessageMap<KeyType, ValueType>.BaseType, fieldNumber: Int
    ) throws {
        for (key, element) in value {
            if let key = key as? String { try self.checkString(key, fieldNumber) }
            try self.nested(element, fieldNumber)
        }
    }

    // Numbers, booleans and bytes have no limit of their own here (the frame
    // size bounds bytes); handlers check their ranges.
    mutating func visitSingularDoubleField(value: Double, fieldNumber: Int) throws {}
    mutating func visitSingularInt64Field(value: Int64, fieldNumber: Int) throws {}
    mutating func visitSingularUInt64Field(value: UInt64, fieldNumber: Int) throws {}
    mutating func visitSingularBoolField(value: Bool, fieldNumber: Int) throws {}
    mutating func visitSingularBytesField(value: Data, fieldNumber: Int) throws {}
    mutating func visitUnknown(bytes: Data) throws {}
}
