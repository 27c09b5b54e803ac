import Testing

@testable import RunbookCore

@Suite struct ExpressionParserTests {
    @Test func precedence() throws {
        #expect(try exprTree("1 + 2 == 3 && !false || false") == "(|| (&& (== (+ 1 2) 3) (! false)) false)")
        #expect(try exprTree("a || b && c") == "(|| a (&& b c))")
        #expect(try exprTree("a && b || c") == "(|| (&& a b) c)")
        #expect(try exprTree("-1 < 0") == "(< (- 1) 0)")
        #expect(try exprTree("a == b < c") == "(== a (< b c))")
        #expect(try exprTree("a < b + c") == "(< a (+ b c))")
        #expect(try exprTree("a - b - c") == "(- (- a b) c)")
        #expect(try exprTree("!a == b") == "(== (! a) b)")
        #expect(try exprTree("-x.y[0]") == "(- x.y[0])")
        #expect(try exprTree("(a || b) && c") == "(&& (|| a b) c)")
        #expect(try exprTree("!!a") == "(! (! a))")
        #expect(try exprTree("len(a) + 1 >= min(1, 2)") == "(>= (+ len(a) 1) min(1, 2))")
    }

    @Test func precedenceEvaluates() throws {
        #expect(try exprEval("1 + 2 == 3 && !false || false") == .bool(true))
        #expect(try exprEval("-1 < 0") == .bool(true))
        #expect(try exprEval("true || false && false") == .bool(true))
        #expect(try exprEval("(true || false) && false") == .bool(false))
        #expect(try exprEval("10 - 3 - 2") == .int(5))
    }

    @Test func literals() throws {
        #expect(try exprEval("42") == .int(42))
        #expect(try exprEval("1.5") == .double(1.5))
        #expect(try exprEval("true") == .bool(true))
        #expect(try exprEval("false") == .bool(false))
        #expect(try exprEval("null") == .null)
        #expect(try exprEval("'it\\'s'") == .string("it's"))
        #expect(try exprEval("'back\\\\slash'") == .string("back\\slash"))
        #expect(try exprEval("'keep \\d'") == .string("keep \\d"))
        #expect(try exprEval("\"double \\\" quoted\"") == .string("double \" quoted"))
        #expect(try exprEval("''") == .string(""))
        #expect(try exprEval("15m") == .duration(900))
        #expect(try exprEval("90s") == .duration(90))
        #expect(try exprEval("2h") == .duration(7200))
        #expect(try exprEval("1h30m") == .duration(5400))
        #expect(try exprEval("500ms") == .duration(0.5))
        #expect(try exprEval("1d") == .duration(86_400))
        #expect(try exprEval("15m + 30m == 45m") == .bool(true))
        #expect(try exprEval("2h > 90m") == .bool(true))
        #expect(try exprEval("15m+30m") == .duration(2700))
    }

    @Test func hyphenatedMemberNames() throws {
        #expect(try exprTree("steps.check-sync.outputs.faulty") == "steps.check-sync.outputs.faulty")
        #expect(try exprTree("x.foo-bar") == "x.foo-bar")
        #expect(try exprTree("x.db-1") == "x.db-1")
        #expect(try exprTree("a-b") == "(- a b)")
        #expect(try exprTree("a - b") == "(- a b)")
        #expect(try exprTree("a-1") == "(- a 1)")
        #expect(try exprTree("x.a - b") == "(- x.a b)")
        #expect(try exprTree("x.a -b") == "(- x.a b)")
        #expect(try exprTree("x.a- b") == "(- x.a b)")
        #expect(try exprTree("x.a-(b)") == "(- x.a b)")
        #expect(try exprEval("steps.check-sync.outputs.faulty") == exprStrings("db2"))
        // Documented rule: after a '.', `count-1` is one member name; spaces make it a subtraction.
        #expect(try exprEval("outputs.count - 1") == .int(2))
        #expect(exprEvalError("outputs.count-1") == exprErr(8, "no field 'count-1' in outputs (did you mean 'count'?)"))
    }

