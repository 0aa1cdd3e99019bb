import ArgumentParser
import Notifier
import ServiceKit

@main
struct NotifierCommand: ServiceCommand {
    static let configuration = CommandConfiguration(commandName: "notifier", abstract: "SupportDesk notifier: who is told what, and when.")
    static let definition = NotifierService.definition

    @OptionGroup var options: ServiceOptions
}
