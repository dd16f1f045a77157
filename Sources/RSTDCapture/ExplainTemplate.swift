import RSTDData
import RSTDSystem
import RSTDCore

/// A class's explanation template (knowledge/capture-classes.yaml) compiled once, when the classes
/// are loaded: the literal runs and the placeholders between them. Filling one is appending the
/// pieces (a record's explanation is made for every RST listed: scanning the text and matching
/// placeholder names for each was most of the cost of a record). Renders exactly what
/// `CaptureClasses.render(_:value:)` makes of the template, then capitalises the first letter.
package struct ExplainTemplate: Sendable, Hashable {
    /// The placeholders the classifier fills (`RSTExplainer`), by their names in the templates.
    package enum Slot: String, Sendable, CaseIterable {
        case sender, receiver, answered, delay, idle, ttl, hops, closer, mac, baseline, shape, duplicate, twin
        case senderRole = "sender_role", receiverRole = "receiver_role", usualTTL = "usual_ttl", usualMAC = "usual_mac"
        case priorFrame = "prior_frame", priorClass = "prior_class", ackNote = "ack_note", inflight
        case senderSeen = "sender_seen", idleNote = "idle_note", answeredNote = "answered_note", ttlCheck = "ttl_check"
        case injectedEvidence = "injected_evidence", ownFin = "own_fin", twinFrame = "twin_frame", rstSeq = "rst_seq"
        case windowNote = "window_note"
    }

    /// A literal run (a range of `literals`) or a placeholder: plain data, so filling a template
    /// touches no reference count (a piece holding its own String was retained and released as
    /// each was read, for every RST listed).
    enum Piece: Sendable, Hashable {
        case literal(start: Int32, count: Int32)
        case slot(Slot)
    }

    /// The template's text, as written.
    package let text: String
    let pieces: [Piece]
    /// The literal runs' bytes, one after the other.
    let literals: [UInt8]
    /// Whether a literal byte needs a JSON escape (looked at once, not in every explanation).
    let literalsNeedEscape: Bool
    package init(_ text: String) {
        self.text = text
        var pieces: [Piece] = []
        var literals: [UInt8] = []
        func literal(_ s: Substring) {
            pieces.append(.literal(start: Int32(literals.count), count: Int32(s.utf8.count)))
            literals += s.utf8
        }
        // The placeholders `CaptureClasses.render` fills; a name that is not a slot stays text.
        var run = text.startIndex
        for p in CaptureClasses.placeholders(in: text) {
            guard let slot = Slot(rawValue: p.name) else { continue }
            if run < p.range.lowerBound { literal(text[run..<p.range.lowerBound]) }
            pieces.append(.slot(slot))
            run = p.range.upperBound
        }
        if run < text.endIndex { literal(text[run...]) }
        self.pieces = pieces
        self.literals = literals
        literalsNeedEscape = literals.withUnsafeBytes { b in b.baseAddress.map { ByteOutput.needsEscape($0, b.count) } ?? false }
    }

    /// The placeholder names in the template, in order (known or not).
    package var names: [String] { CaptureClasses.names(in: text) }

    /// The explanation: the template filled with `value` for each placeholder, first letter capitalised.
    package func render(_ value: (Slot) -> String) -> String {
        let o = ByteOutput()
        render(into: o) { slot, o in o.text(value(slot)) }
        return o.string(from: 0)
    }

    /// The same, written to `o`: `value` writes each placeholder's text (no string is made for the
    /// explanation, nor for most values: a record is written for every RST listed). Returns whether
    /// a literal byte needs a JSON escape (looked at once): the values are the caller's to vouch for
    /// (RSTExplainer writes numbers, addresses and its own words; it says when it writes other text).
    @discardableResult
    func render(into o: ByteOutput, _ value: (Slot, ByteOutput) -> Void) -> Bool {
        // The first piece that is not empty starts the explanation: capitalised (a look at one byte).
        var started = false
        literals.withUnsafeBytes { bytes in
            pieces.withUnsafeBufferPointer { pieces in
                for p in pieces {
                    let before = o.count
                    switch p {
                    case .literal(let start, let count):
                        o.append(UnsafeRawBufferPointer(rebasing: bytes[Int(start)..<Int(start + count)]))
                    case .slot(let slot): value(slot, o)
                    }
                    guard !started, o.count > before else { continue }
                    started = true
                    if o.at(before) < 0x80 {
                        o.upperASCII(at: before)
                    } else {
                        o.replace(from: before, with: Self.capitalized(o.string(from: before)))
                    }
                }
            }
        }
        return literalsNeedEscape
    }

    /// The text with its first character upper-cased when it is a lower-case letter.
    static func capitalized(_ s: String) -> String {
        guard let b = s.utf8.first else { return s }
        // ASCII: decided on the byte (a digit, an address, a capital: the text as it is).
        if b < 0x80 {
            guard b >= 0x61 && b <= 0x7A else { return s }
            var u = Array(s.utf8)
            u[0] -= 0x20
            return String(decoding: u, as: UTF8.self)
        }
        guard let first = s.first, first.isLowercase else { return s }
        return first.uppercased() + s.dropFirst()
    }
}
