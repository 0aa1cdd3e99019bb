import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The system's words for a failed socket operation, for a client's status
/// messages: NIO's errors print their Swift names (`ioOnClosedChannel`,
/// `connect(descriptor:addr:size:)`), which tell a caller nothing it can
/// act on.
enum SocketFailure {
    /// "Connection refused (errno 111)", "the connection is closed", …; nil
    /// for an error that is not about the socket (say nothing rather than
    /// print a Swift type).
    static func reason(_ error: any Error) -> String? {
        switch error {
        case let error as IOError:
            return "\(String(cString: strerror(error.errnoCode))) (errno \(error.errnoCode))"
        case ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed, ChannelError.outputClosed, ChannelError.eof:
            return "the connection is closed"
        case ChannelError.connectTimeout:
            return "connecting timed out"
        default:
            return nil
        }
    }
}
