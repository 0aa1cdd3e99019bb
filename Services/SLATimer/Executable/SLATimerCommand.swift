import ArgumentParser
import SLATimer
import ServiceKit

@main
struct SLATimerCommand: ServiceCommand {
    static let configuration = CommandConfiguration(commandName: "sla-timer", abstract: "SupportDesk sla-timer: response-time clocks and durable timers.")
    static let definition = SLATimerService.definition

    @OptionGroup var options: ServiceOptions
}
