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

/// Reports, saving and loading.
extension Session {
    func report(_ args: [String]) {
        var file: String?
        var format: String?
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--format" || a == "-f" {
                guard i + 1 < args.count else { say("--format needs a value: \(reportFormats.joined(separator: ", "))."); return }
                format = args[i + 1]
                i += 2
                continue
            }
            if a.hasPrefix("--format=") { format = String(a.dropFirst(9)); i += 1; continue }
            if a.hasPrefix("-") {
                say("Unknown option `\(t(a))`: usage: report [file] [--format \(reportFormats.joined(separator: "|"))]."); return
            }
            if file != nil { say("report writes one file: usage: report [file] [--format F]."); return }
            file = a
            i += 1
        }
        if let f = file {
            do { file = try Validate.path(f) } catch { say(error.message); return }
        }
        let fmt = (format ?? file.map(Self.formatFor) ?? "text").lowercased()
        guard reportFormats.contains(fmt) else {
            say("report --format \(t(fmt)) is not available in this build; it has \(reportFormats.joined(separator: ", ")).")
            return
        }
        let d = diagnosis()
        let text: String
        if fmt == "text" {
            text = TextRender.render(d, style: file == nil ? style : Style(enabled: false))
        } else if let hook = hooks.report {
            do { text = try hook(d, kb, fmt) } catch { say("The report could not be rendered: \(t("\(error)"))."); return }
        } else {
            text = CheckJSON.render(d).serialized() + "\n"
        }
        guard let file else { out.write(text); return }
        do {
            try AtomicFile.write(Data(text.utf8), to: file)
            say("Wrote the \(fmt) report to \(t(file)).")
        } catch {
            say(error.message)
        }
    }

    var reportFormats: [String] {
        var f = ["text", "json"]
        for x in hooks.reportFormats where !f.contains(x) { f.append(x) }
        return f
    }

    static func formatFor(_ file: String) -> String {
        switch (file as NSString).pathExtension.lowercased() {
        case "json": "json"
        case "md", "markdown": "markdown"
        case "html", "htm": "html"
        case "prom", "om": "openmetrics"
        default: "text"
        }
    }

    func saveCommand(_ arg: String?) {
        guard let arg else {
            save()
            if !saveWarned { say("Session saved to \(t(path)) (it is also saved after every change).") }
            return
        }
        do {
            let file = try Validate.path(arg)
            state.updated = Date()
            try state.save(to: file)
            say("Saved a copy of the session to \(t(file)); it keeps being saved to \(t(path)). `load \(t(file))` brings this copy back.")
        } catch {
            say(error.message)
        }
    }

    func load(_ arg: String?) async {
        guard let arg else { say("usage: load <file> — a session saved with `save FILE`."); return }
        let loaded: SessionState
        do { loaded = try SessionState.load(from: try Validate.path(arg)) } catch { say(error.message); return }
        let old = state
        let oldHost = host, oldOptions = options, oldBundle = bundleRecords
        state = Self.sanitised(loaded, kb: kb)
        do { try adopt(loaded.target) } catch {
            state = old
            host = oldHost
            options = oldOptions
            bundleRecords = oldBundle
            say("Cannot continue that session: \(error.message)")
            return
        }
        save()
        say("Loaded \(t(arg)): \(state.records.count) checks, \(state.answers.count) answers. It is saved to \(t(path)) from now on.")
        say(SessionText.ranking(diagnosis(), style: style))
        if let q = pendingQuestion { ask(q) } else { invite() }
    }
}
