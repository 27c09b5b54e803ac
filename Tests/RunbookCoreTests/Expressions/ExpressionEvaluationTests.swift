import Foundation
import Testing

@testable import RunbookCore

@Suite struct ExpressionEvaluationTests {
    @Test func names() throws {
        #expect(try exprEval("params.a") == .int(1))
        #expect(try exprEval("mode") == .string("live"))
        #expect(try exprEval("run.id") == .string("r-42"))
        #expect(try exprEval("hosts.secondary") == exprStrings("db2", "db3"))
        #expect(try exprEval("outputs.count") == .int(3))
        #expect(try exprEval("params . b") == .string("text"))
    }

    @Test func nameErrors() {
        #expect(exprEvalError("parms.a") == exprErr(0, "unknown name 'parms' (did you mean 'params'?)"))
        #expect(exprEvalError("1 + var.i") == exprErr(4, "unknown name 'var' (did you mean 'vars'?)"))
        #expect(exprEvalError("host") == exprErr(0, "unknown name 'host' (did you mean 'hosts'?)"))
        #expect(
            exprEvalError("xyzzy")
                == exprErr(
                    0,
                    "unknown name 'xyzzy' (known: hosts, mode, outputs, params, run, steps, unk, vars)"))
        #expect(
            exprEvalError("params.foo")
                == exprErr(
                    7,
                    "no field 'foo' in params (known: a, b, flag, list, nothing, ratio, started, timeout)"))
        #expect(
            exprEvalError("params.zzzzz")
                == exprErr(
                    7,
                    "no field 'zzzzz' in params (known: a, b, flag, list, nothing, ratio, started, timeout)"))
        #expect(exprEvalError("params.flg") == exprErr(7, "no field 'flg' in params (did you mean 'flag'?)"))
        #expect(exprEvalError("params.time") == exprErr(7, "no field 'time' in params (did you mean 'timeout'?)"))
        #expect(
            exprEvalError("steps.check-sync.outputs.fauly")
                == exprErr(
                    25,
                    "no field 'fauly' in steps.check-sync.outputs (did you mean 'faulty'?)"))
        #expect(
            exprEvalError("steps.check-snc.outputs")
                == exprErr(
                    6,
                    "no field 'check-snc' in steps (did you mean 'check-sync'?)"))
        let empty = EvaluationContext(roots: ["vars": .map([:])], now: exprTestNow)
        #expect(exprEvalError("vars.x", empty) == exprErr(5, "no field 'x' in vars (it has no fields)"))
        #expect(exprEvalError("params.a.b") == exprErr(9, "cannot read field 'b' of params.a: it is int, not a map"))
        #expect(exprEvalError("mode.x") == exprErr(5, "cannot read field 'x' of mode: it is string, not a map"))
    }

    @Test func indexing() throws {
        #expect(try exprEval("params.list[0]") == .int(1))
        #expect(try exprEval("params.list[2]") == .int(3))
        #expect(try exprEval("params.list[vars.i + 1]") == .int(3))
        #expect(try exprEval("params['b']") == .string("text"))
        #expect(try exprEval("params[vars.key]") == .string("text"))
        #expect(try exprEval("steps['check-sync'].outputs.faulty[0]") == .string("db2"))
        #expect(try exprEval("hosts.secondary[1]") == .string("db3"))
        #expect(try exprEval("(hosts.secondary)[0]") == .string("db2"))
    }

    @Test func indexErrors() {
        #expect(exprEvalError("params.list[3]") == exprErr(11, "index 3 out of range for params.list (3 elements)"))
        #expect(
            exprEvalError("hosts.primary[-1]") == exprErr(13, "index -1 out of range for hosts.primary (1 element)"))
        #expect(exprEvalError("params.list['a']") == exprErr(11, "list index must be an int, got string"))
        #expect(exprEvalError("params[0]") == exprErr(6, "map key must be a string, got int"))
        #expect(
            exprEvalError("params['zz']")
                == exprErr(
                    6,
                    "no field 'zz' in params (known: a, b, flag, list, nothing, ratio, started, timeout)"))
        #expect(exprEvalError("params.a[0]") == exprErr(8, "cannot index params.a: it is int, not a list or map"))
        #expect(
            exprEvalError("params.nothing[0]")
                == exprErr(14, "cannot index params.nothing: it is null, not a list or map"))
    }

    @Test func projections() throws {
        #expect(try exprEval("steps.s.outputs.workers[*].status") == exprStrings("ok", "failed", "ok"))
        #expect(try exprEval("steps.s.outputs.workers[*].meta.zone") == exprStrings("a", "b", "c"))
        #expect(try exprEval("count(steps.s.outputs.workers[*].ok)") == .int(2))
        #expect(try exprEval("count(steps.s.outputs.workers[*].status, 'ok')") == .int(2))
        #expect(try exprEval("len(steps.s.outputs.workers[*].name)") == .int(3))
        #expect(try exprEval("(steps.s.outputs.workers[*].name)[1]") == .string("w2"))
        #expect(try exprEval("steps.s.outputs.workers[*]['name']") == exprStrings("w1", "w2", "w3"))
        #expect(try exprEval("hosts.secondary[*]") == exprStrings("db2", "db3"))
        #expect(try exprEval("contains(steps.s.outputs.workers[*].name, 'w3')") == .bool(true))
        let nested = EvaluationContext(
            roots: [
                "x": .list([
                    .map(["items": .list([.map(["n": .int(1)]), .map(["n": .int(2)])])]),
                    .map(["items": .list([])]),
                ])
            ], now: exprTestNow)
        #expect(try exprEval("x[*].items[*].n", nested) == .list([.list([.int(1), .int(2)]), .list([])]))
        #expect(
            exprEvalError("x[*].items[0].n", nested) == exprErr(10, "index 0 out of range for x[*].items (0 elements)"))
        #expect(
            try exprEval("x[*].items", nested)
                == .list([
                    .list([.map(["n": .int(1)]), .map(["n": .int(2)])]), .list([]),
                ]))
    }

    @Test func projectionErrors() {
        #expect(exprEvalError("params[*]") == exprErr(6, "cannot use [*] on params: it is map, not a list"))
        let roots: [String: Value] = ["x": .list([.map(["a": .int(1)]), .map(["b": .int(2)])])]
        let context = EvaluationContext(roots: roots, now: exprTestNow)
        #expect(exprEvalError("x[*].a", context) == exprErr(5, "no field 'a' in x[*] (known: b)"))
    }

    @Test func arithmetic() throws {
        #expect(try exprEval("1 + 2") == .int(3))
        #expect(try exprEval("1 + 0.5") == .double(1.5))
        #expect(try exprEval("params.ratio - 1") == .double(0.5))
        #expect(try exprEval("2 - 0.5") == .double(1.5))
        #expect(try exprEval("'db' + '-' + vars.name") == .string("db-db"))
        #expect(try exprEval("params.timeout + 5m") == .duration(1200))
        #expect(try exprEval("params.timeout - 5m") == .duration(600))
        #expect(try exprEval("-params.timeout") == .duration(-900))
        #expect(try exprEval("-params.ratio") == .double(-1.5))
        #expect(try exprEval("--3") == .int(3))
        #expect(try exprEval("now() - params.started") == .duration(3600))
        #expect(try exprEval("params.started + 1h") == .timestamp(exprTestNow))
        #expect(try exprEval("1h + params.started") == .timestamp(exprTestNow))
        #expect(try exprEval("now() - 1h == params.started") == .bool(true))
    }

    @Test func arithmeticErrors() {
        #expect(exprEvalError("params.b + 1") == exprErr(9, "cannot add string and int"))
        #expect(exprEvalError("1 + 1h") == exprErr(2, "cannot add int and duration"))
        #expect(exprEvalError("'a' - 'b'") == exprErr(4, "cannot subtract string from string"))
        #expect(exprEvalError("1h - now()") == exprErr(3, "cannot subtract timestamp from duration"))
        #expect(exprEvalError("-'a'") == exprErr(0, "'-' needs a number or duration, got string"))
        #expect(exprEvalError("9223372036854775807 + 1") == exprErr(20, "integer overflow in '+'"))
        #expect(exprEvalError("0 - 9223372036854775807 - 2") == exprErr(24, "integer overflow in '-'"))
    }

    @Test func comparisons() throws {
        #expect(try exprEval("1 < 2") == .bool(true))
        #expect(try exprEval("2 <= 2") == .bool(true))
        #expect(try exprEval("1.5 > 1") == .bool(true))
        #expect(try exprEval("1 >= 1.5") == .bool(false))
        #expect(try exprEval("'abc' < 'abd'") == .bool(true))
        #expect(try exprEval("90s < 2m") == .bool(true))
        #expect(try exprEval("params.started < now()") == .bool(true))
        #expect(try exprEval("1 == 1.0") == .bool(true))
        #expect(try exprEval("1 != 1.0") == .bool(false))
        #expect(try exprEval("1 == '1'") == .bool(false))
        #expect(try exprEval("null == null") == .bool(true))
        #expect(try exprEval("params.nothing == null") == .bool(true))
        #expect(try exprEval("params.list == params.list") == .bool(true))
        #expect(try exprEval("hosts.secondary != hosts.primary") == .bool(true))
        #expect(try exprEval("60s == 1m") == .bool(true))
        #expect(try exprEval("mode == 'live'") == .bool(true))
    }

    @Test func comparisonErrors() {
        #expect(exprEvalError("params.b < 1") == exprErr(9, "cannot compare string with int"))
        #expect(exprEvalError("1 >= 1m") == exprErr(2, "cannot compare int with duration"))
        #expect(exprEvalError("true > false") == exprErr(5, "cannot compare bool with bool"))
        #expect(exprEvalError("null <= 1") == exprErr(5, "cannot compare null with int"))
    }

    @Test func logic() throws {
        #expect(try exprEval("true && false") == .bool(false))
        #expect(try exprEval("true || false") == .bool(true))
        #expect(try exprEval("!params.flag") == .bool(false))
        #expect(try exprEval("false && params.b") == .bool(false))  // short-circuit: right side not checked
        #expect(try exprEval("true || 1") == .bool(true))
    }

    @Test func logicErrors() {
        #expect(exprEvalError("params.b && true") == exprErr(9, "'&&' needs bool operands, got string and bool"))
        #expect(exprEvalError("true && 1") == exprErr(5, "'&&' needs bool operands, got bool and int"))
        #expect(exprEvalError("false || 'x'") == exprErr(6, "'||' needs bool operands, got bool and string"))
        #expect(exprEvalError("unk || 'x'") == exprErr(4, "'||' needs bool operands, got unknown and string"))
        #expect(exprEvalError("!1") == exprErr(0, "'!' needs a bool operand, got int"))
        #expect(exprEvalError("true && !params.list") == exprErr(8, "'!' needs a bool operand, got list"))
    }

    @Test func unknownPropagation() throws {
        #expect(try exprEval("unk") == .unknown)
        #expect(try exprEval("unk + 1") == .unknown)
        #expect(try exprEval("1 + unk") == .unknown)
        #expect(try exprEval("unk == 1") == .unknown)
        #expect(try exprEval("unk != null") == .unknown)
        #expect(try exprEval("unk < 1") == .unknown)
        #expect(try exprEval("'x' < unk") == .unknown)
        #expect(try exprEval("!unk") == .unknown)
        #expect(try exprEval("-unk") == .unknown)
        #expect(try exprEval("unk.a.b[0][*].c") == .unknown)
        #expect(try exprEval("steps.later.outputs.x") == .unknown)
        #expect(try exprEval("params.list[unk]") == .unknown)
        #expect(try exprEval("len(unk)") == .unknown)
        #expect(try exprEval("unk + 'a' == 'b'") == .unknown)
        #expect(try exprEval("since(unk)") == .unknown)
        #expect(try exprEval("unk[*].x") == .unknown)
        // short-circuit
        #expect(try exprEval("false && unk") == .bool(false))
        #expect(try exprEval("unk && false") == .bool(false))
        #expect(try exprEval("true || unk") == .bool(true))
        #expect(try exprEval("unk || true") == .bool(true))
        #expect(try exprEval("true && unk") == .unknown)
        #expect(try exprEval("unk && true") == .unknown)
        #expect(try exprEval("false || unk") == .unknown)
        #expect(try exprEval("unk || false") == .unknown)
        #expect(try exprEval("unk && unk") == .unknown)
        #expect(try exprEval("(unk == 1) || params.flag") == .bool(true))
        // lists holding unknowns
        let roots: [String: Value] = ["l": .list([.int(1), .unknown]), "m": .map(["a": .unknown])]
        let context = EvaluationContext(roots: roots, now: exprTestNow)
        #expect(try exprEval("l == l", context) == .unknown)
        #expect(try exprEval("l != m", context) == .bool(true))
        #expect(try exprEval("len(l)", context) == .int(2))
        #expect(try exprEval("l[0]", context) == .int(1))
        #expect(try exprEval("m.a", context) == .unknown)
    }
}
