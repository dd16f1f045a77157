import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDKnowledge
@testable import RSTDParse

/// Parses, checks and evaluates expressions over a small scope of facts, for the expression tests.
protocol ExpressionTesting {}

extension ExpressionTesting {
    var scope: ExprScope {
        ExprScope(facts: [
            "a": FactDeclaration(key: "a", type: .int),
            "b": FactDeclaration(key: "b", type: .int),
            "s": FactDeclaration(key: "s", type: .string),
            "flag": FactDeclaration(key: "flag", type: .bool),
            "d": FactDeclaration(key: "d", type: .duration),
            "listeners": FactDeclaration(key: "listeners", type: .records, fields: ["port": .int, "queue": .int, "backlog": .int]),
            "focus.port": FactDeclaration(key: "focus.port", type: .int),
        ])
    }

    func eval(_ text: String, _ facts: [String: FactValue]) throws -> EvalResult {
        let (e, _, _) = try ExprChecker.compile(text, scope: scope)
        return ExprEvaluator { facts[$0] }.eval(e)
    }

    func bool(_ text: String, _ facts: [String: FactValue]) throws -> Bool? {
        if case .value(.bool(let b)) = try eval(text, facts) { return b }
        return nil
    }

    /// The value, or nil when unknown.
    func value(_ text: String, _ facts: [String: FactValue]) throws -> FactValue? {
        if case .value(let v) = try eval(text, facts) { return v }
        return nil
    }

    /// Why the value is unknown ("" when it is known).
    func problems(_ text: String, _ facts: [String: FactValue]) throws -> String {
        if case .unknown(let u) = try eval(text, facts) { return u.problems.sorted().joined(separator: "; ") }
        return ""
    }
}

final class ExpressionTests: XCTestCase, ExpressionTesting {
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
        if case .unknown(let u) = try eval("a > 1", [:]) { XCTAssertEqual(u.facts, ["a"]) } else { XCTFail("expected unknown") }
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
        XCTAssertEqual(try bool("all(listeners, port == 9)", ["listeners": .records([])]), true)
        XCTAssertEqual(try value("max(listeners, queue)", ["listeners": l]), .int(2), "integers stay integers")
        XCTAssertEqual(try value("min(listeners, backlog)", ["listeners": l]), .int(1))
    }

    func testPortLists() throws {
        XCTAssertTrue(ExprEvaluator.portIn("80,443,8000-8100", 8080))
        XCTAssertFalse(ExprEvaluator.portIn("80,443", 8080))
        XCTAssertTrue(ExprEvaluator.portIn("", 1))
        // iptables ranges and negations (`--dport 30000:32767`, `! --dport 22`, multiport `! --dports 80,443`).
        XCTAssertTrue(ExprEvaluator.portIn("30000:32767", 30080))
        XCTAssertFalse(ExprEvaluator.portIn("30000:32767", 8080))
        XCTAssertFalse(ExprEvaluator.portIn("!22", 22))
        XCTAssertTrue(ExprEvaluator.portIn("!22", 8080))
        XCTAssertFalse(ExprEvaluator.portIn("!80,443", 443))
        XCTAssertFalse(ExprEvaluator.portIn("!80,!443", 443))
        XCTAssertTrue(ExprEvaluator.portIn("!80,!443", 8080))
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
        XCTAssertTrue(try problems("a % b", ["a": .int(1), "b": .int(0)]).contains("division by zero"))
    }
}

/// Integer arithmetic: exact over Int64 ∪ UInt64, unknown (with the reason) beyond, never a crash
/// or a wrapped number; u64 counters are kept exact from parsing to comparison.
final class ExpressionIntegerTests: XCTestCase, ExpressionTesting {
    let max = Int64.max, min = Int64.min
    let u64: UInt64 = 18_446_744_073_709_551_615

