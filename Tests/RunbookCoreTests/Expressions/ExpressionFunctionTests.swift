import Foundation
import Testing

@testable import RunbookCore

@Suite struct ExpressionFunctionTests {
    let context: EvaluationContext = {
        var roots = exprTestRoots
        roots["bools"] = .list([.bool(true), .bool(true)])
        roots["mixed"] = .list([.bool(true), .bool(false)])
        roots["falses"] = .list([.bool(false), .int(0), .string("")])
        roots["withUnk"] = .list([.bool(true), .unknown])
        roots["falseUnk"] = .list([.bool(false), .unknown])
        roots["empty"] = .list([])
        return EvaluationContext(roots: roots, now: exprTestNow)
    }()

    func run(_ source: String) throws(ExpressionError) -> Value {
        try exprEval(source, context)
    }

    func failure(_ source: String) -> ExpressionError? {
        exprEvalError(source, context)
    }

    @Test func len() throws {
        #expect(try run("len('abc')") == .int(3))
        #expect(try run("len('')") == .int(0))
        #expect(try run("len(params.list)") == .int(3))
        #expect(try run("len(params)") == .int(8))
        #expect(try run("len(hosts.primary)") == .int(1))
        #expect(try run("len(unk)") == .unknown)
        #expect(failure("len(1)") == exprErr(4, "'len' needs a string, list or map, got int"))
        #expect(failure("len(null)") == exprErr(4, "'len' needs a string, list or map, got null"))
    }

