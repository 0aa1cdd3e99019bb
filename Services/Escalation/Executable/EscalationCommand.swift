import ArgumentParser
import Escalation
import ServiceKit

@main
struct EscalationCommand: ServiceCommand {
    static let configuration = CommandConfiguration(commandName: "escalation", abstract: "SupportDesk escalation: TAM → support lead → business account manager.")
    static let definition = EscalationService.definition

    @OptionGroup var options: ServiceOptions
}