    @Test func referencesListPaths() throws {
        let e = try Expression(parsing: "params.a + steps.x-y.outputs.z")
        #expect(
            e.references == [
                NameReference(path: [.member("params"), .member("a")], offset: 0, length: 8),
                NameReference(
                    path: [.member("steps"), .member("x-y"), .member("outputs"), .member("z")], offset: 11, length: 19),
            ])
    }

    @Test func referencesWithIndexesProjectionsAndCalls() throws {
        let e = try Expression(parsing: "len(xs[0]['k'][*].name) > 0 && mode == 'live' && ys[vars.i].z")
        #expect(
            e.references == [
                NameReference(
                    path: [.member("xs"), .index(0), .member("k"), .wildcard, .member("name")], offset: 4, length: 18),
                NameReference(path: [.member("mode")], offset: 31, length: 4),
                NameReference(path: [.member("ys")], offset: 49, length: 2),
                NameReference(path: [.member("vars"), .member("i")], offset: 52, length: 6),
            ])
        #expect(e.references.map(\.pathDescription) == ["xs[0].k[*].name", "mode", "ys", "vars.i"])
        #expect(try Expression(parsing: "1 + 'a'").references == [])
        #expect(
            try Expression(parsing: "(params).a").references == [
                NameReference(path: [.member("params")], offset: 1, length: 6)
            ])
    }

    @Test func expressionIdentity() throws {
        let a = try Expression(parsing: "params.a + 1")
        #expect(a == (try Expression(parsing: "params.a + 1")))
        #expect(a != (try Expression(parsing: "params.a+1")))
        #expect(a.description == "params.a + 1")
        #expect(a.source == "params.a + 1")
    }

    @Test func parseErrors() {
        #expect(exprParseError("len(a") == exprErr(5, "expected ')' to close '(' at column 4"))
        #expect(exprParseError("(a + b") == exprErr(6, "expected ')' to close '(' at column 1"))
        #expect(exprParseError("len(a b)") == exprErr(6, "expected ')' to close '(' at column 4"))
        #expect(exprParseError("x[0") == exprErr(3, "expected ']' to close '[' at column 2"))
        #expect(exprParseError("x[*") == exprErr(3, "expected ']' to close '[' at column 2"))
        #expect(exprParseError("x[]") == exprErr(2, "expected an expression after '['"))
        #expect(exprParseError("a ==") == exprErr(4, "expected an expression after '=='"))
        #expect(exprParseError("a == )") == exprErr(5, "expected an expression after '=='"))
        #expect(exprParseError("len(a,)") == exprErr(6, "expected an expression after ','"))
        #expect(exprParseError("!") == exprErr(1, "expected an expression after '!'"))
        #expect(exprParseError("") == exprErr(0, "expected an expression"))
        #expect(exprParseError("   ") == exprErr(3, "expected an expression"))
        #expect(exprParseError(")") == exprErr(0, "unexpected ')'"))
        #expect(exprParseError("a b") == exprErr(2, "unexpected 'b'"))
        #expect(exprParseError("a * b") == exprErr(2, "unexpected '*'"))
        #expect(exprParseError("(a))") == exprErr(3, "unexpected ')'"))
        #expect(exprParseError("a # b") == exprErr(2, "unexpected character '#'"))
        #expect(exprParseError("a = b") == exprErr(2, "unexpected character '=' (did you mean '=='?)"))
        #expect(exprParseError("a & b") == exprErr(2, "unexpected character '&' (did you mean '&&'?)"))
        #expect(exprParseError("a | b") == exprErr(2, "unexpected character '|' (did you mean '||'?)"))
        #expect(exprParseError("x.") == exprErr(2, "expected a field name after '.'"))
        #expect(exprParseError("x.1") == exprErr(2, "expected a field name after '.'"))
        #expect(exprParseError("'abc") == exprErr(0, "unterminated string (missing closing ')"))
        #expect(exprParseError("a == \"abc") == exprErr(5, "unterminated string (missing closing \")"))
        #expect(
            exprParseError("x > 1.5h")
                == exprErr(4, "invalid duration '1.5h' (use whole numbers with units d, h, m, s, ms, e.g. 1h30m)"))
        #expect(exprParseError("5 minutes") == exprErr(2, "unexpected 'minutes'"))
        #expect(
            exprParseError("5min")
                == exprErr(0, "invalid duration '5min' (use whole numbers with units d, h, m, s, ms, e.g. 1h30m)"))
        #expect(exprParseError("99999999999999999999") == exprErr(0, "number '99999999999999999999' is too large"))
    }

    @Test func functionParseErrors() {
        #expect(exprParseError("lenn(x)") == exprErr(0, "unknown function 'lenn' (did you mean 'len'?)"))
        #expect(
            exprParseError("1 + conains(x, 1)") == exprErr(4, "unknown function 'conains' (did you mean 'contains'?)"))
        #expect(
            exprParseError("starts(x, 'a')") == exprErr(0, "unknown function 'starts' (did you mean 'startsWith'?)"))
        #expect(
            exprParseError("frobnicate()")
                == exprErr(
                    0,
                    "unknown function 'frobnicate' (known: all, any, contains, count, endsWith, get, join, len, max, min, none, now, since, startsWith)"
                ))
        #expect(exprParseError("a && len(x, y)") == exprErr(5, "'len' takes 1 argument, got 2"))
        #expect(exprParseError("len()") == exprErr(0, "'len' takes 1 argument, got 0"))
        #expect(exprParseError("contains(x)") == exprErr(0, "'contains' takes 2 arguments, got 1"))
        #expect(exprParseError("startsWith(x, 'a', 'b')") == exprErr(0, "'startsWith' takes 2 arguments, got 3"))
        #expect(exprParseError("endsWith()") == exprErr(0, "'endsWith' takes 2 arguments, got 0"))
        #expect(exprParseError("all(a, b)") == exprErr(0, "'all' takes 1 argument, got 2"))
        #expect(exprParseError("any()") == exprErr(0, "'any' takes 1 argument, got 0"))
        #expect(exprParseError("none(a, b)") == exprErr(0, "'none' takes 1 argument, got 2"))
        #expect(exprParseError("count()") == exprErr(0, "'count' takes 1 or 2 arguments, got 0"))
        #expect(exprParseError("count(a, b, c)") == exprErr(0, "'count' takes 1 or 2 arguments, got 3"))
        #expect(exprParseError("min()") == exprErr(0, "'min' takes a list or at least 2 arguments, got 0"))
        #expect(exprParseError("max()") == exprErr(0, "'max' takes a list or at least 2 arguments, got 0"))
        #expect(exprParseError("now(1)") == exprErr(0, "'now' takes no arguments, got 1"))
        #expect(exprParseError("since()") == exprErr(0, "'since' takes 1 argument, got 0"))
        #expect(exprParseError("since(a, b)") == exprErr(0, "'since' takes 1 argument, got 2"))
        #expect(exprParseError("lenn(a") == exprErr(0, "unknown function 'lenn' (did you mean 'len'?)"))
    }

    @Test func deepNestingIsRejectedNotCrashing() {
        let deep = String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500)
        #expect(exprParseError(deep)?.message == "expression is nested too deeply")
        let longSum = Array(repeating: "1", count: 1002).joined(separator: "+")
        #expect(exprParseError(longSum) == exprErr(2001, "expression is too long (more than 1000 operators)"))
        let fine = String(repeating: "(", count: 20) + "1" + String(repeating: ")", count: 20)
        #expect(exprParseError(fine) == nil)
    }
}
