/// A recursive-descent parser for the expression language.
///
/// Precedence, lowest to highest: `||`, `&&`, `==` `!=`, `<` `<=` `>` `>=`, `+` `-`,
/// unary `!` `-`, postfix (`.name`, `[index]`, `[*]`). Binary operators are left-associative.
struct ExprParser {
    /// The deepest nesting of parentheses and unary operators accepted, to protect the stack.
    static let maximumDepth = 64
    /// The most binary operators accepted in one expression (evaluation recurses once per operator).
    static let maximumOperators = 1000

    private let tokens: [ExprToken]
    private let chars: [Character]
    /// Added to 0-based offsets (plus 1) when a message mentions a column.
    private let columnBase: Int
    private var pos = 0
    private var depth = 0
    private var operatorCount = 0

    private init(tokens: [ExprToken], chars: [Character], columnBase: Int) {
        self.tokens = tokens
        self.chars = chars
        self.columnBase = columnBase
    }

    /// Parses a whole expression from `chars`.
    static func parse(_ chars: [Character], columnBase: Int) throws(ExpressionError) -> ExprNode {
        let tokens = try ExprLexer.tokenize(chars)
        var parser = ExprParser(tokens: tokens, chars: chars, columnBase: columnBase)
        let node = try parser.parseOr()
        let token = parser.current
        if token.kind != .end {
            throw ExpressionError(offset: token.offset, message: "unexpected \(parser.quote(token))")
        }
        return node
    }

    // MARK: Helpers

    private var current: ExprToken { tokens[pos] }

    private var previousEnd: Int {
        pos > 0 ? tokens[pos - 1].offset + tokens[pos - 1].length : 0
    }

    @discardableResult
    private mutating func advance() -> ExprToken {
        let token = tokens[pos]
        if pos < tokens.count - 1 { pos += 1 }
        return token
    }

    private func text(_ token: ExprToken) -> String {
        String(chars[token.offset..<(token.offset + token.length)])
    }

    private func quote(_ token: ExprToken) -> String {
        token.kind == .end ? "end of expression" : "'\(text(token))'"
    }

    private func closeError(_ open: ExprToken, closer: String) -> ExpressionError {
        ExpressionError(
            offset: current.offset,
            message: "expected '\(closer)' to close '\(text(open))' at column \(open.offset + columnBase + 1)"
        )
    }

    private func binaryOperator(_ kind: ExprToken.Kind) -> ExprBinaryOperator? {
        switch kind {
        case .or: return .or
        case .and: return .and
        case .equal: return .equal
        case .notEqual: return .notEqual
        case .less: return .less
        case .lessEqual: return .lessEqual
        case .greater: return .greater
        case .greaterEqual: return .greaterEqual
        case .plus: return .plus
        case .minus: return .minus
        default: return nil
        }
    }

    private func isComparison(_ kind: ExprToken.Kind) -> Bool {
        switch kind {
        case .less, .lessEqual, .greater, .greaterEqual: return true
        default: return false
        }
    }

    private mutating func makeBinary(
        _ op: ExprBinaryOperator, _ left: ExprNode, _ right: ExprNode, at token: ExprToken
    ) throws(ExpressionError) -> ExprNode {
        operatorCount += 1
        if operatorCount > ExprParser.maximumOperators {
            throw ExpressionError(
                offset: token.offset,
                message: "expression is too long (more than \(ExprParser.maximumOperators) operators)"
            )
        }
        return .binary(op, left, right, offset: token.offset)
    }

    // MARK: Binary levels

    private mutating func parseOr() throws(ExpressionError) -> ExprNode {
        var left = try parseAnd()
        while current.kind == .or {
            let op = advance()
            let right = try parseAnd()
            left = try makeBinary(.or, left, right, at: op)
        }
        return left
    }

    private mutating func parseAnd() throws(ExpressionError) -> ExprNode {
        var left = try parseEquality()
        while current.kind == .and {
            let op = advance()
            let right = try parseEquality()
            left = try makeBinary(.and, left, right, at: op)
        }
        return left
    }

    private mutating func parseEquality() throws(ExpressionError) -> ExprNode {
        var left = try parseComparison()
        while current.kind == .equal || current.kind == .notEqual {
            let op = advance()
            let right = try parseComparison()
            left = try makeBinary(binaryOperator(op.kind)!, left, right, at: op)
        }
        return left
    }

    private mutating func parseComparison() throws(ExpressionError) -> ExprNode {
        var left = try parseAdditive()
        while isComparison(current.kind) {
            let op = advance()
            let right = try parseAdditive()
            left = try makeBinary(binaryOperator(op.kind)!, left, right, at: op)
        }
        return left
    }

