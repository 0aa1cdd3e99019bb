import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// Every `rpc` the .proto files declare is answered by the services that
/// host its `service`, and each service's Reflection lists exactly those.
///
/// The declarations are read from Proto/support/v1/*.proto themselves, not
/// from the generated tables: a method added to a .proto without a handler
/// (or a proto service no process hosts) fails here.
@Suite("Method registry", .serialized)
struct MethodRegistryTests {
    /// Proto services every process answers (ServiceHost and RPCServer).
    static let onEveryService = [
        "support.health.v1.Health", "support.clock.v1.Clock", "support.admin.v1.Admin",
        "support.events.v1.EventSink", "support.reflection.v1.Reflection",
    ]
    /// The proto service each process exists for.
    static let ownService = [
        "intake": "support.intake.v1.Intake",
        "sla-timer": "support.sla.v1.SLATimer",
        "escalation": "support.escalation.v1.Escalation",
        "notifier": "support.notifier.v1.Notifier",
    ]

    /// The repository's Proto/support/v1, found from this file's path.
    static let protoDirectory: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("Proto/support/v1")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("rpc.proto").path) { return candidate }
        }
        return URL(fileURLWithPath: "Proto/support/v1")
    }()

    /// Full method names (`/support.intake.v1.Intake/OpenIncident`) by full
    /// proto service name, as the .proto files declare them.
    static func declaredMethods() throws -> [String: Set<String>] {
        let files = try FileManager.default.contentsOfDirectory(at: Self.protoDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "proto" }
        let comment = try Regex(#"//[^\n]*"#)
        let packageDeclaration = try Regex(#"(?m)^\s*package\s+([\w.]+)\s*;"#)
        // Our .proto files close a service with a "}" at the start of a line.
        let serviceDeclaration = try Regex(#"(?s)service\s+(\w+)\s*\{(.*?)\n\}"#)
        let rpcDeclaration = try Regex(#"rpc\s+(\w+)\s*\("#)
        var services: [String: Set<String>] = [:]
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8).replacing(comment, with: "")
            guard let package = text.firstMatch(of: packageDeclaration)?.output[1].substring.map(String.init) else {
                Issue.record("\(file.lastPathComponent) declares no package")
                continue
            }
            for service in text.matches(of: serviceDeclaration) {
                guard let name = service.output[1].substring, let body = service.output[2].substring else { continue }
                let full = "\(package).\(name)"
                services[full] = Set(body.matches(of: rpcDeclaration).compactMap { rpc in
                    rpc.output[1].substring.map { "/\(full)/\($0)" }
                })
            }
        }
        return services
    }

    @Test("The .proto files declare every hosted service, and every declared service is hosted")
    func everyProtoServiceIsHosted() throws {
        let declared = try Self.declaredMethods()
        #expect(!declared.isEmpty, "no service declared in \(Self.protoDirectory.path)")
        #expect(Set(declared.keys) == Set(Self.onEveryService + Self.ownService.values))
        #expect(declared.values.allSatisfy { !$0.isEmpty })
    }

    @Test("Every method of every proto service is reachable on its services (called empty, none is UNIMPLEMENTED), and Reflection lists exactly those")
    func everyMethodReachable() async throws {
        let declared = try Self.declaredMethods()
        let cluster = try ServiceCluster(fakeClock: "2026-12-04T01:00:00Z")
        try await cluster.startAll()
        var called = 0
        for service in ServiceCluster.services {
            let hosted = try Self.onEveryService + [#require(Self.ownService[service])]
            let expected = hosted.reduce(into: Set<String>()) { $0.formUnion(declared[$1] ?? []) }
            let client = cluster.client(service)
            for method in expected.sorted() {
                called += 1
                do {
                    _ = try await client.call(method: method, payload: Data(), timeout: .seconds(15))
                } catch let error as RPCError {
                    // Any answer but UNIMPLEMENTED proves a handler ran:
                    // INVALID_ARGUMENT for a missing field, NOT_FOUND, …
                    #expect(error.code != .unimplemented, "\(service) does not answer \(method): \(error.message)")
                }
            }

            let listed = try await client.call(ReflectionRPC.listMethods, .init())
            #expect(listed.service == service)
            let names = listed.methods.map(\.fullName)
            #expect(names == names.sorted(), "\(service) lists its methods unsorted")
            #expect(Set(names) == expected, """
                \(service) lists \(Set(names).subtracting(expected).sorted()) beyond the .proto's and lacks \(expected.subtracting(names).sorted())
                """)
            let typed = Dictionary(uniqueKeysWithValues: AllRPCMethods.all.map { ($0.fullName, $0) })
            for method in listed.methods {
                guard let known = typed[method.fullName] else { continue }
                #expect(method.requestType == known.requestType.protoMessageName, "\(method.fullName)")
                #expect(method.responseType == known.responseType.protoMessageName, "\(method.fullName)")
            }
        }
        // Each process: the 11 methods every service has, plus its own.
        #expect(called >= 4 * 11 + 28 + 6 + 6 + 6, "called only \(called) methods")
        await cluster.shutdown()
    }

    @Test("supportctl methods lists what a service answers, as a table or as JSON")
    func supportctlMethods() async throws {
        let cluster = try ServiceCluster()
        try await cluster.start("intake")
        let table = try await cluster.supportctl("methods", "--service", "intake")
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("METHOD") == true, "\(table.stdout)")
        #expect(lines.contains { $0.contains("/support.intake.v1.Intake/OpenIncident") && $0.contains("support.intake.v1.OpenIncidentRequest") && $0.contains("support.intake.v1.Incident") })
        #expect(lines.contains { $0.contains("/support.reflection.v1.Reflection/ListMethods") })

        let json = try await cluster.supportctl("--json", "methods", "--service", "intake")
        #expect(json.status == 0, "\(json.stderr)")
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(document?["service"] as? String == "intake")
        let methods = document?["methods"] as? [[String: Any]] ?? []
        #expect(methods.contains { $0["fullName"] as? String == "/support.health.v1.Health/Check" && $0["requestType"] as? String == "support.health.v1.CheckRequest" })

        let unknown = try await cluster.supportctl("methods", "--service", "billing")
        #expect(unknown.status != 0)
        await cluster.shutdown()
    }
}
