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
///   value this build does not know is refused, not silently stored).
///
/// A violation is `INVALID_ARGUMENT` naming the field by its proto path
/// (`contact.email`, `events[3].payload…`), with reason `FIELD_TOO_LONG` or
/// `FIELD_INVALID`.
public enum RequestLimits {
    /// Ids, emails, names, titles: 1 KiB.
    public static let identifierLimit = 1024
    /// Conversation messages, notes, reasons, report text: 64 KiB.
    public static let textLimit = 64 * 1024
    /// Fields whose proto name is one of these take ``textLimit``.
    public static let textFields: Set<String> = [
        "message", "body", "text", "detail", "description", "note", "reason", "summary", "workaround", "markdown", "comment",
    ]

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

/// Walks a message and its nested messages, checking strings and enums.
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

    private func nested<M: SwiftProtobuf.Message>(_ value: M, _ number: Int, index: Int? = nil) throws {
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
