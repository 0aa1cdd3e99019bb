import ArgumentParser
import Foundation
import ServiceKit
import SupportProto
import SupportRPC
import SwiftProtobuf

/// `supportctl call METHOD --data JSON`: any method, JSON in, JSON out —
/// the grpcurl of this system.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call any method with a JSON request and print the JSON response.",
        discussion: """
            METHOD is the full name (/support.intake.v1.Intake/GetIncident) or its tail \
            (Intake/GetIncident). The request is written in the protobuf JSON mapping. \
            Health and Clock exist on every service: say which with --service.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The method to call; omit with --list.", valueName: "method"))
    var method: String?

    @Option(help: ArgumentHelp("The request in the protobuf JSON mapping (default {}); '-' reads standard input.", valueName: "json"))
    var data: String = "{}"

    @Option(help: ArgumentHelp("The service to call, when the method does not say (Health, Clock, EventSink).", valueName: "name"))
    var service: String?

    @Flag(help: "List every method and exit.")
    var list = false

    @Option(help: ArgumentHelp("Metadata to send, as key=value (repeatable).", valueName: "key=value"))
    var metadata: [String] = []

    func run() async throws {
        if self.list {
            for method in AllRPCMethods.all {
                print("\(method.fullName)  (\(method.requestType.protoMessageName) → \(method.responseType.protoMessageName))")
            }
            return
        }
        guard let name = self.method else { throw ValidationError("name a METHOD, or use --list") }
        let method = try Self.resolve(name)
        let target = try self.service ?? Self.service(of: method.fullName)

        let json = self.data == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : self.data
        let request: any SwiftProtobuf.Message
        do {
            request = try method.requestType.init(jsonString: json)
        } catch {
            throw CommandFailure(message: "INVALID_ARGUMENT: --data is not a valid \(method.requestType.protoMessageName) in the protobuf JSON mapping (\(error))")
        }
        var metadata = Metadata()
        for pair in self.metadata {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--metadata wants key=value, not '\(pair)'") }
            metadata[parts[0]] = parts[1]
        }
        do {
            let answer = try await self.global.client(for: target).call(
                method: method.fullName,
                payload: request.serializedBytes(),
                timeout: max(self.global.timeout.duration, .seconds(30)),
                connectTimeout: self.global.timeout.duration,
                metadata: metadata
            )
            let response = try method.responseType.init(serializedBytes: answer)
            try Output.printJSON(Output.jsonObject(response))
        } catch {
            throw CommandFailure(error)
        }
    }

    static func resolve(_ name: String) throws -> AnyRPCMethod {
        let wanted = name.hasPrefix("/") ? name : "/" + name
        if let exact = AllRPCMethods.all.first(where: { $0.fullName == wanted }) { return exact }
        let matches = AllRPCMethods.all.filter { $0.fullName.hasSuffix("." + name) || $0.fullName.hasSuffix(wanted) }
        guard matches.count == 1 else {
            throw ValidationError(
                matches.isEmpty
                    ? "no method is called '\(name)'; `supportctl call --list` shows them all"
                    : "'\(name)' could be \(matches.map(\.fullName).joined(separator: " or ")); give the full name"
            )
        }
        return matches[0]
    }

    /// The service that owns a method, from its proto package.
    static func service(of fullName: String) throws -> String {
        let owners = ["support.intake.": "intake", "support.sla.": "sla-timer", "support.escalation.": "escalation", "support.notifier.": "notifier"]
        if let owner = owners.first(where: { fullName.hasPrefix("/" + $0.key) }) { return owner.value }
        throw ValidationError("\(fullName) is served by every service; say which with --service (\(RuntimeLayout.services.joined(separator: ", ")))")
    }
}