    func testOverflowIsUnknownWithTheReason() throws {
        // (Int64.max + 1 is a u64 value, not an overflow: see the next test.)
        for (text, a) in [("a * 3", max), ("a + a + a", max), ("a - 1", min), ("a * 100", 1_000_000_000_000_000_000),
                          ("a * a", max), ("-a * 2", min), ("a - 9223372036854775807 - 9223372036854775807", min)] {
            let why = try problems(text, ["a": .int(a)])
            XCTAssertTrue(why.contains("overflows") && why.contains("64-bit"), "\(text) with a = \(a): \(why)")
            XCTAssertNil(try bool("\(text) > 0", ["a": .int(a)]), "an overflow is neither true nor false")
        }
        XCTAssertTrue(try problems("a + 1", ["a": .uint(u64)]).contains("overflows"))
    }

    func testIntegersAreExactAcrossTheWholeRange() throws {
        // Int64.max + 1 and -Int64.min are u64 values, not overflows (and not Double approximations).
        XCTAssertEqual(try value("a + 1", ["a": .int(max)]), .uint(9_223_372_036_854_775_808))
        XCTAssertEqual(try value("-a", ["a": .int(min)]), .uint(9_223_372_036_854_775_808))
        XCTAssertEqual(try value("-a", ["a": .int(max)]), .int(-max))
        XCTAssertEqual(try value("a - 1", ["a": .uint(9_223_372_036_854_775_808)]), .int(max), "back into Int64: one spelling")
        XCTAssertEqual(try value("a * 100", ["a": .int(100_000_000_000_000_000)]), .uint(10_000_000_000_000_000_000))
        XCTAssertEqual(try value("a % 7", ["a": .uint(u64)]), .int(Int64(u64 % 7)))
        // Doubles would call these equal (both round to 2^63).
        XCTAssertEqual(try bool("a == b", ["a": .int(max), "b": .int(max - 1)]), false)
        XCTAssertEqual(try bool("a > b", ["a": .int(max), "b": .int(max - 1)]), true)
        XCTAssertEqual(try bool("a > b", ["a": .uint(u64), "b": .uint(u64 - 1)]), true)
        // The rules' own shape: `X * 100 >= tcp.connections`.
        XCTAssertEqual(try bool("a * 100 >= b", ["a": .int(100_000_000_000_000_000), "b": .int(1)]), true)
    }

    func testLiteralsBeyondInt64() throws {
        XCTAssertEqual(try value("18446744073709551615", [:]), .uint(u64))
        XCTAssertThrowsError(try ExprParser.parse("18446744073709551616"), "beyond u64 is an error at load, not a silent Double")
        XCTAssertEqual(try bool("9223372036854775807 + 1 > 0", [:]), true)
    }

    func testU64CountersFromTheKernelStayExact() throws {
        // /proc/net/snmp6 and /proc/net/netstat print u64 counters; 2^64-1 is a real value of a wrapped one.
        let snmp6 = try ProcNetstatParser.parse(
            RawOutput("Ip6InReceives                   \(u64)\nIp6OutRequests 12\n", name: "/proc/net/snmp6"))
        XCTAssertEqual(snmp6.values["nstat.Ip6InReceives"], .uint(u64))
        XCTAssertEqual(snmp6.values["nstat.Ip6OutRequests"], .int(12))
        let netstat = try ProcNetstatParser.parse(
            RawOutput("TcpExt: ListenOverflows ListenDrops\nTcpExt: 9223372036854775808 3\n", name: "/proc/net/netstat"))
        XCTAssertEqual(netstat.values["nstat.TcpExtListenOverflows"], .uint(9_223_372_036_854_775_808))
        let sysctl = try SysctlParser.parse(RawOutput("fs.file-max = \(u64)\n", name: "sysctl fs.file-max"))
        XCTAssertEqual(sysctl.values["sysctl.fs.file-max"], .uint(u64))
        XCTAssertEqual(FactValue.uint(u64).display, "18446744073709551615")
        XCTAssertEqual(JSON(FactValue.uint(u64)).serialized(), "18446744073709551615")
        XCTAssertEqual(StoredValue(.uint(u64)).factValue, .uint(u64), "a saved session keeps the digits")
        XCTAssertEqual(try bool("a > 9223372036854775807", ["a": .uint(u64)]), true)
        XCTAssertEqual(FactValue(integer: Int128(u64) + 1), nil)
        XCTAssertEqual(FactValue(integer: 5), .int(5), "small integers are always `.int`")
    }
}

