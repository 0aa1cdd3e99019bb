import Foundation
import SupportRPC

#if canImport(Glibc)
import Glibc
#endif

/// Reads `access.json`, the allow-lists of ``AccessPolicy``, from the
/// configuration directory. Users and groups are names (resolved once, at
/// start) or numeric ids; an unknown name or key stops the start naming it.
public enum AccessConfig {
    public static let fileName = "access.json"

    /// The policy in `directory`, or nil when it has no access.json.
    public static func load(configDirectory directory: URL) throws -> AccessPolicy? {
        let url = directory.appendingPathComponent(Self.fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try Self.parse(data)
    }

    /// Parses access.json's bytes; throws a ``RuntimeError`` that names what
    /// is wrong (the fuzzer's entry point too).
    public static func parse(_ data: Data) throws -> AccessPolicy {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw RuntimeError("\(Self.fileName): the top level must be an object")
            }
            root = object
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError("\(Self.fileName) is not valid JSON: \(error)")
        }
        try Self.refuseUnknown(root, allowed: ["formatVersion", "comment", "trustServiceUser", "customer", "staff", "admin"], at: "")
        var policy = AccessPolicy()
        if let trust = root["trustServiceUser"] {
            guard let trust = trust as? Bool else { throw RuntimeError("\(Self.fileName): trustServiceUser must be true or false") }
            policy.trustServiceUser = trust
        }
        policy.customer = try Self.allowList(root["customer"], key: "customer")
        policy.staff = try Self.allowList(root["staff"], key: "staff")
        policy.admin = try Self.allowList(root["admin"], key: "admin")
        return policy
    }

    private static func allowList(_ value: Any?, key: String) throws -> AccessPolicy.AllowList {
        guard let value else { return .init() }
        guard let object = value as? [String: Any] else { throw RuntimeError("\(Self.fileName): \(key) must be an object with users and groups") }
        try Self.refuseUnknown(object, allowed: ["users", "groups"], at: key)
        var list = AccessPolicy.AllowList()
        for (index, user) in try Self.names(object["users"], key: "\(key).users").enumerated() {
            if let uid = UInt32(user) {
                list.uids.insert(uid)
            } else if let entry = getpwnam(user) {
                list.uids.insert(entry.pointee.pw_uid)
            } else {
                throw RuntimeError("\(Self.fileName): \(key).users[\(index)]: no user \"\(user)\" on this host")
            }
        }
        for (index, group) in try Self.names(object["groups"], key: "\(key).groups").enumerated() {
            if let gid = UInt32(group) {
                list.gids.insert(gid)
            } else if let entry = getgrnam(group) {
                list.gids.insert(entry.pointee.gr_gid)
            } else {
                throw RuntimeError("\(Self.fileName): \(key).groups[\(index)]: no group \"\(group)\" on this host")
            }
        }
        return list
    }

    private static func names(_ value: Any?, key: String) throws -> [String] {
        guard let value else { return [] }
        guard let array = value as? [Any] else { throw RuntimeError("\(Self.fileName): \(key) must be a list of names or ids") }
        return try array.enumerated().map { index, element in
            if let name = element as? String, !name.isEmpty { return name }
            if let number = element as? Int, number >= 0 { return String(number) }
            throw RuntimeError("\(Self.fileName): \(key)[\(index)] must be a name or a numeric id")
        }
    }

    private static func refuseUnknown(_ object: [String: Any], allowed: [String], at path: String) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            let key = path.isEmpty ? unknown : "\(path).\(unknown)"
            throw RuntimeError("\(Self.fileName): \(key): unknown key (allowed: \(allowed.joined(separator: ", ")))")
        }
    }
}
