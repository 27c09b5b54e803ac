import Foundation

/// Evaluates a parsed expression tree against an ``EvaluationContext``.
struct ExprEvaluator {
    let context: EvaluationContext
    /// The expression source, quoted in error messages (converted to Characters only on error).
    let source: String

    // MARK: Nodes

    func evaluate(_ node: ExprNode) throws(ExpressionError) -> Value {
        switch node {
        case .literal(let value):
            return value
        case .name(let name, let offset):
            if let value = context.roots[name] { return value }
            throw unknownName(name, offset: offset)
        case .chain(let base, let steps, let start, let baseEnd):
            let value = try evaluate(base)
            return try apply(steps, from: 0, to: value, start: start, baseEnd: baseEnd)
        case .unary(let op, let operand, let offset):
            return try unary(op, try evaluate(operand), offset: offset)
        case .binary(.and, let left, let right, let offset):
            return try logical(isAnd: true, left, right, offset: offset)
        case .binary(.or, let left, let right, let offset):
            return try logical(isAnd: false, left, right, offset: offset)
        case .binary(let op, let left, let right, let offset):
            let l = try evaluate(left)
            let r = try evaluate(right)
            return try binary(op, l, r, offset: offset)
        case .call(let function, let args, let argumentOffsets, let offset):
            var values: [Value] = []
            values.reserveCapacity(args.count)
            for arg in args {
                values.append(try evaluate(arg))
            }
            return try call(function, values, argumentOffsets: argumentOffsets, offset: offset)
        }
    }

    private func unknownName(_ name: String, offset: Int) -> ExpressionError {
        let roots = context.roots.keys
        if let suggestion = ExprSuggestion.closest(to: name, among: roots) {
            return ExpressionError(offset: offset, message: "unknown name '\(name)' (did you mean '\(suggestion)'?)")
        }
        return ExpressionError(
            offset: offset,
            message: "unknown name '\(name)' (known: \(ExprSuggestion.knownList(roots)))"
        )
    }

    // MARK: Postfix chains

