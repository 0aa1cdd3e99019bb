import ArgumentParser
import Foundation
import ServiceKit
import SupportProto
import SupportRPC

/// `supportctl events parked|retry|drop`: the events a service set aside
/// because it could not apply them (Admin's ListParkedEvents,
/// RetryParkedEvent, DropParkedEvent).
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Events a service could not apply and set aside so the stream went on: list, retry after a fix, drop.",
        subcommands: [Parked.self, Retry.self, Drop.self]
    )

    static func checked(_ service: String?) throws {
        if let service, !RuntimeLayout.services.contains(service) {
            throw ValidationError("--service must be one of \(RuntimeLayout.services.joined(separator: ", ")), not '\(service)'")
        }
    }

    /// The service that has `id` parked, when the operator did not say.
    static func owner(of id: String, _ service: String?, _ global: GlobalOptions) async throws -> String {
        if let service { return service }
        for candidate in RuntimeLayout.services {
            var request = Support_Admin_V1_ListParkedEventsRequest()
            request.pageSize = 1000
            if try await global.call(candidate, AdminRPC.listParkedEvents, request).events.contains(where: { $0.eventID == id }) {
                return candidate
            }
        }
        throw CommandFailure(message: "no service has event \(id) parked; `supportctl events parked` lists them")
    }

    static func render(_ event: Support_Admin_V1_ParkedEvent) -> String {
        "\(event.eventID) \(event.kind) from \(event.producer)\(event.incidentID.isEmpty ? "" : " about \(event.incidentID)"), parked \(event.parkedAt.text) after \(event.attempts) attempt(s): \(event.reason)"
    }

    struct Parked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The parked events of one service, or of all four, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Only this service (\(RuntimeLayout.services.joined(separator: ", "))).", valueName: "name"))
        var service: String?

        func validate() throws { try EventsCommand.checked(self.service) }

        func run() async throws {
            var rows: [(String, Support_Admin_V1_ParkedEvent)] = []
            var documents: [String: Any] = [:]
            for service in self.service.map({ [$0] }) ?? RuntimeLayout.services {
                var request = Support_Admin_V1_ListParkedEventsRequest()
                request.pageSize = 1000
                let response = try await self.global.call(service, AdminRPC.listParkedEvents, request)
                rows += response.events.map { (service, $0) }
                documents[service] = try Output.jsonObject(response)
            }
            if self.global.json {
                try Output.printJSON(documents)
            } else if rows.isEmpty {
                print("no parked events")
            } else {
                print(Output.table(
                    ["SERVICE", "EVENT", "KIND", "PRODUCER", "INCIDENT", "PARKED", "ATTEMPTS", "REASON"],
                    rows.map { [$0.0, $0.1.eventID, $0.1.kind, $0.1.producer, $0.1.incidentID, $0.1.parkedAt.text, "\($0.1.attempts)", $0.1.reason] }
                ))
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Applies a parked event again, once what stopped it is fixed; exits 1 if it still fails.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The event id.") var id: String
        @Option(help: ArgumentHelp("The service that parked it (found when omitted).", valueName: "name")) var service: String?
        @Option(help: "Who retries it (logged).") var actor: String = IncidentCommand.staff

        func validate() throws { try EventsCommand.checked(self.service) }

        func run() async throws {
            let service = try await EventsCommand.owner(of: self.id, self.service, self.global)
            var request = Support_Admin_V1_RetryParkedEventRequest()
            request.eventID = self.id
            request.actor = self.actor
            try self.global.show(try await self.global.call(service, AdminRPC.retryParkedEvent, request)) { "applied on \(service): " + EventsCommand.render($0) }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Gives up on a parked event: it is never applied (logged).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The event id.") var id: String
        @Option(help: ArgumentHelp("The service that parked it (found when omitted).", valueName: "name")) var service: String?
        @Option(help: "Who drops it (logged).") var actor: String = IncidentCommand.staff

        func validate() throws { try EventsCommand.checked(self.service) }

        func run() async throws {
            let service = try await EventsCommand.owner(of: self.id, self.service, self.global)
            var request = Support_Admin_V1_DropParkedEventRequest()
            request.eventID = self.id
            request.actor = self.actor
            try self.global.show(try await self.global.call(service, AdminRPC.dropParkedEvent, request)) { "dropped on \(service): " + EventsCommand.render($0) }
        }
    }
}
