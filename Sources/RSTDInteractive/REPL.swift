import Foundation
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDData
import RSTDCore

/// The read–handle loop of the guided session: readline on a terminal, plain lines from a pipe
/// (each command echoed after the prompt, so a scripted session reads like a transcript).
package enum REPL {
    /// Runs until quit, Ctrl-D or the end of the script; returns the exit code.
    package static func run(_ session: Session, reader: LineReader, output: SessionOutput, gate: InterruptGate) async -> Int32 {
        let readline = reader as? ReadlineReader
        while !session.wantsQuit {
            let prompt = session.prompt
            if let rl = readline { gate.set(.reading(rl.wakeFD)) } else { gate.set(.plainReading) }
            let input = reader.read(prompt: prompt)
            gate.idle()
            switch input {
            case .eof:
                if !reader.isInteractive { output.write(prompt + "\n") }
                return session.end()
            case .interrupted:
                continue
            case .line(let line):
                if !reader.isInteractive { output.write(prompt + Sanitize.line(line) + "\n") }
                reader.remember(line)
                await session.handle(line)
            }
        }
        return session.end()
    }
}
