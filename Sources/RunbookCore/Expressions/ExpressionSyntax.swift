/// A node of a parsed expression. Offsets are Character offsets into the expression source.
indirect enum ExprNode: Sendable, Hashable {
    /// A literal value (number, duration, string, `true`, `false`, `null`).
    case literal(Value)
    /// A top-level name such as `params`; `offset` is its first character.
    case name(String, offset: Int)
    /// A base followed by member, index and projection steps.
    ///
    /// `start` is the base's first character and `baseEnd` the offset just past the base;
    /// both are used to quote the source in error messages. Every step after a `[*]`
    /// applies to each element of the projected list.
    case chain(ExprNode, [ExprPostfix], start: Int, baseEnd: Int)
    /// `!x` or `-x`; `offset` is the operator.
    case unary(ExprUnaryOperator, ExprNode, offset: Int)
    /// `a op b`; `offset` is the operator.
    case binary(ExprBinaryOperator, ExprNode, ExprNode, offset: Int)
    /// A call of a built-in function; `offset` is the function name, `argumentOffsets` each argument's start.
    case call(ExprFunction, [ExprNode], argumentOffsets: [Int], offset: Int)
}

/// One step of a postfix chain.
enum ExprPostfix: Sendable, Hashable {
    /// `.name`; `offset` is the name's first character, `end` just past it.
    case member(String, offset: Int, end: Int)
    /// `[key]`; `offset` is the `[`, `end` just past the `]`.
    case index(ExprNode, offset: Int, end: Int)
    /// `[*]`; `offset` is the `[`, `end` just past the `]`.
    case wildcard(offset: Int, end: Int)

    var end: Int {
        switch self {
        case .member(_, _, let end), .index(_, _, let end), .wildcard(_, let end): return end
        }
    }
}

/// A prefix operator.
enum ExprUnaryOperator: String, Sendable, Hashable {
    case not = "!"
    case negate = "-"
}

/// An infix operator.
enum ExprBinaryOperator: String, Sendable, Hashable {
    case or = "||"
    case and = "&&"
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessEqual = "<="
    case greater = ">"
    case greaterEqual = ">="
    case plus = "+"
    case minus = "-"
}

/// The fixed table of built-in functions.
enum ExprFunction: String, Sendable, Hashable, CaseIterable {
    case len, contains, startsWith, endsWith, all, any, none, count, min, max, now, since, get, join

    /// The error message for calling the function with `count` arguments, or `nil` when that is allowed.
    func arityError(_ count: Int) -> String? {
        let name = "'\(rawValue)'"
        func plural(_ n: Int) -> String { n == 1 ? "1 argument" : "\(n) arguments" }
        switch self {
        case .now:
            return count == 0 ? nil : "\(name) takes no arguments, got \(count)"
        case .len, .all, .any, .none, .since:
            return count == 1 ? nil : "\(name) takes 1 argument, got \(count)"
        case .contains, .startsWith, .endsWith, .join:
            return count == 2 ? nil : "\(name) takes 2 arguments, got \(count)"
        case .count:
            return count == 1 || count == 2 ? nil : "\(name) takes 1 or 2 arguments, got \(count)"
        case .min, .max:
            return count >= 1 ? nil : "\(name) takes a list or at least 2 arguments, got \(count)"
        case .get:
            return count == 3 ? nil : "\(name) takes 3 arguments (a map, a field name, a default), got \(count)"
        }
    }
}

extension ExprNode {
    /// A fully parenthesised rendering used to check the tree's structure in tests, e.g. `(|| a (&& b c))`.
    var sExpression: String {
        switch self {
        case .literal(let value):
            switch value {
            case .string(let s): return "'" + s + "'"
            case .duration(let d): return Value.formatDuration(d)
            default: return value.renderedForText
            }
        case .name(let name, _):
            return name
        case .chain(let base, let steps, _, _):
            var out = base.sExpression
            for step in steps {
                switch step {
                case .member(let name, _, _): out += "." + name
                case .index(let key, _, _): out += "[" + key.sExpression + "]"
                case .wildcard: out += "[*]"
                }
            }
            return out
        case .unary(let op, let operand, _):
            return "(\(op.rawValue) \(operand.sExpression))"
        case .binary(let op, let left, let right, _):
            return "(\(op.rawValue) \(left.sExpression) \(right.sExpression))"
        case .call(let function, let args, _, _):
            return function.rawValue + "(" + args.map(\.sExpression).joined(separator: ", ") + ")"
        }
    }

