import ArgumentParser
import RSTDoctorKit

@main
struct RSTDoctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstdoctor",
        abstract: "Find out why TCP connections are reset on this Linux host.",
        subcommands: [CaptureCommand.self]
    )
}
