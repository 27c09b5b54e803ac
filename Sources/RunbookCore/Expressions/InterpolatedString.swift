import Synchronization

/// A YAML string value with `${{ EXPR }}` parts.
///
/// Text outside `${{ }}` is literal. `$${{` stands for a literal `${{` (any other `$` is kept
/// as is). The end of an expression is the first `}}` that is not inside a quoted string, so
/// `${{ 'a}}b' }}` works. An expression's offset is that of its first non-space character.
public struct InterpolatedString: Sendable, Hashable {
    /// A piece of the string: literal text, or an expression with the offset (in Characters,
    /// within the whole string) of the expression's first character.
    public enum Part: Sendable, Hashable {
        /// Literal text (escapes already resolved).
        case literal(String)
        /// An expression and the offset of its first character within the whole string.
        case expression(Expression, offset: Int)
    }

    /// The string as written.
    public let source: String
    /// The literal and expression parts, in order; empty literal parts are omitted.
    public let parts: [Part]

    /// Splits `source` into parts and parses every expression.
    ///
    /// Error offsets are relative to the whole string. An unterminated `${{` is an error at the
    /// offset of its `$`; an empty `${{ }}` is an error there too.
    public init(parsing source: String) throws(ExpressionError) {
        self.source = source
        let chars = Array(source)
        var parts: [Part] = []
        var literal = ""
        var i = 0
        func opens(at k: Int) -> Bool {
            k + 2 < chars.count && chars[k] == "$" && chars[k + 1] == "{" && chars[k + 2] == "{"
        }
        while i < chars.count {
            if chars[i] == "$", opens(at: i + 1) {
                literal += "${{"
                i += 4
                continue
            }
            guard opens(at: i) else {
                literal.append(chars[i])
                i += 1
                continue
            }
            let bodyStart = i + 3
            guard let close = InterpolatedString.findClose(chars, from: bodyStart) else {
                throw ExpressionError(offset: i, message: "unterminated '${{' (missing '}}')")
            }
            var first = bodyStart
            while first < close, chars[first].isWhitespace { first += 1 }
            var last = close
            while last > first, chars[last - 1].isWhitespace { last -= 1 }
            guard first < last else {
                throw ExpressionError(offset: i, message: "empty expression in '${{ }}'")
            }
            let expression: Expression
            do throws(ExpressionError) {
                expression = try InterpolatedString.expression(String(chars[first..<last]), columnBase: first)
            } catch {
                throw error.shifted(by: first)
            }
            if !literal.isEmpty {
                parts.append(.literal(literal))
                literal = ""
            }
            parts.append(.expression(expression, offset: first))
            i = close + 2
        }
        if !literal.isEmpty {
            parts.append(.literal(literal))
        }
        self.parts = parts
    }

    /// Expressions parsed before, by their text: the strings of a large runbook differ (a part
    /// number, a volume name) while the expressions in them repeat (`params.workdir`,
    /// `host.name`). A parsed expression does not depend on where it stands (`columnBase` only
    /// places the column quoted in a syntax error, and a failed parse is not kept).
    private static let expressions = Mutex<[String: Expression]>([:])

    private static func expression(_ text: String, columnBase: Int) throws(ExpressionError) -> Expression {
        if let hit = expressions.withLock({ $0[text] }) { return hit }
        let parsed = try Expression(parsing: text, columnBase: columnBase)
        expressions.withLock { entries in
            if entries.count > 100_000 { entries.removeAll(keepingCapacity: true) }
            entries[text] = parsed
        }
        return parsed
    }

    /// The offset of the first `}}` at or after `start` outside quotes; if quotes never close,
    /// the first `}}` at all (the expression parser then reports the unterminated string).
    private static func findClose(_ chars: [Character], from start: Int) -> Int? {
        var k = start
        var quote: Character?
        while k < chars.count {
            let c = chars[k]
            if let q = quote {
                if c == "\\" {
                    k += 2
                    continue
                }
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "}", k + 1 < chars.count, chars[k + 1] == "}" {
                return k
            }
            k += 1
        }
        k = start
        while k + 1 < chars.count {
            if chars[k] == "}", chars[k + 1] == "}" { return k }
            k += 1
        }
        return nil
    }

    /// Whether the string has no expressions.
    public var isLiteral: Bool {
        !parts.contains { if case .expression = $0 { return true } else { return false } }
    }

    /// Whether the whole string is exactly one `${{ }}` (spaces inside the braces allowed).
    public var isSingleExpression: Bool {
        if parts.count == 1, case .expression = parts[0] { return true }
        return false
    }

    /// Every name path read by the expressions, with offsets relative to the whole string.
    public var references: [NameReference] {
        var result: [NameReference] = []
        for case .expression(let expression, let offset) in parts {
            for var reference in expression.references {
                reference.offset += offset
                result.append(reference)
            }
        }
        return result
    }

    /// Evaluates the string.
    ///
    /// A single-expression string returns the expression's typed value; otherwise the parts are
    /// joined as text using ``Value/renderedForText``. In mixed text an `.unknown` value makes
    /// the result `.unknown` (the other parts are still evaluated, so their errors surface), and
    /// a list or map is an error ("cannot put a list into text") at that expression's offset.
    /// Error offsets are relative to the whole string.
    public func evaluate(in context: EvaluationContext) throws(ExpressionError) -> Value {
        if isSingleExpression, case .expression(let expression, let offset) = parts[0] {
            do throws(ExpressionError) {
                return try expression.evaluate(in: context)
            } catch {
                throw error.shifted(by: offset)
            }
        }
        var text = ""
        var sawUnknown = false
        for part in parts {
            switch part {
            case .literal(let literal):
                text += literal
            case .expression(let expression, let offset):
                let value: Value
                do throws(ExpressionError) {
                    value = try expression.evaluate(in: context)
                } catch {
                    throw error.shifted(by: offset)
                }
                switch value {
                case .unknown:
                    sawUnknown = true
                case .list, .map:
                    throw ExpressionError.type(offset, "cannot put a \(value.typeName) into text")
                default:
                    text += value.renderedForText
                }
            }
        }
        return sawUnknown ? .unknown : .string(text)
    }
}