/// Three-valued logic in aggregates (Kleene): unknown is never taken as true, false or 0.
final class ExpressionKleeneTests: XCTestCase, ExpressionTesting {
    /// Two listeners, the second without `queue`.
    let partial: FactValue = .records([["port": .int(22), "queue": .int(0), "backlog": .int(128)], ["port": .int(80), "backlog": .int(1)]])

    func testMissingFieldsMakeAggregatesUnknownUnlessDecided() throws {
        let l = ["listeners": partial]
        XCTAssertNil(try bool("any(listeners, queue > 5)", l), "the record without a queue might have one > 5")
        XCTAssertEqual(try bool("any(listeners, queue == 0)", l), true, "one true decides any()")
        XCTAssertNil(try bool("all(listeners, queue == 0)", l), "the record without a queue might not be 0")
        XCTAssertEqual(try bool("all(listeners, queue > 5)", l), false, "one false decides all()")
        XCTAssertNil(try value("count(listeners, queue == 0)", l))
        XCTAssertNil(try value("sum(listeners, queue)", l))
        XCTAssertNil(try value("max(listeners, queue)", l))
        XCTAssertTrue(try problems("any(listeners, queue > 5)", l).contains("no `queue`"))
        XCTAssertEqual(try value("count(listeners)", l), .int(2), "the number of records is known")
        XCTAssertEqual(try bool("any(listeners, queue > 5) || a == 1", l.merging(["a": .int(1)]) { x, _ in x }), true)
    }

    func testADeclaredAbsentValueStandsInForAMissingField() throws {
        // checks/capture.yaml: `time_wait_kept: { type: bool, absent: false }` (written only when true).
        var d = FactDeclaration(key: "r", type: .records, fields: ["kept": .bool, "n": .int])
        d.absent = ["kept": .bool(false)]
        let scope = ExprScope(facts: ["r": d])
        func eval(_ text: String) throws -> EvalResult {
            ExprEvaluator { _ in .records([["n": .int(1)], ["kept": .bool(true)]]) }.eval(try ExprChecker.compile(text, scope: scope).0)
        }
        guard case .value(.int(1)) = try eval("count(r, kept)") else { return XCTFail("the record without `kept` counts as false") }
        guard case .unknown(let u) = try eval("all(r, n > 0)") else { return XCTFail("`n` has no absent value: unknown") }
        XCTAssertEqual(u.problems, ["a record has no `n`"])
    }

    func testEmptyListsHaveNoExtremes() throws {
        let none = ["listeners": FactValue.records([])]
        XCTAssertNil(try value("max(listeners, queue)", none))
        XCTAssertNil(try value("min(listeners, queue)", none))
        XCTAssertTrue(try problems("max(listeners, queue)", none).contains("empty"))
        XCTAssertEqual(try value("sum(listeners, queue)", none), .int(0))
        XCTAssertEqual(try value("count(listeners, queue > 0)", none), .int(0))
    }

    func testKleeneTruthTables() throws {
        // a unknown; b known.
        for (text, b, want) in [("a > 0 && b > 0", 0, false), ("a > 0 && b > 0", 1, nil), ("a > 0 || b > 0", 1, true),
                                ("a > 0 || b > 0", 0, nil), ("b > 0 && a > 0", 0, false), ("b > 0 || a > 0", 1, true),
                                ("!(a > 0 && b > 0)", 0, true), ("b in [1, a]", 1, true),
                                ("b in [2, a]", 1, nil)] as [(String, Int64, Bool?)] {
            XCTAssertEqual(try bool(text, ["b": .int(b)]), want, "\(text) with b = \(b)")
        }
    }
}