    /// Appends every name path this node reads to `references`.
    func collectReferences(into references: inout [NameReference]) {
        switch self {
        case .literal:
            break
        case .name(let name, let offset):
            references.append(NameReference(path: [.member(name)], offset: offset, length: name.count))
        case .chain(let base, let steps, _, let baseEnd):
            // A parenthesised base such as `(params).a` is not extended into a path.
            guard case .name(let name, let offset) = base, baseEnd == offset + name.count else {
                base.collectReferences(into: &references)
                for case .index(let key, _, _) in steps {
                    key.collectReferences(into: &references)
                }
                return
            }
            var path: [PathComponent] = [.member(name)]
            var end = offset + name.count
            var extending = true
            for step in steps {
                switch step {
                case .member(let member, _, let stepEnd):
                    if extending {
                        path.append(.member(member))
                        end = stepEnd
                    }
                case .index(let key, _, let stepEnd):
                    if extending, case .literal(.int(let i)) = key {
                        path.append(.index(i))
                        end = stepEnd
                    } else if extending, case .literal(.string(let s)) = key {
                        path.append(.member(s))
                        end = stepEnd
                    } else {
                        extending = false
                        key.collectReferences(into: &references)
                    }
                case .wildcard(_, let stepEnd):
                    if extending {
                        path.append(.wildcard)
                        end = stepEnd
                    }
                }
            }
            references.append(NameReference(path: path, offset: offset, length: end - offset))
        case .unary(_, let operand, _):
            operand.collectReferences(into: &references)
        case .binary(_, let left, let right, _):
            left.collectReferences(into: &references)
            right.collectReferences(into: &references)
        case .call(_, let args, _, _):
            for arg in args {
                arg.collectReferences(into: &references)
            }
        }
    }
}

/// "Did you mean" suggestions.
enum ExprSuggestion {
    /// The candidate closest to `name`: edit distance at most 2 (and less than the name's
    /// length, so `x` does not suggest `y`), else the shortest candidate starting with `name`
    /// (names of 2+ characters). Ties go to the alphabetically first candidate.
    static func closest<S: Sequence<String>>(to name: String, among candidates: S) -> String? {
        let target = Array(name.unicodeScalars)
        var best: (distance: Int, name: String)?
        var prefixMatch: String?
        for candidate in candidates where candidate != name {
            let d = distance(target, Array(candidate.unicodeScalars), limit: 2)
            if d <= 2, d < target.count {
                if best == nil || d < best!.distance || (d == best!.distance && candidate < best!.name) {
                    best = (d, candidate)
                }
            }
            if target.count >= 2, candidate.hasPrefix(name) {
                if let p = prefixMatch, p.count < candidate.count || (p.count == candidate.count && p < candidate) {
                    continue
                }
                prefixMatch = candidate
            }
        }
        return best?.name ?? prefixMatch
    }

    /// Levenshtein distance, or `limit + 1` as soon as it is known to exceed `limit`.
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], limit: Int) -> Int {
        if abs(a.count - b.count) > limit { return limit + 1 }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMin = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                rowMin = Swift.min(rowMin, current[j])
            }
            if rowMin > limit { return limit + 1 }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// A list of names for messages: sorted, at most 10, e.g. `a, b, c`.
    static func knownList<S: Sequence<String>>(_ names: S) -> String {
        let sorted = names.sorted()
        if sorted.count <= 10 { return sorted.joined(separator: ", ") }
        return sorted.prefix(10).joined(separator: ", ") + ", ... (\(sorted.count - 10) more)"
    }
}
