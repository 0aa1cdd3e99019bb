import Foundation

/// A fresh directory under /tmp, short enough for Unix socket paths (108
/// bytes), removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "sd") throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown)
        }
        self.path = String(cString: made)
    }

    public func file(_ name: String) -> String { "\(self.path)/\(name)" }

    public func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}