    private mutating func parseAdditive() throws(ExpressionError) -> ExprNode {
        var left = try parseUnary()
        while current.kind == .plus || current.kind == .minus {
            let op = advance()
            let right = try parseUnary()
            left = try makeBinary(binaryOperator(op.kind)!, left, right, at: op)
        }
        return left
    }

    // MARK: Unary, postfix, primary

    private mutating func parseUnary() throws(ExpressionError) -> ExprNode {
        depth += 1
        defer { depth -= 1 }
        if depth > ExprParser.maximumDepth {
            throw ExpressionError(offset: current.offset, message: "expression is nested too deeply")
        }
        if current.kind == .bang || current.kind == .minus {
            let op = advance()
            let operand = try parseUnary()
            return .unary(op.kind == .bang ? .not : .negate, operand, offset: op.offset)
        }
        return try parsePostfix()
    }

    private mutating func parsePostfix() throws(ExpressionError) -> ExprNode {
        let start = current.offset
        let base = try parsePrimary()
        let baseEnd = previousEnd
        var steps: [ExprPostfix] = []
        loop: while true {
            switch current.kind {
            case .dot:
                advance()
                guard case .identifier(let name) = current.kind else {
                    throw ExpressionError(offset: current.offset, message: "expected a field name after '.'")
                }
                let token = advance()
                steps.append(.member(name, offset: token.offset, end: token.offset + token.length))
            case .leftBracket:
                let open = advance()
                if current.kind == .star {
                    advance()
                    guard current.kind == .rightBracket else { throw closeError(open, closer: "]") }
                    advance()
                    steps.append(.wildcard(offset: open.offset, end: previousEnd))
                } else {
                    let key = try parseOr()
                    guard current.kind == .rightBracket else { throw closeError(open, closer: "]") }
                    advance()
                    steps.append(.index(key, offset: open.offset, end: previousEnd))
                }
            default:
                break loop
            }
        }
        return steps.isEmpty ? base : .chain(base, steps, start: start, baseEnd: baseEnd)
    }

    private mutating func parsePrimary() throws(ExpressionError) -> ExprNode {
        let token = current
        switch token.kind {
        case .int(let value):
            advance()
            return .literal(.int(value))
        case .double(let value):
            advance()
            return .literal(.double(value))
        case .duration(let seconds):
            advance()
            return .literal(.duration(seconds))
        case .string(let value):
            advance()
            return .literal(.string(value))
        case .identifier(let name):
            advance()
            if current.kind == .leftParen {
                return try parseCall(name: name, nameToken: token)
            }
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default: return .name(name, offset: token.offset)
            }
        case .leftParen:
            depth += 1
            defer { depth -= 1 }
            advance()
            let inner = try parseOr()
            guard current.kind == .rightParen else { throw closeError(token, closer: ")") }
            advance()
            return inner
        default:
            if pos > 0 {
                throw ExpressionError(
                    offset: token.offset,
                    message: "expected an expression after '\(text(tokens[pos - 1]))'"
                )
            }
            if token.kind == .end {
                throw ExpressionError(offset: token.offset, message: "expected an expression")
            }
            throw ExpressionError(offset: token.offset, message: "unexpected \(quote(token))")
        }
    }

    private mutating func parseCall(name: String, nameToken: ExprToken) throws(ExpressionError) -> ExprNode {
        guard let function = ExprFunction(rawValue: name) else {
            let all = ExprFunction.allCases.map(\.rawValue)
            let hint: String
            if let suggestion = ExprSuggestion.closest(to: name, among: all) {
                hint = "did you mean '\(suggestion)'?"
            } else {
                hint = "known: " + all.sorted().joined(separator: ", ")
            }
            throw ExpressionError(offset: nameToken.offset, message: "unknown function '\(name)' (\(hint))")
        }
        let open = advance()
        var args: [ExprNode] = []
        var argumentOffsets: [Int] = []
        if current.kind != .rightParen {
            while true {
                argumentOffsets.append(current.offset)
                args.append(try parseOr())
                if current.kind == .comma {
                    advance()
                    continue
                }
                break
            }
        }
        guard current.kind == .rightParen else { throw closeError(open, closer: ")") }
        advance()
        if let message = function.arityError(args.count) {
            throw ExpressionError(offset: nameToken.offset, message: message)
        }
        return .call(function, args, argumentOffsets: argumentOffsets, offset: nameToken.offset)
    }
}
