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

    @Test("Every Timestamp and Duration field of every request refuses seconds out of range with FIELD_OUT_OF_RANGE naming it (issue 21)",
          arguments: [Int64.min, .max, -1_000_000_000_000, 1_000_000_000_000])
    func everyTimeField(seconds: Int64) throws {
        var times = 0
        for (method, type, field) in Self.requestFields {
            // Text format sets a message field by its own fields; only
            // Timestamp and Duration have `seconds`.
            guard let message = try? type.init(textFormatString: "\(field) { seconds: \(seconds) }") else { continue }
            times += 1
            let error = Self.violation(message)
            let isDuration = method.hasSuffix("/Advance")
            if isDuration && abs(Double(seconds)) <= 315_576_000_000 {
                #expect(error == nil, "\(method) \(field) \(seconds): a Duration of up to 10000 years passes RequestLimits")
                continue
            }
            #expect(error?.code == .invalidArgument, "\(method) \(field) \(seconds) accepted")
            #expect(error?.details.first?.field == field, "\(method): named \(error?.details.first?.field ?? "nothing") instead of \(field)")
            #expect(error?.details.first?.reason == "FIELD_OUT_OF_RANGE")
        }
        #expect(times > 8, "only \(times) Timestamp or Duration request fields found")
    }

    @Test("The edges of the Timestamp range pass; one second or one nano past them does not")
    func timestampEdges() {
        var request = Support_Intake_V1_RegisterCertificateRequest()
        for (seconds, nanos, passes) in [(Int64(0), Int32(0), true), (253_402_300_799, 999_999_999, true), (-1, 0, false),
                                         (253_402_300_800, 0, false), (0, -1, false), (0, 1_000_000_000, false)] {
            request.validFrom.seconds = seconds
            request.validFrom.nanos = nanos
            #expect((Self.violation(request) == nil) == passes, "\(seconds) s \(nanos) ns")
        }
    }

    @Test("Timestamps in repeated and nested messages are named by their path")
    func nestedTimePaths() {
        var deliver = Support_Events_V1_DeliverRequest()
        deliver.events = [Support_Events_V1_Event(), Support_Events_V1_Event()]
        deliver.events[1].slaWarning.remaining.seconds = Int64.min
        #expect(Self.violation(deliver)?.details.first?.field == "events[1].sla_warning.remaining")
        deliver.events[1].slaWarning.remaining.seconds = 60
        deliver.events[1].slaWarning.remaining.nanos = -1
        #expect(Self.violation(deliver)?.details.first?.field == "events[1].sla_warning.remaining", "nanos of the other sign")
        deliver.events[1].slaWarning.remaining.nanos = 0
        #expect(Self.violation(deliver) == nil)
        deliver.events[0].occurredAt.seconds = 1_000_000_000_000
        #expect(Self.violation(deliver)?.details.first?.field == "events[0].occurred_at")
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
