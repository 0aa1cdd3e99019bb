import Foundation
import SupportProto
import SupportRPC
import SwiftProtobuf
import Testing

/// RequestLimits on every request field of every method: too-long strings
/// and undefined enum values are INVALID_ARGUMENT naming the field.
@Suite("Request limits")
struct RequestLimitsTests {
    /// Every top-level field of every method's request, by proto name.
    static var requestFields: [(method: String, type: any SwiftProtobuf.Message.Type, field: String)] {
        AllRPCMethods.all.flatMap { method in
            (ProtoFieldNames.byMessage[method.requestType.protoMessageName] ?? [:]).values.sorted().map { (method.fullName, method.requestType, $0) }
        }
    }

    static func violation(_ message: any SwiftProtobuf.Message) -> RPCError? {
        do {
            try RequestLimits.check(message)
            return nil
        } catch {
            return error as? RPCError
        }
    }

    @Test("Every string field of every request is bounded: one byte over its limit is INVALID_ARGUMENT naming it, at the limit it passes")
    func everyStringField() throws {
        var strings = 0
        for (method, type, field) in Self.requestFields {
            let limit = RequestLimits.textFields.contains(field) ? RequestLimits.textLimit : RequestLimits.identifierLimit
            // JSON decoding accepts proto names; only string fields take a string.
            guard let over = try? type.init(jsonString: #"{"\#(field)": "\#(String(repeating: "é", count: limit / 2))x"}"#) else { continue }
            strings += 1
            let error = Self.violation(over)
            #expect(error?.code == .invalidArgument, "\(method) \(field): \(limit + 1) bytes accepted")
            #expect(error?.details.first?.field == field, "\(method): named \(error?.details.first?.field ?? "nothing") instead of \(field)")
            #expect(error?.details.first?.reason == "FIELD_TOO_LONG")
            let at = try type.init(jsonString: #"{"\#(field)": "\#(String(repeating: "é", count: limit / 2))"}"#)
            #expect(Self.violation(at) == nil, "\(method) \(field): \(limit) bytes refused")
        }
        #expect(strings > 100, "the table found only \(strings) string fields; did ProtoFieldNames go stale?")
    }

    @Test("Every enum field of every request refuses a value its .proto does not define")
    func everyEnumField() throws {
        var enums = 0
        for (method, type, field) in Self.requestFields {
            // An enum field decodes an unknown number as UNRECOGNIZED; a
            // number field takes it as a number and passes the check.
            guard let message = try? type.init(jsonString: #"{"\#(field)": 9999}"#), let error = Self.violation(message) else { continue }
            enums += 1
            #expect(error.code == .invalidArgument, "\(method) \(field)")
            #expect(error.details.first?.field == field)
            #expect(error.message.contains("9999"))
        }
        #expect(enums > 10, "only \(enums) enum fields refused an undefined value")
    }

    @Test("Nested and repeated fields are named by their path")
    func nestedPaths() throws {
        var request = Support_Intake_V1_AddContactRequest()
        request.contact.email = String(repeating: "x", count: RequestLimits.identifierLimit + 1)
        #expect(Self.violation(request)?.details.first?.field == "contact.email")

        var deliver = Support_Events_V1_DeliverRequest()
        deliver.events = [Support_Events_V1_Event(), Support_Events_V1_Event()]
        deliver.events[1].incidentID = String(repeating: "x", count: RequestLimits.identifierLimit + 1)
        #expect(Self.violation(deliver)?.details.first?.field == "events[1].incident_id")
    }
}
