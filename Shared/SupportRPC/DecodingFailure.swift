import SwiftProtobuf

/// Why bytes did not decode as a message, in words a client author can act
/// on whatever language they write in.
///
/// A status or GoAway message is read by people who never saw Swift: the
/// decoder's own error prints its Swift case (`malformedProtobuf`), which
/// names neither the message nor what to look for.
enum DecodingFailure {
    /// "it is truncated", "a field has the wrong wire type …": the tail of a
    /// sentence that begins "the payload is not a valid support.x.v1.Y: ".
    static func reason(_ error: any Error) -> String {
        if let error = error as? BinaryDecodingError {
            switch error {
            case .truncated:
                return "it is truncated (a field or a length runs past the end of the bytes)"
            case .malformedProtobuf:
                return "it is not protobuf wire format (a field has the wrong wire type, an invalid tag, a number cut short or an impossible length)"
            case .invalidUTF8:
                return "a string field holds bytes that are not valid UTF-8"
            case .trailingGarbage:
                return "bytes follow the end of the message"
            case .missingRequiredFields:
                return "a required field is missing"
            case .messageDepthLimit:
                return "its messages nest deeper than the decoder allows"
            case .internalExtensionError:
                return "an extension field cannot be decoded"
            @unknown default:
                return "it cannot be decoded as protobuf"
            }
        }
        if let error = error as? SwiftProtobufError, error.code == .binaryDecodingError {
            // The one SwiftProtobufError of binary decoding: the bytes are
            // longer than protobuf allows for one message (2 GiB).
            return "it is larger than a protobuf message may be"
        }
        return "it cannot be decoded as protobuf"
    }
}