    @Test func contains() throws {
        #expect(try run("contains('abcdef', 'cd')") == .bool(true))
        #expect(try run("contains('abcdef', 'x')") == .bool(false))
        #expect(try run("contains('abc', '')") == .bool(true))
        #expect(try run("contains(hosts.secondary, 'db3')") == .bool(true))
        #expect(try run("contains(hosts.secondary, 'db1')") == .bool(false))
        #expect(try run("contains(params.list, 2.0)") == .bool(true))
        #expect(try run("contains(params.list, '2')") == .bool(false))
        #expect(try run("contains(params, 'flag')") == .bool(true))
        #expect(try run("contains(params, 'nope')") == .bool(false))
        #expect(try run("contains(withUnk, true)") == .bool(true))
        #expect(try run("contains(withUnk, false)") == .unknown)
        #expect(try run("contains(unk, 1)") == .unknown)
        #expect(try run("contains('abc', unk)") == .unknown)
        #expect(try run("contains(params.list, unk)") == .unknown)
        #expect(failure("contains(1, 1)") == exprErr(9, "'contains' needs a string, list or map, got int"))
        #expect(
            failure("contains('a', 1)") == exprErr(14, "'contains' needs a string to look for in a string, got int"))
        #expect(
            failure("contains(params, 1)") == exprErr(17, "'contains' needs a string key to look for in a map, got int")
        )
    }

    @Test func startsWithEndsWith() throws {
        #expect(try run("startsWith(mode, 'li')") == .bool(true))
        #expect(try run("startsWith(mode, 've')") == .bool(false))
        #expect(try run("endsWith(mode, 've')") == .bool(true))
        #expect(try run("endsWith(mode, 'li')") == .bool(false))
        #expect(try run("startsWith(mode, '')") == .bool(true))
        #expect(try run("startsWith(unk, 'a')") == .unknown)
        #expect(try run("endsWith('a', unk)") == .unknown)
        #expect(failure("startsWith(1, 'a')") == exprErr(11, "'startsWith' needs a string, got int"))
        #expect(failure("endsWith('a', 2)") == exprErr(14, "'endsWith' needs a string, got int"))
        #expect(failure("endsWith(unk, 2)") == exprErr(14, "'endsWith' needs a string, got int"))
    }

    @Test func allAnyNone() throws {
        #expect(try run("all(bools)") == .bool(true))
        #expect(try run("all(mixed)") == .bool(false))
        #expect(try run("all(empty)") == .bool(true))
        #expect(try run("all(withUnk)") == .unknown)
        #expect(try run("all(falseUnk)") == .bool(false))
        #expect(try run("any(mixed)") == .bool(true))
        #expect(try run("any(falses)") == .bool(false))
        #expect(try run("any(empty)") == .bool(false))
        #expect(try run("any(withUnk)") == .bool(true))
        #expect(try run("any(falseUnk)") == .unknown)
        #expect(try run("none(falses)") == .bool(true))
        #expect(try run("none(mixed)") == .bool(false))
        #expect(try run("none(empty)") == .bool(true))
        #expect(try run("none(withUnk)") == .bool(false))
        #expect(try run("none(falseUnk)") == .unknown)
        #expect(try run("all(steps.s.outputs.workers[*].ok)") == .bool(false))
        #expect(try run("any(steps.s.outputs.workers[*].ok)") == .bool(true))
        #expect(try run("all(unk)") == .unknown)
        #expect(failure("all(1)") == exprErr(4, "'all' needs a list, got int"))
        #expect(failure("any(params)") == exprErr(4, "'any' needs a list, got map"))
        #expect(failure("none('x')") == exprErr(5, "'none' needs a list, got string"))
    }

    @Test func count() throws {
        #expect(try run("count(mixed)") == .int(1))
        #expect(try run("count(falses)") == .int(0))
        #expect(try run("count(empty)") == .int(0))
        #expect(try run("count(withUnk)") == .unknown)
        #expect(try run("count(params.list, 2)") == .int(1))
        #expect(try run("count(params.list, 2.0)") == .int(1))
        #expect(try run("count(steps.s.outputs.workers[*].status, 'failed')") == .int(1))
        #expect(try run("count(withUnk, true)") == .unknown)
        #expect(try run("count(bools, unk)") == .unknown)
        #expect(try run("count(unk)") == .unknown)
        #expect(failure("count(1)") == exprErr(6, "'count' needs a list, got int"))
        #expect(failure("count('ab', 'a')") == exprErr(6, "'count' needs a list, got string"))
    }

    @Test func minMax() throws {
        #expect(try run("min(params.list)") == .int(1))
        #expect(try run("max(params.list)") == .int(3))
        #expect(try run("min(3, 1, 2)") == .int(1))
        #expect(try run("max(1, 2.5)") == .double(2.5))
        #expect(try run("max(3, 2.5)") == .int(3))
        #expect(try run("min(90s, 1m)") == .duration(60))
        #expect(try run("max('a', 'b')") == .string("b"))
        #expect(try run("max(params.started, now())") == .timestamp(exprTestNow))
        #expect(try run("min(1, unk)") == .unknown)
        #expect(try run("min(withUnk)") == .unknown)
        #expect(try run("max(unk)") == .unknown)
        #expect(failure("min(empty)") == exprErr(0, "'min' of an empty list"))
        #expect(failure("1 + max(1, 'a')") == exprErr(4, "'max' cannot compare string with int"))
        #expect(failure("min(5)") == exprErr(4, "'min' needs a list (or at least 2 arguments), got int"))
    }

    @Test func nowAndSince() throws {
        #expect(try run("now()") == .timestamp(exprTestNow))
        #expect(try run("since('2024-01-02T09:00:00Z')") == .duration(3600))
        #expect(try run("since('2024-01-02 09:30:00')") == .duration(1800))
        #expect(try run("since(params.started)") == .duration(3600))
        #expect(try run("since(params.started) > 30m") == .bool(true))
        #expect(try run("since(now())") == .duration(0))
        #expect(try run("since(unk) > 5m") == .unknown)
        #expect(
            failure("since('garbage')")
                == exprErr(
                    6,
                    "'since' cannot read 'garbage' as a timestamp (expected e.g. 2024-01-02T10:00:00Z or 2024-01-02 10:00:00)"
                ))
        #expect(failure("since(1)") == exprErr(6, "'since' needs a timestamp or a string, got int"))
    }

    /// `get(map, 'field', default)`: an optional field of a for_each element (`item.F` of a
    /// missing F is an error).
    @Test func getReadsAFieldOrItsDefault() throws {
        #expect(try run("get(params, 'b', 'none')") == .string("text"))
        #expect(try run("get(params, 'absent', 'none')") == .string("none"))
        #expect(try run("get(params, 'nothing', 'none')") == .null)
        #expect(try run("get(params.nothing, 'a', 7)") == .int(7))
        #expect(try run("get(params, vars.key, 0)") == .string("text"))
        #expect(try run("get(unk, 'a', 0)") == .unknown)
        #expect(try run("get(params, unk, 0)") == .unknown)
        #expect(try run("get(params, 'absent', '/var/tmp/' + vars.name)") == .string("/var/tmp/db"))
        #expect(failure("get(params.list, 'a', 0)") == exprErr(4, "'get' needs a map, got list"))
        #expect(failure("get(params, 1, 0)") == exprErr(12, "'get' needs a field name (a string), got int"))
        #expect(
            exprParseError("get(params, 'a')")
                == exprErr(0, "'get' takes 3 arguments (a map, a field name, a default), got 2"))
    }

    /// `join(list, separator)`: a list of scalars as text (a list cannot be put into text).
    @Test func joinPutsAListIntoText() throws {
        #expect(try run("join(params.list, ', ')") == .string("1, 2, 3"))
        #expect(try run("join(hosts.secondary, ' ')") == .string("db2 db3"))
        #expect(try run("join(empty, ',')") == .string(""))
        #expect(try run("join(withUnk, ',')") == .unknown)
        #expect(try run("join(unk, ',')") == .unknown)
        #expect(try run("join(steps.s.outputs.workers[*].name, '+')") == .string("w1+w2+w3"))
        #expect(failure("join('a', ',')") == exprErr(5, "'join' needs a list, got string"))
        #expect(failure("join(params.list, 1)") == exprErr(18, "'join' needs a separator (a string), got int"))
        #expect(
            failure("join(steps.s.outputs.workers, ',')")
                == exprErr(5, "'join' needs a list of scalars, element 0 is a map"))
    }
}
