import Foundation

@testable import RunbookCore

/// 2024-01-02T10:00:00Z, the clock used by the test context.
let exprTestNow = Date(timeIntervalSince1970: 1_704_189_600)

/// A worker record used in projection tests.
func exprWorker(_ name: String, _ status: String, ok: Bool, zone: String) -> Value {
    .map([
        "name": .string(name),
        "status": .string(status),
        "ok": .bool(ok),
        "meta": .map(["zone": .string(zone)]),
    ])
}

/// The top-level names of the test context.
let exprTestRoots: [String: Value] = [
    "params": .map([
        "a": .int(1),
        "b": .string("text"),
        "flag": .bool(true),
        "timeout": .duration(900),
        "list": .list([.int(1), .int(2), .int(3)]),
        "ratio": .double(1.5),
        "nothing": .null,
        "started": .timestamp(Date(timeIntervalSince1970: 1_704_186_000)),  // 09:00:00Z
    ]),
    "vars": .map(["i": .int(1), "name": .string("db"), "key": .string("b")]),
    "hosts": .map([
        "primary": .list([.string("db1")]),
        "secondary": .list([.string("db2"), .string("db3")]),
    ]),
    "mode": .string("live"),
    "run": .map(["id": .string("r-42")]),
    "steps": .map([
        "check-sync": .map(["outputs": .map(["faulty": .list([.string("db2")])])]),
        "s": .map([
            "outputs": .map([
                "workers": .list([
                    exprWorker("w1", "ok", ok: true, zone: "a"),
                    exprWorker("w2", "failed", ok: false, zone: "b"),
                    exprWorker("w3", "ok", ok: true, zone: "c"),
                ])
            ])
        ]),
        "later": .unknown,
    ]),
    "outputs": .map(["count": .int(3)]),
    "unk": .unknown,
]

let exprTestContext = EvaluationContext(roots: exprTestRoots, now: exprTestNow)

/// Parses and evaluates `source` in the test context.
func exprEval(_ source: String, _ context: EvaluationContext = exprTestContext) throws(ExpressionError) -> Value {
    try Expression(parsing: source).evaluate(in: context)
}

/// The structure of `source` as a parenthesised S-expression.
func exprTree(_ source: String) throws(ExpressionError) -> String {
    try Expression(parsing: source).root.sExpression
}

/// The error thrown while parsing `source`, or `nil`.
func exprParseError(_ source: String) -> ExpressionError? {
    do throws(ExpressionError) {
        _ = try Expression(parsing: source)
        return nil
    } catch {
        return error
    }
}

/// The error thrown while parsing or evaluating `source`, or `nil`.
func exprEvalError(_ source: String, _ context: EvaluationContext = exprTestContext) -> ExpressionError? {
    do throws(ExpressionError) {
        _ = try exprEval(source, context)
        return nil
    } catch {
        return error
    }
}

/// Shorthand for an expected error.
func exprErr(_ offset: Int, _ message: String) -> ExpressionError {
    ExpressionError(offset: offset, message: message)
}

/// Shorthand for a list of strings.
func exprStrings(_ items: String...) -> Value {
    .list(items.map { .string($0) })
}
