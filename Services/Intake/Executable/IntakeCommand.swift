import ArgumentParser
import Intake
import ServiceKit

@main
struct IntakeCommand: ServiceCommand {
    static let configuration = CommandConfiguration(commandName: "intake", abstract: "SupportDesk intake: certificates, contacts and incidents.")
    static let definition = IntakeService.definition

    @OptionGroup var options: ServiceOptions
}
