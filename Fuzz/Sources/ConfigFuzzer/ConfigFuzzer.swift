// Configuration parsing (issue 10): the fuzzer's bytes are given to every
// configuration parser the services run at start-up and under
// --check-config, each of which must either accept them or throw an error,
// never crash:
//   - offices.json (BusinessCalendar's OfficeDirectory); the bytes up to
//     the first NUL are offices.json, those after it are every holiday file
//     it references (absent when there is no NUL);
//   - sla-policy.json (SLATimer's SLAPolicy);
//   - notifier.json (Notifier's NotifierConfig);
//   - roster.json (Escalation's RosterSeed);
//   - access.json (ServiceKit's AccessConfig);
//   - a message template (Notifier's checkTemplate: parsed as at start-up,
//     then rendered with sample values).
// The seeds are deploy/config's files, so the fuzzer starts from valid
// configurations of each kind.
//
// Also checked: what parses is usable — every office's calendar answers a
// question, every roster seed encodes.
import BusinessCalendar
import Escalation
import Foundation
import Notifier
import SLATimer
import ServiceKit
import SwiftProtobuf

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)

    let split = data.firstIndex(of: 0)
    let offices = split.map { data[..<$0] } ?? data
    let holidays = split.map { Data(data[($0 + 1)...]) }
    if let directory = try? OfficeDirectory.parse(Data(offices), file: { _ in holidays }) {
        for id in directory.ids {
            let office = directory[id]!
            precondition(!office.version.isEmpty)
            _ = office.nextOpening(atOrAfter: Date(timeIntervalSince1970: 1_800_000_000))
        }
    }

    if let policy = try? SLAPolicy.parse(data) {
        precondition(!policy.version.isEmpty)
    }

    do { try NotifierService.validateConfig(data) } catch {}

    if let rosters = try? EscalationService.parseRosterSeed(data) {
        for roster in rosters { _ = try! roster.serializedBytes() as [UInt8] }
    }

    _ = try? AccessConfig.parse(data)

    if let text = String(data: data, encoding: .utf8), let rendered = try? NotifierService.checkTemplate(text) {
        precondition(!rendered.subject.contains("\n"), "a subject is one line")
    }
    return 0
}
