import Foundation

/// Any JSON value, decoded without a schema so that validation can name
/// the exact key that is wrong (Codable's errors name a coding path but
/// not in the operator's terms, and stop at the first type mismatch).
enum JSONValue: Decodable, Sendable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var typeName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// A JSON value together with where it is — file and key path — so every
/// validation error can say `offices[0].hours.monday[1]: …`.
struct ConfigNode {
    let value: JSONValue
    let file: String
    let key: String

    /// Parses a whole file; its root has the empty key.
    static func parse(_ data: Data, file: String) throws -> ConfigNode {
        do {
            return ConfigNode(value: try JSONDecoder().decode(JSONValue.self, from: data), file: file, key: "")
        } catch {
            // JSONDecoder does not say where the syntax error is;
            // JSONSerialization does ("Invalid value around character 15").
            var detail = "\(error)"
            do {
                _ = try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)
            } catch {
                if let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String { detail = text }
            }
            throw BusinessCalendarError(.malformedJSON, file: file, key: "", "is not valid JSON: \(detail)")
        }
    }

    func error(_ code: BusinessCalendarError.Code, _ message: String) -> BusinessCalendarError {
        BusinessCalendarError(code, file: self.file, key: self.key, message)
    }

    func child(_ name: String, _ value: JSONValue) -> ConfigNode {
        ConfigNode(value: value, file: self.file, key: self.key.isEmpty ? name : "\(self.key).\(name)")
    }

    /// The object's fields; any key outside `allowed` is an error, since it
    /// is most likely a typo that would otherwise be silently ignored.
    func object(allowed: [String]) throws -> ConfigObject {
        guard case .object(let fields) = self.value else {
            throw self.error(.invalidValue, "must be an object, not \(self.value.typeName)")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw self.child(unknown, .null).error(
                .unknownKey, "unknown key; expected one of \(allowed.joined(separator: ", "))")
        }
        return ConfigObject(node: self, fields: fields)
    }

    func array() throws -> [ConfigNode] {
        guard case .array(let items) = self.value else {
            throw self.error(.invalidValue, "must be an array, not \(self.value.typeName)")
        }
        return items.enumerated().map { index, item in
            ConfigNode(value: item, file: self.file, key: "\(self.key)[\(index)]")
        }
    }

    func string(nonEmpty: Bool = true) throws -> String {
        guard case .string(let text) = self.value else {
            throw self.error(.invalidValue, "must be a string, not \(self.value.typeName)")
        }
        if nonEmpty && text.trimmingCharacters(in: .whitespaces).isEmpty {
            throw self.error(.invalidValue, "must not be empty")
        }
        return text
    }

    func int(in range: ClosedRange<Int>) throws -> Int {
        guard case .number(let number) = self.value, let value = Int(exactly: number) else {
            throw self.error(.invalidValue, "must be a whole number, not \(self.value.typeName)")
        }
        guard range.contains(value) else {
            throw self.error(.invalidValue, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func date() throws -> LocalDate {
        let text = try self.string()
        guard let date = LocalDate(text) else {
            throw self.error(.invalidValue, "\"\(text)\" is not a date (YYYY-MM-DD)")
        }
        return date
    }

    func interval() throws -> OpenInterval {
        switch OpenInterval.parse(try self.string()) {
        case .success(let interval): return interval
        case .failure(let problem): throw self.error(.invalidValue, problem.message)
        }
    }
}

/// A JSON object's fields, looked up with the key path kept.
struct ConfigObject {
    let node: ConfigNode
    let fields: [String: JSONValue]

    func required(_ name: String) throws -> ConfigNode {
        guard let value = self.fields[name] else {
            throw self.node.child(name, .null).error(.missingKey, "is required")
        }
        return self.node.child(name, value)
    }

    /// The field, or `nil` when absent; an explicit `null` counts as absent.
    func optional(_ name: String) -> ConfigNode? {
        guard let value = self.fields[name] else { return nil }
        if case .null = value { return nil }
        return self.node.child(name, value)
    }
}
