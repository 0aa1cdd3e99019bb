/// An id made of a prefix and a counter value padded with zeros to at
/// least `digits` digits: `numberedID("INC-", 42, digits: 6)` is
/// `"INC-000042"`. Foundation's `String(format:)` parses a printf format on
/// every call, which showed in the profile of OpenIncident (issue 9).
public func numberedID(_ prefix: String, _ number: Int64, digits: Int) -> String {
    let decimal = String(number)
    return prefix + String(repeating: "0", count: max(0, digits - decimal.count)) + decimal
}
