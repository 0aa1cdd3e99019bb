import ArgumentParser
import Foundation
import ServiceKit
import SupportProto
import SupportRPC

/// `supportctl methods --service NAME`: what a running service answers, as
/// it says itself (support.reflection.v1.Reflection), not as this build of
/// supportctl believes (`supportctl call --list`).
struct MethodsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "methods",
        abstract: "List the methods a running service answers, with their request and response messages.",
        discussion: "Asks the service itself (Reflection/ListMethods), so a service of another version shows what it really serves."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The service to ask (\(RuntimeLayout.services.joined(separator: ", "))).", valueName: "name"))
    var service: String

    func validate() throws {
        guard RuntimeLayout.services.contains(self.service) else {
            throw ValidationError("--service must be one of \(RuntimeLayout.services.joined(separator: ", ")), not '\(self.service)'")
        }
    }

    func run() async throws {
        let response = try await self.global.call(self.service, ReflectionRPC.listMethods, .init())
        try self.global.show(response) { response in
            Output.table(
                ["METHOD", "REQUEST", "RESPONSE"],
                response.methods.map { [$0.fullName, $0.requestType, $0.responseType] }
            )
        }
    }
}
