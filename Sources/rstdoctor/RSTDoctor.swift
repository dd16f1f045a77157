import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
import RSTDInteractive
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDParse
import RSTDSystem
import RSTDData
import RSTDCore
#endif

/// Exit codes (DESIGN §8): 0 nothing likely found, 1 a likely cause found, 2 usage error, 3 could not run.
enum Exit {
    static let clean: Int32 = 0
    static let likely: Int32 = 1
    static let usage: Int32 = 2
    static let couldNotRun: Int32 = 3
    /// `check` interrupted by SIGINT (130) or SIGTERM (143): partial results were printed.
    static func interrupted(_ sig: Int32) -> Int32 { 128 + sig }
}

/// An error that ends the run with a given exit code and a message for the user.
struct Failure: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { message }

    static func usage(_ m: String) -> Failure { Failure(code: Exit.usage, message: m) }
    static func couldNotRun(_ m: String) -> Failure { Failure(code: Exit.couldNotRun, message: m) }
}

@main
struct RSTDoctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstdoctor",
        abstract: "Find out why TCP connections are reset (\"connection reset by peer\") on this Linux host.",
        discussion: """
        Exit codes: 0 no likely cause found, 1 a likely cause found, 2 usage error, 3 could not run
        (including an input file that is not what it claims: --pcap not a capture, of a link type rstdoctor cannot
        decode, or cut short; a missing --log; a --from that is not a bundle), 130/143 interrupted by SIGINT/SIGTERM
        (check prints what it gathered first).
        Read-only: rstdoctor never changes sysctls, firewall rules, addresses or sockets.
        """,
        version: RSTDoctor.version,
        subcommands: [
            DiagnoseCommand.self, CheckCommand.self, ReportCommand.self, CollectCommand.self, WatchCommand.self, RecordCommand.self,
            CaptureCommand.self, KnowledgeCommand.self,
        ],
        defaultSubcommand: DiagnoseCommand.self
    )

    /// The version `--version` prints: the repository's VERSION file, embedded by `make embed`.
    static let version = BuildVersion.current

    /// The subcommands' names, for "unknown subcommand" (the default subcommand would otherwise
    /// take any word as its own unexpected argument).
    static var subcommandNames: [String] {
        configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
    }

    /// A first word that is neither an option nor a subcommand: lists the subcommands.
    static func unknownSubcommand(_ args: [String]) -> String? {
        guard let first = args.first, !first.hasPrefix("-"), !subcommandNames.contains(first) else { return nil }
        let near = DidYouMean.nearest(first, in: subcommandNames).map { " Did you mean `rstdoctor \($0)`?" } ?? ""
        var text = "'\(Sanitize.terminal(first))' is not a rstdoctor command.\(near) The commands:\n"
        for c in configuration.subcommands {
            let name = c.configuration.commandName ?? ""
            text += "  " + name.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + c.configuration.abstract + "\n"
        }
        text += "`rstdoctor` alone starts the guided session; `rstdoctor COMMAND --help` explains one."
        return text
    }

    /// ArgumentParser exits 64 on usage errors; rstdoctor documents 2.
    static func main() async {
        Cleanup.shared.installSignalHandlers()
        if let message = unknownSubcommand(Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data("rstdoctor: \(message)\n".utf8))
            Glibc.exit(Exit.usage)
        }
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
            Cleanup.shared.runAll()
            Glibc.exit(Exit.clean)
        } catch let f as Failure {
            Cleanup.shared.runAll()
            FileHandle.standardError.write(Data("rstdoctor: \(f.message)\n".utf8))
            Glibc.exit(f.code)
        } catch let v as RSTDCore.ValidationError {
            Cleanup.shared.runAll()
            FileHandle.standardError.write(Data("rstdoctor: \(v.message)\n".utf8))
            Glibc.exit(Exit.usage)
        } catch {
            Cleanup.shared.runAll()
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(Exit.clean)
            }
            if let e = error as? ExitCode { Glibc.exit(e.rawValue) }
            // argument-parser quotes the refused value as typed: no escape sequence reaches the terminal.
            FileHandle.standardError.write(Data((Sanitize.terminal(fullMessage(for: error)) + "\n").utf8))
            Glibc.exit(code == .validationFailure ? Exit.usage : Exit.couldNotRun)
        }
    }
}

/// Loads checks/ and knowledge/ from --knowledge-dir, RSTDOCTOR_DATA or the built-in copies.
struct KnowledgeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder holding checks/ and knowledge/ (default: RSTDOCTOR_DATA, else the built-in copies).", valueName: "DIR"))
    var knowledgeDir: String?

    func load() throws -> (KnowledgeBase, [KnowledgeProblem]) {
        let files = try KnowledgeFiles.resolve(dir: knowledgeDir)
        let (kb, problems) = KnowledgeBase.load(files)
        if kb.causes.isEmpty || kb.checks.isEmpty {
            throw Failure.couldNotRun("the knowledge base at \(files.origin) has no \(kb.causes.isEmpty ? "causes" : "checks"): run `rstdoctor knowledge lint` to see why")
        }
        return (kb, problems)
    }
}
