import BusinessCalendar
import ArgumentParser
import Foundation
import SupportProto
import SupportRPC
import SwiftProtobuf

/// Options of commands that create something.
struct CreateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Makes a retry safe: the same key returns the first result and creates nothing new.", valueName: "key"))
    var idempotencyKey: String?

    var metadata: Metadata {
        var metadata = Metadata()
        if let idempotencyKey { metadata[Metadata.idempotencyKey] = idempotencyKey }
        return metadata
    }
}

extension GlobalOptions {
    /// Calls `method` on `service`, turning a refusal into `STATUS: message`.
    func call<Request, Response>(
        _ service: String, _ method: RPCMethod<Request, Response>, _ request: Request, metadata: Metadata = Metadata()
    ) async throws -> Response {
        do {
            let response = try await self.client(for: service).call(method, request, timeout: self.timeout.duration, metadata: metadata)
            if !self.json { await self.loadOfficeZones() }
            return response
        } catch {
            throw CommandFailure(error)
        }
    }

    /// Prints `message` as JSON with --json, else as `human` renders it.
    func show<Message: SwiftProtobuf.Message>(_ message: Message, _ human: (Message) -> String) throws {
        if self.json {
            try Output.printJSON(Output.jsonObject(message))
        } else {
            print(human(message))
        }
    }
}

extension GlobalOptions {
    /// Learns the offices' time zones from intake once per run, so that
    /// human output shows times as the office reads them (issue 22). Output
    /// stays in UTC when intake cannot say; `--json` never needs it.
    func loadOfficeZones() async {
        guard !OfficeZones.shared.isLoaded else { return }
        let offices = try? await self.client(for: "intake").call(IntakeRPC.listOffices, .init(), timeout: self.timeout.duration)
        OfficeZones.shared.set(offices?.offices.reduce(into: [:]) { zones, office in zones[office.id] = TimeZone(identifier: office.timeZone) } ?? [:])
    }
}

/// The offices' time zones, by office id, once intake has said them.
final class OfficeZones: @unchecked Sendable {
    static let shared = OfficeZones()
    private let lock = NSLock()
    private var zones: [String: TimeZone]?

    var isLoaded: Bool { self.lock.withLock { self.zones != nil } }

    func set(_ zones: [String: TimeZone]) { self.lock.withLock { self.zones = zones } }

    func zone(_ office: String) -> TimeZone? { self.lock.withLock { self.zones?[office] } }
}

extension Google_Protobuf_Timestamp {
    /// RFC 3339 in UTC, or "-" when unset.
    var text: String { self.seconds == 0 && self.nanos == 0 ? "-" : self.date.formatted(.iso8601) }

    /// In the office's local time beside UTC, "2026-12-04 16:00 JST
    /// (07:00Z)"; RFC 3339 in UTC when the office's zone is not known.
    func text(office: String) -> String {
        guard self.seconds != 0 || self.nanos != 0, let zone = OfficeZones.shared.zone(office) else { return self.text }
        return LocalTime.withUTC(self.date, zone)
    }
}
