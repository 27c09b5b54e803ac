/// A token of the expression language.
struct ExprToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case int(Int)
        case double(Double)
        case duration(Double)
        case string(String)
        case identifier(String)
        case leftParen, rightParen, leftBracket, rightBracket, comma, dot, star
        case bang, and, or, equal, notEqual, less, lessEqual, greater, greaterEqual, plus, minus
        case end
    }

    var kind: Kind
    /// Character offset of the first character.
    var offset: Int
    /// Length in Characters.
    var length: Int
}

/// Splits expression source text into tokens.
///
/// Identifiers are `[A-Za-z_][A-Za-z0-9_]*`. Directly after a `.` (a member name) an
/// identifier may also contain `-` when the `-` is followed by a letter or digit, so
/// `steps.check-sync.outputs` is one path while `a-b`, `a - b` and `x.a - b` are subtractions.
/// (Consequently `x.a-b` reads the field `a-b`; write `x.a - b` to subtract.)
struct ExprLexer {
    private let chars: [Character]
    private var pos = 0
    private var tokens: [ExprToken] = []

    init(_ chars: [Character]) {
        self.chars = chars
    }

    static func tokenize(_ chars: [Character]) throws(ExpressionError) -> [ExprToken] {
        var lexer = ExprLexer(chars)
        return try lexer.run()
    }

    private static func isDigit(_ c: Character) -> Bool {
        c.isASCII && c >= "0" && c <= "9"
    }

    private static func isLetter(_ c: Character) -> Bool {
        c.isASCII && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z"))
    }

    private static func isIdentifierStart(_ c: Character) -> Bool {
        isLetter(c) || c == "_"
    }

    private static func isIdentifierPart(_ c: Character) -> Bool {
        isLetter(c) || isDigit(c) || c == "_"
    }

    private mutating func add(_ kind: ExprToken.Kind, from start: Int) {
        tokens.append(ExprToken(kind: kind, offset: start, length: pos - start))
    }

    private func peek(_ ahead: Int = 0) -> Character? {
        pos + ahead < chars.count ? chars[pos + ahead] : nil
    }

    private mutating func run() throws(ExpressionError) -> [ExprToken] {
        while pos < chars.count {
            let c = chars[pos]
            let start = pos
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                pos += 1
                continue
            }
            if ExprLexer.isDigit(c) {
                try lexNumber()
                continue
            }
            if ExprLexer.isIdentifierStart(c) {
                lexIdentifier()
                continue
            }
            if c == "'" || c == "\"" {
                try lexString(quote: c)
                continue
            }
            pos += 1
            switch c {
            case "(": add(.leftParen, from: start)
            case ")": add(.rightParen, from: start)
            case "[": add(.leftBracket, from: start)
            case "]": add(.rightBracket, from: start)
            case ",": add(.comma, from: start)
            case ".": add(.dot, from: start)
            case "*": add(.star, from: start)
            case "+": add(.plus, from: start)
            case "-": add(.minus, from: start)
            case "!":
                if peek() == "=" {
                    pos += 1
                    add(.notEqual, from: start)
                } else {
                    add(.bang, from: start)
                }
            case "=":
                guard peek() == "=" else {
                    throw ExpressionError(offset: start, message: "unexpected character '=' (did you mean '=='?)")
                }
                pos += 1
                add(.equal, from: start)
            case "<":
                if peek() == "=" {
                    pos += 1
                    add(.lessEqual, from: start)
                } else {
                    add(.less, from: start)
                }
            case ">":
                if peek() == "=" {
                    pos += 1
                    add(.greaterEqual, from: start)
                } else {
                    add(.greater, from: start)
                }
            case "&":
                guard peek() == "&" else {
                    throw ExpressionError(offset: start, message: "unexpected character '&' (did you mean '&&'?)")
                }
                pos += 1
                add(.and, from: start)
            case "|":
                guard peek() == "|" else {
                    throw ExpressionError(offset: start, message: "unexpected character '|' (did you mean '||'?)")
                }
                pos += 1
                add(.or, from: start)
            default:
                throw ExpressionError(offset: start, message: "unexpected character '\(c)'")
            }
        }
        tokens.append(ExprToken(kind: .end, offset: chars.count, length: 0))
        return tokens
    }

    /// Numbers: `42`, `1.5`; durations: digits followed by unit letters (`15m`, `1h30m`, `500ms`).
    private mutating func lexNumber() throws(ExpressionError) {
        let start = pos
        while let c = peek(), ExprLexer.isDigit(c) { pos += 1 }
        var isDouble = false
        if peek() == ".", let next = peek(1), ExprLexer.isDigit(next) {
            isDouble = true
            pos += 1
            while let c = peek(), ExprLexer.isDigit(c) { pos += 1 }
        }
        if let c = peek(), ExprLexer.isIdentifierPart(c) {
            while let c = peek(), ExprLexer.isIdentifierPart(c) { pos += 1 }
            let text = String(chars[start..<pos])
            guard !isDouble, let seconds = Value.parseDuration(text) else {
                throw ExpressionError(
                    offset: start,
                    message: "invalid duration '\(text)' (use whole numbers with units d, h, m, s, ms, e.g. 1h30m)"
                )
            }
            add(.duration(seconds), from: start)
            return
        }
        let text = String(chars[start..<pos])
        if isDouble {
            add(.double(Double(text) ?? 0), from: start)
        } else {
            guard let value = Int(text) else {
                throw ExpressionError(offset: start, message: "number '\(text)' is too large")
            }
            add(.int(value), from: start)
        }
    }

    private mutating func lexIdentifier() {
        let start = pos
        let isMember = tokens.last?.kind == .dot
        pos += 1
        while let c = peek() {
            if ExprLexer.isIdentifierPart(c) {
                pos += 1
            } else if isMember, c == "-", let next = peek(1), ExprLexer.isLetter(next) || ExprLexer.isDigit(next) {
                pos += 1
            } else {
                break
            }
        }
        add(.identifier(String(chars[start..<pos])), from: start)
    }

    /// `'text'` or `"text"`; `\'`, `\"` and `\\` are escapes, any other backslash is kept as is.
    private mutating func lexString(quote: Character) throws(ExpressionError) {
        let start = pos
        pos += 1
        var value = ""
        while pos < chars.count {
            let c = chars[pos]
            if c == quote {
                pos += 1
                add(.string(value), from: start)
                return
            }
            if c == "\\", let next = peek(1), next == "'" || next == "\"" || next == "\\" {
                value.append(next)
                pos += 2
                continue
            }
            value.append(c)
            pos += 1
        }
        throw ExpressionError(offset: start, message: "unterminated string (missing closing \(quote))")
    }
}
