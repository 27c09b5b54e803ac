import Foundation
import Testing

@testable import RunbookCore

@Suite struct InterpolatedStringTests {
    func interpolate(_ source: String) throws(ExpressionError) -> Value {
        try InterpolatedString(parsing: source).evaluate(in: exprTestContext)
    }

    func failure(_ source: String) -> ExpressionError? {
        do throws(ExpressionError) {
            _ = try interpolate(source)
            return nil
        } catch {
            return error
        }
    }

    @Test func literalStrings() throws {
        let s = try InterpolatedString(parsing: "hello")
        #expect(s.isLiteral)
        #expect(!s.isSingleExpression)
        #expect(s.parts == [.literal("hello")])
        #expect(try s.evaluate(in: exprTestContext) == .string("hello"))
        let empty = try InterpolatedString(parsing: "")
        #expect(empty.isLiteral && empty.parts == [])
        #expect(try empty.evaluate(in: exprTestContext) == .string(""))
        #expect(try interpolate("a } b }} {{ c $ d ${ e") == .string("a } b }} {{ c $ d ${ e"))
    }

    @Test func escape() throws {
        let s = try InterpolatedString(parsing: "$${{ not an expr }}")
        #expect(s.isLiteral)
        #expect(try s.evaluate(in: exprTestContext) == .string("${{ not an expr }}"))
        #expect(try interpolate("cost: $5 $$ ${{ params.a }}") == .string("cost: $5 $$ 1"))
        #expect(try interpolate("$$${{ params.a }}") == .string("$${{ params.a }}"))  // left to right: "$" then "$${{"
    }

    @Test func singleExpressionKeepsType() throws {
        let s = try InterpolatedString(parsing: "${{ hosts.secondary }}")
        #expect(s.isSingleExpression)
        #expect(!s.isLiteral)
        #expect(s.parts == [.expression(try Expression(parsing: "hosts.secondary"), offset: 4)])
        #expect(try s.evaluate(in: exprTestContext) == exprStrings("db2", "db3"))
        #expect(try interpolate("${{params.a}}") == .int(1))
        #expect(try interpolate("${{   params.timeout\t}}") == .duration(900))
        #expect(try interpolate("${{ unk }}") == .unknown)
        #expect(try interpolate("${{ params }}") == exprTestRoots["params"])
        let spaced = try InterpolatedString(parsing: "${{   mode}}")
        #expect(spaced.parts == [.expression(try Expression(parsing: "mode"), offset: 6)])
    }

    @Test func mixedText() throws {
        let s = try InterpolatedString(parsing: "db ${{ vars.name }} has ${{ params.a + 1 }} rows")
        #expect(!s.isSingleExpression && !s.isLiteral)
        #expect(
            s.parts == [
                .literal("db "),
                .expression(try Expression(parsing: "vars.name"), offset: 7),
                .literal(" has "),
                .expression(try Expression(parsing: "params.a + 1"), offset: 28),
                .literal(" rows"),
            ])
        #expect(try s.evaluate(in: exprTestContext) == .string("db db has 2 rows"))
        #expect(try interpolate(" ${{ params.a }}") == .string(" 1"))
        #expect(try interpolate("${{ params.a }}${{ params.a }}") == .string("11"))
        #expect(
            try interpolate(
                "t=${{ params.timeout }} r=${{ params.ratio }} f=${{ params.flag }} n=${{ params.nothing }} at ${{ now() }}"
            ) == .string("t=15m r=1.5 f=true n=null at 2024-01-02T10:00:00Z"))
        #expect(try interpolate("${{ 'a}}b' }}") == .string("a}}b"))
        #expect(try interpolate("x${{ \"}}\" }}y") == .string("x}}y"))
        #expect(try interpolate("id ${{ unk }}!") == .unknown)
    }

    @Test func errorsAreRelativeToWholeString() {
        #expect(
            failure("a ${{ params.a }} b ${{ params.zz }}")
                == exprErr(
                    31,
                    "no field 'zz' in params (known: a, b, flag, list, nothing, ratio, started, timeout)"))
        #expect(failure("${{ params.b < 1 }}") == exprErr(13, "cannot compare string with int"))
        #expect(failure("id ${{ unk }} ${{ parms }}") == exprErr(18, "unknown name 'parms' (did you mean 'params'?)"))
        #expect(failure("hosts: ${{ hosts.secondary }}") == exprErr(11, "cannot put a list into text"))
        #expect(failure("p=${{ params }}") == exprErr(6, "cannot put a map into text"))
    }

    @Test func parseErrorsAreRelativeToWholeString() {
        #expect(failure("x ${{ 1 }} ${{ len(a }}") == exprErr(20, "expected ')' to close '(' at column 19"))
        #expect(failure("x ${{ lenn(a) }}") == exprErr(6, "unknown function 'lenn' (did you mean 'len'?)"))
        #expect(failure("x ${{ a # b }}") == exprErr(8, "unexpected character '#'"))
        #expect(failure("abc ${{ params.a") == exprErr(4, "unterminated '${{' (missing '}}')"))
        #expect(failure("ok ${{ 1 }} then ${{ 2") == exprErr(17, "unterminated '${{' (missing '}}')"))
        #expect(failure("x ${{ }}") == exprErr(2, "empty expression in '${{ }}'"))
        #expect(failure("${{ 'abc }}") == exprErr(4, "unterminated string (missing closing ')"))
    }

    @Test func references() throws {
        let s = try InterpolatedString(parsing: "${{ params.a }} and ${{ steps.x-y.outputs.z }}")
        #expect(
            s.references == [
                NameReference(path: [.member("params"), .member("a")], offset: 4, length: 8),
                NameReference(
                    path: [.member("steps"), .member("x-y"), .member("outputs"), .member("z")], offset: 24, length: 19),
            ])
        #expect(try InterpolatedString(parsing: "plain").references == [])
    }

    @Test func manyAndLongInputsStayLinear() throws {
        // 50,000 strings as in a large runbook.
        var total = 0
        for i in 0..<50_000 {
            let s = try InterpolatedString(
                parsing: "step-\(i) ${{ steps.check-sync.outputs.faulty[0] }} ${{ params.a + \(i) }}")
            if case .string(let text) = try s.evaluate(in: exprTestContext) { total += text.count }
        }
        #expect(total > 50_000 * 10)
        // Long literals and long expressions.
        let longText = String(repeating: "x", count: 200_000)
        #expect(try interpolate(longText + "${{ params.a }}") == .string(longText + "1"))
        #expect(try exprEval("len('" + longText + "')") == .int(200_000))
        let sum = Array(repeating: "1", count: 1001).joined(separator: " + ")
        #expect(try exprEval(sum) == .int(1001))  // the operator limit, evaluated recursively
    }
}
