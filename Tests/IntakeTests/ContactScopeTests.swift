import Foundation
import ServiceKit
import SupportProto
import SupportRPC
import Testing
import TestSupport

@testable import Intake

/// A call made for a customer contact (`caller.identity: contact:<email>`)
/// sees and acts on its own organisation's incidents only (issue 10).
@Suite("intake: what a contact may see")
struct ContactScopeTests {
    static func forContact(_ email: String) -> Metadata { [Caller.metadataKey: "contact:\(email)"] }

    @Test("Another organisation's incident is NOT_FOUND to a contact, exactly like one that does not exist; its own is shown")
    func otherOrganisations() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate("C-1"))
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate("C-2"))
        let own = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open("C-1"), metadata: Self.forContact("p1@c-1.example"))
        let other = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open("C-2"))
        let ann = Self.forContact("p1@c-1.example")

        var get = Support_Intake_V1_GetIncidentRequest()
        get.incidentID = own.id
        #expect(try await intake.client.call(IntakeRPC.getIncident, get, metadata: ann).id == own.id)
        get.incidentID = other.id
        let hidden = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.getIncident, get, metadata: ann) }
        get.incidentID = "INC-999999"
        let missing = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.getIncident, get, metadata: ann) }
        #expect(hidden?.code == .notFound)
        #expect(hidden?.message == missing?.message.replacingOccurrences(of: "INC-999999", with: other.id), "no difference leaks existence")

        // Acting on it is NOT_FOUND too.
        var provide = Support_Intake_V1_ProvideInfoRequest()
        provide.incidentID = other.id
        provide.contactEmail = "p1@c-1.example"
        provide.text = "here"
        let act = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.provideInfo, provide, metadata: ann) }
        #expect(act?.code == .notFound)

        // The list holds only its own certificate's incidents.
        let list = try await intake.client.call(IntakeRPC.listIncidents, .init(), metadata: ann)
        #expect(list.incidents.map(\.id) == [own.id])
        var foreign = Support_Intake_V1_ListIncidentsRequest()
        foreign.certificateID = "C-2"
        let foreignList = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.listIncidents, foreign, metadata: ann) }
        #expect(foreignList?.code == .notFound)
        // Without an identity (an operator tool) everything is visible, as before.
        #expect(try await intake.client.call(IntakeRPC.listIncidents, .init()).incidents.count == 2)
        try await intake.finish()
    }

    @Test("A call made for a contact cannot act as another contact or as staff, nor call staff methods")
    func noImpersonation() async throws {
        let intake = try await InProcessService.start(IntakeService.definition, fakeClock: IntakeServiceTests.fridayTenJST)
        _ = try await intake.client.call(IntakeRPC.registerCertificate, IntakeServiceTests.certificate("C-1", contacts: 2))
        let ann = Self.forContact("p1@c-1.example")
        let asOther = await #expect(throws: RPCError.self) {
            try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open("C-1", contact: "p2@c-1.example"), metadata: ann)
        }
        #expect(asOther?.code == .permissionDenied)
        #expect(asOther?.details.first?.field == "contact_email")

        let incident = try await intake.client.call(IntakeRPC.openIncident, IntakeServiceTests.open("C-1"), metadata: ann)
        var respond = Support_Intake_V1_RespondRequest()
        respond.incidentID = incident.id
        respond.actor = "tam.sato"
        respond.text = "done"
        let staffOnly = await #expect(throws: RPCError.self) { try await intake.client.call(IntakeRPC.respond, respond, metadata: ann) }
        #expect(staffOnly?.code == .permissionDenied)
        #expect(staffOnly?.message.contains("not for customer contacts") == true)

        let malformed = await #expect(throws: RPCError.self) {
            try await intake.client.call(IntakeRPC.listIncidents, .init(), metadata: [Caller.metadataKey: "ann"])
        }
        #expect(malformed?.code == .invalidArgument)
        try await intake.finish()
    }
}
