import Foundation
import RSTDCore

package protocol OutputParser: Sendable {
    /// The id a check names in its `parser:` field.
    static var id: String { get }
    static func parse(_ output: RawOutput) throws(ParseError) -> ParsedFacts
}

/// Every parser, by id. Adding a parser = one file in Parse/ plus one line here.
package enum Parsers {
    package static let all: [any OutputParser.Type] = registered

    package static func parser(id: String) -> (any OutputParser.Type)? {
        all.first { $0.id == id }
    }
}
