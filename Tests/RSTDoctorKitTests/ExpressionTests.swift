import Foundation
import XCTest
@testable import RSTDPipeline
@testable import RSTDRender
@testable import RSTDCollect
@testable import RSTDInfer
@testable import RSTDKnowledge
@testable import RSTDCapture
@testable import RSTDTrace
@testable import RSTDSystem
@testable import RSTDData
@testable import RSTDCore
@testable import RSTDParse
@testable import RSTDInteractive

final class ExpressionTests: XCTestCase {
    let scope = ExprScope(facts: [
        "a": FactDeclaration(key: "a", type: .int),
        "b": FactDeclaration(key: "b", type: .int),
        "s": FactDeclaration(key: "s", type: .string),
        "flag": FactDeclaration(key: "flag", type: .bool),
        "d": FactDeclaration(key: "d", type: .duration),
        "listeners": FactDeclaration(key: "listeners", type: .records, fields: ["port": .int, "queue": .int, "backlog": .int]),
        "focus.port": FactDeclaration(key: "focus.port", type: .int),
    ])

    func eval(_ text: String, _ facts: [String: FactValue]) throws -> EvalResult {
        let (e, _, _) = try ExprChecker.check(try ExprParser.parse(text), scope: scope)
        return ExprEvaluator { facts[$0] }.eval(e)
    }

    func bool(_ text: String, _ facts: [String: FactValue]) throws -> Bool? {
        if case .value(.bool(let b)) = try eval(text, facts) { return b }
        return nil
    }

    func testArithmeticComparisonAndPrecedence() throws {
        XCTAssertEqual(try bool("a + b * 2 == 7", ["a": .int(1), "b": .int(3)]), true)
        XCTAssertEqual(try bool("(a + b) * 2 == 7", ["a": .int(1), "b": .int(3)]), false)
        XCTAssertEqual(try bool("-a < 0 && !(b >= 4)", ["a": .int(1), "b": .int(3)]), true)
        XCTAssertEqual(try bool("d > 5s", ["d": .duration(7.1)]), true)
        XCTAssertEqual(try bool("d < 250ms", ["d": .duration(0.3)]), false)
        XCTAssertEqual(try bool("s in [\"x\", \"y\"]", ["s": .string("y")]), true)
        XCTAssertEqual(try bool("a in [1, 2]", ["a": .int(3)]), false)
    }

    func testUnknownIsNeverFalse() throws {
        // unknown && x is unknown unless x is false; unknown || x is unknown unless x is true.
        if case .unknown(let u) = try eval("a > 1", [:]) { XCTAssertEqual(u, ["a"]) } else { XCTFail("expected unknown") }
        XCTAssertEqual(try bool("a > 1 && b > 1", ["b": .int(0)]), false)
        XCTAssertEqual(try bool("a > 1 || b > 1", ["b": .int(2)]), true)
        XCTAssertNil(try bool("a > 1 || b > 1", ["b": .int(0)]))
        XCTAssertNil(try bool("!(a > 1)", [:]))
        XCTAssertEqual(try bool("known(a)", [:]), false)
        XCTAssertEqual(try bool("!known(focus.port) || a == 1", [:]), true)
    }

    func testRecordAggregates() throws {
        let l: FactValue = .records([["port": .int(22), "queue": .int(0), "backlog": .int(128)],
                                     ["port": .int(8080), "queue": .int(2), "backlog": .int(1)]])
        XCTAssertEqual(try bool("any(listeners, queue > backlog)", ["listeners": l]), true)
        XCTAssertEqual(try bool("all(listeners, queue > backlog)", ["listeners": l]), false)
        XCTAssertEqual(try bool("count(listeners, port == focus.port) == 1", ["listeners": l, "focus.port": .int(8080)]), true)
        XCTAssertEqual(try bool("count(listeners) == 2", ["listeners": l]), true)
        XCTAssertEqual(try bool("sum(listeners, queue) == 2", ["listeners": l]), true)
        XCTAssertEqual(try bool("any(listeners, port == 9)", ["listeners": .records([])]), false)
    }

    func testPortLists() throws {
        XCTAssertTrue(ExprEvaluator.portIn("80,443,8000-8100", 8080))
        XCTAssertFalse(ExprEvaluator.portIn("80,443", 8080))
        XCTAssertTrue(ExprEvaluator.portIn("", 1))
    }

    func testTypeErrors() {
        XCTAssertThrowsError(try ExprChecker.check(try ExprParser.parse("s > 3"), scope: scope))
        XCTAssertThrowsError(try ExprChecker.check(try ExprParser.parse("a && flag"), scope: scope))
        XCTAssertThrowsError(try ExprChecker.check(try ExprParser.parse("any(a, flag)"), scope: scope))
        XCTAssertThrowsError(try ExprChecker.check(try ExprParser.parse("any(listeners, nosuchfield > 1)"), scope: scope))
        XCTAssertThrowsError(try ExprChecker.check(try ExprParser.parse("nosuch.fact"), scope: scope))
        XCTAssertThrowsError(try ExprChecker.check(try ExprParser.parse("frobnicate(a)"), scope: scope))
    }

    func testParserRejectsGarbageWithoutCrashing() {
        for text in ["", "(", "a ==", "\"unterminated", "a $ b", String(repeating: "(", count: 5000) + "a", String(repeating: "!", count: 5000) + "flag", "[1, 2", "any(listeners,"] {
            XCTAssertThrowsError(try ExprParser.parse(text), "accepted \(text.prefix(20))")
        }
    }

    func testDivisionByZeroIsUnknownNotACrash() throws {
        XCTAssertNil(try bool("a / b > 1", ["a": .int(1), "b": .int(0)]))
    }
}