    /// The source text from `start` to `end`, trimmed, e.g. `steps.check.outputs`.
    private func quoted(from start: Int, to end: Int) -> String {
        let chars = Array(source)
        let lower = Swift.max(0, Swift.min(start, chars.count))
        let upper = Swift.max(lower, Swift.min(end, chars.count))
        return String(chars[lower..<upper]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func apply(
        _ steps: [ExprPostfix], from first: Int, to initial: Value, start: Int, baseEnd: Int
    ) throws(ExpressionError) -> Value {
        var value = initial
        var i = first
        while i < steps.count {
            if case .unknown = value { return .unknown }
            let contextEnd = i == 0 ? baseEnd : steps[i - 1].end
            switch steps[i] {
            case .member(let name, let offset, _):
                guard case .map(let map) = value else {
                    throw ExpressionError.type(
                        offset,
                        "cannot read field '\(name)' of \(quoted(from: start, to: contextEnd)): "
                            + "it is \(value.typeName), not a map"
                    )
                }
                guard let next = map[name] else {
                    throw noField(name, in: map, offset: offset, context: quoted(from: start, to: contextEnd))
                }
                value = next
            case .index(let keyNode, let offset, _):
                let key = try evaluate(keyNode)
                value = try index(value, key, offset: offset, context: quoted(from: start, to: contextEnd))
            case .wildcard(let offset, _):
                guard case .list(let items) = value else {
                    throw ExpressionError.type(
                        offset,
                        "cannot use [*] on \(quoted(from: start, to: contextEnd)): "
                            + "it is \(value.typeName), not a list"
                    )
                }
                var results: [Value] = []
                results.reserveCapacity(items.count)
                for item in items {
                    results.append(try apply(steps, from: i + 1, to: item, start: start, baseEnd: baseEnd))
                }
                return .list(results)
            }
            i += 1
        }
        return value
    }

    private func noField(_ name: String, in map: [String: Value], offset: Int, context: String) -> ExpressionError {
        let hint: String
        if let suggestion = ExprSuggestion.closest(to: name, among: map.keys) {
            hint = "did you mean '\(suggestion)'?"
        } else if map.isEmpty {
            hint = "it has no fields"
        } else {
            hint = "known: " + ExprSuggestion.knownList(map.keys)
        }
        return ExpressionError(offset: offset, message: "no field '\(name)' in \(context) (\(hint))")
    }

    /// `context` (the quoted source text) is made only for an error: an index that works needs none.
    private func index(_ value: Value, _ key: Value, offset: Int, context: @autoclosure () -> String)
        throws(ExpressionError) -> Value
    {
        switch (value, key) {
        case (.unknown, _), (_, .unknown):
            return .unknown
        case (.list(let items), .int(let i)):
            guard i >= 0, i < items.count else {
                let size = items.count == 1 ? "1 element" : "\(items.count) elements"
                throw ExpressionError(offset: offset, message: "index \(i) out of range for \(context()) (\(size))")
            }
            return items[i]
        case (.list, _):
            throw ExpressionError.type(offset, "list index must be an int, got \(key.typeName)")
        case (.map(let map), .string(let name)):
            guard let next = map[name] else {
                throw noField(name, in: map, offset: offset, context: context())
            }
            return next
        case (.map, _):
            throw ExpressionError.type(offset, "map key must be a string, got \(key.typeName)")
        default:
            throw ExpressionError.type(offset, "cannot index \(context()): it is \(value.typeName), not a list or map")
        }
    }

    // MARK: Operators

    private func unary(_ op: ExprUnaryOperator, _ value: Value, offset: Int) throws(ExpressionError) -> Value {
        if case .unknown = value { return .unknown }
        switch (op, value) {
        case (.not, .bool(let b)):
            return .bool(!b)
        case (.not, _):
            throw ExpressionError.type(offset, "'!' needs a bool operand, got \(value.typeName)")
        case (.negate, .int(let i)):
            let (result, overflow) = Int(0).subtractingReportingOverflow(i)
            if overflow { throw ExpressionError(offset: offset, message: "integer overflow in '-'") }
            return .int(result)
        case (.negate, .double(let d)):
            return .double(-d)
        case (.negate, .duration(let d)):
            return .duration(-d)
        case (.negate, _):
            throw ExpressionError.type(offset, "'-' needs a number or duration, got \(value.typeName)")
        }
    }

    /// `&&` and `||` with short-circuiting: a deciding left operand skips the right one, and a
    /// deciding right operand wins over an unknown left one.
    private func logical(isAnd: Bool, _ left: ExprNode, _ right: ExprNode, offset: Int) throws(ExpressionError) -> Value
    {
        let symbol = isAnd ? "&&" : "||"
        let decider = !isAnd  // false decides &&, true decides ||
        let l = try evaluate(left)
        switch l {
        case .bool(let b):
            if b == decider { return .bool(decider) }
            let r = try evaluate(right)
            switch r {
            case .bool, .unknown: return r
            default: throw needsBool(symbol, l, r, offset: offset)
            }
        case .unknown:
            let r = try evaluate(right)
            switch r {
            case .bool(let b): return b == decider ? .bool(decider) : .unknown
            case .unknown: return .unknown
            default: throw needsBool(symbol, l, r, offset: offset)
            }
        default:
            let r = try evaluate(right)
            throw needsBool(symbol, l, r, offset: offset)
        }
    }

    private func needsBool(_ symbol: String, _ l: Value, _ r: Value, offset: Int) -> ExpressionError {
        ExpressionError.type(offset, "'\(symbol)' needs bool operands, got \(l.typeName) and \(r.typeName)")
    }

    private func binary(_ op: ExprBinaryOperator, _ l: Value, _ r: Value, offset: Int) throws(ExpressionError) -> Value
    {
        if case .unknown = l { return .unknown }
        if case .unknown = r { return .unknown }
        switch op {
        case .equal, .notEqual:
            guard let equal = ExprEvaluator.looselyEqual(l, r) else { return .unknown }
            return .bool(op == .equal ? equal : !equal)
        case .less, .lessEqual, .greater, .greaterEqual:
            guard let order = ExprEvaluator.compare(l, r) else {
                throw ExpressionError.type(offset, "cannot compare \(l.typeName) with \(r.typeName)")
            }
            switch op {
            case .less: return .bool(order < 0)
            case .lessEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case .plus:
            switch (l, r) {
            case (.int(let a), .int(let b)):
                let (sum, overflow) = a.addingReportingOverflow(b)
                if overflow { throw ExpressionError(offset: offset, message: "integer overflow in '+'") }
                return .int(sum)
            case (.int(let a), .double(let b)): return .double(Double(a) + b)
            case (.double(let a), .int(let b)): return .double(a + Double(b))
            case (.double(let a), .double(let b)): return .double(a + b)
            case (.string(let a), .string(let b)): return .string(a + b)
            case (.duration(let a), .duration(let b)): return .duration(a + b)
            case (.timestamp(let t), .duration(let d)), (.duration(let d), .timestamp(let t)):
                return .timestamp(t.addingTimeInterval(d))
            default:
                throw ExpressionError.type(offset, "cannot add \(l.typeName) and \(r.typeName)")
            }
        case .minus:
            switch (l, r) {
            case (.int(let a), .int(let b)):
                let (difference, overflow) = a.subtractingReportingOverflow(b)
                if overflow { throw ExpressionError(offset: offset, message: "integer overflow in '-'") }
                return .int(difference)
            case (.int(let a), .double(let b)): return .double(Double(a) - b)
            case (.double(let a), .int(let b)): return .double(a - Double(b))
            case (.double(let a), .double(let b)): return .double(a - b)
            case (.duration(let a), .duration(let b)): return .duration(a - b)
            case (.timestamp(let a), .timestamp(let b)): return .duration(a.timeIntervalSince(b))
            case (.timestamp(let t), .duration(let d)): return .timestamp(t.addingTimeInterval(-d))
            default:
                throw ExpressionError.type(offset, "cannot subtract \(r.typeName) from \(l.typeName)")
            }
        case .and, .or:
            preconditionFailure("handled by logical(isAnd:_:_:offset:)")
        }
    }

    /// `==` semantics: numbers compare by value across int/double, lists and maps element-wise,
    /// different types are unequal. `nil` when the answer depends on an unknown value.
    static func looselyEqual(_ l: Value, _ r: Value) -> Bool? {
        switch (l, r) {
        case (.unknown, _), (_, .unknown): return nil
        case (.int(let a), .double(let b)): return Double(a) == b
        case (.double(let a), .int(let b)): return a == Double(b)
        case (.list(let a), .list(let b)):
            guard a.count == b.count else { return false }
            var sawUnknown = false
            for (x, y) in zip(a, b) {
                switch looselyEqual(x, y) {
                case false?: return false
                case nil: sawUnknown = true
                case true?: break
                }
            }
            return sawUnknown ? nil : true
        case (.map(let a), .map(let b)):
            guard a.count == b.count else { return false }
            var sawUnknown = false
            for (key, x) in a {
                guard let y = b[key] else { return false }
                switch looselyEqual(x, y) {
                case false?: return false
                case nil: sawUnknown = true
                case true?: break
                }
            }
            return sawUnknown ? nil : true
        default:
            return l == r
        }
    }

    /// Ordering for `<` and friends, `min` and `max`: negative, zero or positive; `nil` when the
    /// types cannot be ordered (numbers, durations, strings and timestamps can, each among themselves).
    static func compare(_ l: Value, _ r: Value) -> Int? {
        func order<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a > b ? 1 : 0) }
        switch (l, r) {
        case (.int(let a), .int(let b)): return order(a, b)
        case (.int(let a), .double(let b)): return order(Double(a), b)
        case (.double(let a), .int(let b)): return order(a, Double(b))
        case (.double(let a), .double(let b)): return order(a, b)
        case (.duration(let a), .duration(let b)): return order(a, b)
        case (.string(let a), .string(let b)): return order(a, b)
        case (.timestamp(let a), .timestamp(let b)): return order(a, b)
        default: return nil
        }
    }

    // MARK: Functions

    private func call(
        _ function: ExprFunction, _ args: [Value], argumentOffsets: [Int], offset: Int
    ) throws(ExpressionError) -> Value {
        let name = "'\(function.rawValue)'"
        func typeError(_ argument: Int, _ expected: String) -> ExpressionError {
            ExpressionError.type(argumentOffsets[argument], "\(name) needs \(expected), got \(args[argument].typeName)")
        }
        switch function {
        case .now:
            return .timestamp(context.now)

        case .len:
            switch args[0] {
            case .unknown: return .unknown
            case .string(let s): return .int(s.count)
            case .list(let l): return .int(l.count)
            case .map(let m): return .int(m.count)
            default: throw typeError(0, "a string, list or map")
            }

        case .contains:
            let (haystack, needle) = (args[0], args[1])
            switch haystack {
            case .unknown: return .unknown
            case .string(let s):
                switch needle {
                case .unknown: return .unknown
                case .string(let part): return .bool(part.isEmpty || s.contains(part))
                default: throw typeError(1, "a string to look for in a string")
                }
            case .list(let items):
                if case .unknown = needle { return .unknown }
                var sawUnknown = false
                for item in items {
                    switch ExprEvaluator.looselyEqual(item, needle) {
                    case true?: return .bool(true)
                    case nil: sawUnknown = true
                    case false?: break
                    }
                }
                return sawUnknown ? .unknown : .bool(false)
            case .map(let map):
                switch needle {
                case .unknown: return .unknown
                case .string(let key): return .bool(map[key] != nil)
                default: throw typeError(1, "a string key to look for in a map")
                }
            default:
                throw typeError(0, "a string, list or map")
            }

        case .startsWith, .endsWith:
            for i in 0..<2 {
                switch args[i] {
                case .string, .unknown: continue
                default: throw typeError(i, "a string")
                }
            }
            guard case .string(let s) = args[0], case .string(let affix) = args[1] else { return .unknown }
            return .bool(function == .startsWith ? s.hasPrefix(affix) : s.hasSuffix(affix))

        case .all, .any, .none:
            let items: [Value]
            switch args[0] {
            case .unknown: return .unknown
            case .list(let l): items = l
            default: throw typeError(0, "a list")
            }
            // all: decided by a falsy element; any/none: decided by a truthy element.
            let decider = function != .all
            var sawUnknown = false
            for item in items {
                if case .unknown = item {
                    sawUnknown = true
                } else if item.isTruthy == decider {
                    return .bool(function == .any)
                }
            }
            if sawUnknown { return .unknown }
            return .bool(function != .any)

        case .count:
            let items: [Value]
            switch args[0] {
            case .unknown: return .unknown
            case .list(let l): items = l
            default: throw typeError(0, "a list")
            }
            var n = 0
            if args.count == 1 {
                for item in items {
                    if case .unknown = item { return .unknown }
                    if item.isTruthy { n += 1 }
                }
            } else {
                if case .unknown = args[1] { return .unknown }
                for item in items {
                    guard let equal = ExprEvaluator.looselyEqual(item, args[1]) else { return .unknown }
                    if equal { n += 1 }
                }
            }
            return .int(n)

        case .min, .max:
            let candidates: [Value]
            if args.count == 1 {
                switch args[0] {
                case .unknown: return .unknown
                case .list(let l): candidates = l
                default: throw typeError(0, "a list (or at least 2 arguments)")
                }
            } else {
                candidates = args
            }
            guard !candidates.isEmpty else {
                throw ExpressionError(offset: offset, message: "\(name) of an empty list")
            }
            if candidates.contains(.unknown) { return .unknown }
            var best = candidates[0]
            for candidate in candidates.dropFirst() {
                guard let order = ExprEvaluator.compare(candidate, best) else {
                    throw ExpressionError.type(
                        offset, "\(name) cannot compare \(candidate.typeName) with \(best.typeName)")
                }
                if function == .min ? order < 0 : order > 0 { best = candidate }
            }
            return best

        case .get:
            // get(map, 'field', default): the field when the map has it, the default otherwise
            // (an optional field of a for_each element: `item.F` of a missing F is an error).
            switch args[1] {
            case .unknown: return .unknown
            case .string: break
            default: throw typeError(1, "a field name (a string)")
            }
            guard case .string(let field) = args[1] else { return .unknown }
            switch args[0] {
            case .unknown: return .unknown
            case .null: return args[2]
            case .map(let map): return map[field] ?? args[2]
            default: throw typeError(0, "a map")
            }

        case .join:
            // join(list, ', '): the elements as text (a list cannot be put into text itself).
            let items: [Value]
            switch args[0] {
            case .unknown: return .unknown
            case .list(let l): items = l
            default: throw typeError(0, "a list")
            }
            switch args[1] {
            case .unknown: return .unknown
            case .string: break
            default: throw typeError(1, "a separator (a string)")
            }
            guard case .string(let separator) = args[1] else { return .unknown }
            if items.contains(.unknown) { return .unknown }
            for (index, item) in items.enumerated() {
                switch item {
                case .list, .map:
                    throw ExpressionError.type(
                        argumentOffsets[0], "\(name) needs a list of scalars, element \(index) is a \(item.typeName)")
                default: continue
                }
            }
            return .string(items.map(\.renderedForText).joined(separator: separator))

        case .since:
            let date: Date
            switch args[0] {
            case .unknown: return .unknown
            case .timestamp(let t): date = t
            case .string(let s):
                guard let parsed = Value.parseTimestamp(s) else {
                    throw ExpressionError(
                        offset: argumentOffsets[0],
                        message: "\(name) cannot read '\(s)' as a timestamp "
                            + "(expected e.g. 2024-01-02T10:00:00Z or 2024-01-02 10:00:00)"
                    )
                }
                date = parsed
            default:
                throw typeError(0, "a timestamp or a string")
            }
            return .duration(context.now.timeIntervalSince(date))
        }
    }
}
