import ArgumentParser
import Foundation
import ServiceKit
import SupportProto
import SupportRPC

/// `supportctl health`: one row per service; exit 0 only when all four are
/// SERVING.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Show whether each service is serving; exit 0 only when all four are.",
        discussion: "A service that cannot be reached within --timeout (default 5s) counts as not serving."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Check only these services (repeatable).", valueName: "name"))
    var service: [String] = []

    func run() async throws {
        let names = self.service.isEmpty ? RuntimeLayout.services : self.service
        let results = await withTaskGroup(of: (Int, Result<Support_Health_V1_StatusResponse, RPCError>).self) { group in
            for (index, name) in names.enumerated() {
                group.addTask {
                    do {
                        let status = try await self.global.client(for: name).call(
                            HealthRPC.status, .init(), timeout: self.global.timeout.duration
                        )
                        return (index, .success(status))
                    } catch {
                        return (index, .failure(error as? RPCError ?? RPCError(.unknown, "\(error)")))
                    }
                }
            }
            var results = [Result<Support_Health_V1_StatusResponse, RPCError>?](repeating: nil, count: names.count)
            for await (index, result) in group { results[index] = result }
            return results.map { $0! }
        }

        let notServing = zip(names, results).filter { _, result in
            guard case .success(let status) = result else { return true }
            return status.status != .serving
        }.map(\.0)

        if self.global.json {
            var services: [[String: Any]] = []
            for (name, result) in zip(names, results) {
                var entry: [String: Any] = ["name": name]
                switch result {
                case .success(let status):
                    entry["reachable"] = true
                    entry["health"] = try Output.jsonObject(status)
                case .failure(let error):
                    entry["reachable"] = false
                    entry["error"] = ["code": error.code.name, "message": error.message]
                }
                services.append(entry)
            }
            try Output.printJSON(["allServing": notServing.isEmpty, "services": services, "runtimeDir": self.global.layout.directory])
        } else {
            let rows = zip(names, results).map { name, result -> [String] in
                switch result {
                case .success(let status):
                    return [name, status.status.name, status.version, Output.duration(seconds: status.uptime.seconds), "pid \(status.pid)"]
                case .failure(let error):
                    return [name, "UNREACHABLE", "-", "-", "\(error.code.name): \(error.message)"]
                }
            }
            print(Output.table(["SERVICE", "STATUS", "VERSION", "UPTIME", "DETAIL"], rows))
        }
        if !notServing.isEmpty {
            if !self.global.json {
                FileHandle.standardError.write(Data("not serving: \(notServing.joined(separator: ", "))\n".utf8))
            }
            throw ExitCode(1)
        }
    }
}

extension Support_Health_V1_CheckResponse.ServingStatus {
    /// The grpc.health.v1 name, as in the JSON mapping.
    var name: String {
        switch self {
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        default: "UNKNOWN"
        }
    }
}
