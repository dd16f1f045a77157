/// A word of the classifier's own vocabulary (what a RST answered, who sent it, how the roles were
/// told): a literal, copied, compared and written as bytes without a String or a reference count
/// (a judgement holds five, and a record is written for every RST listed). `string` makes the text
/// where a String is wanted (records kept in memory, signatures).
struct Word: Equatable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    let text: StaticString

    init(stringLiteral s: StaticString) { text = s }
    init(unicodeScalarLiteral s: StaticString) { text = s }
    init(extendedGraphemeClusterLiteral s: StaticString) { text = s }

    var string: String { text.description }
    var description: String { string }

    static func == (a: Word, b: Word) -> Bool {
        a.text.withUTF8Buffer { x in
            b.text.withUTF8Buffer { y in
                guard x.count == y.count else { return false }
                for i in 0..<x.count where x[i] != y[i] { return false }
                return true
            }
        }
    }
}
