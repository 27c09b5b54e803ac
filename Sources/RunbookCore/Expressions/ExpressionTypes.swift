import Foundation

/// An error in parsing or evaluating an expression, with the position it refers to.
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 0-based offset, in Characters, into the source string the user wrote.
    ///
    /// For an ``InterpolatedString`` this is relative to the whole string, not to the `${{ }}` part.
    public var offset: Int
    /// A human-readable explanation, e.g. `unknown function 'lenn' (did you mean 'len'?)`.
    public var message: String
    /// Whether the error follows from the types of the values alone (`1 + 'a'`, `!'x'`, a string
    /// as a condition), so that `validate` can report it knowing only the params' declared
    /// types; false for errors that depend on the values (an index out of range, an overflow).
    /// Not part of equality.
    public var isTypeError: Bool

    /// Creates an error at `offset` with `message`.
    public init(offset: Int, message: String, isTypeError: Bool = false) {
        self.offset = offset
        self.message = message
        self.isTypeError = isTypeError
    }

    /// An error that the operands' types alone decide.
    static func type(_ offset: Int, _ message: String) -> ExpressionError {
        ExpressionError(offset: offset, message: message, isTypeError: true)
    }

    public static func == (lhs: ExpressionError, rhs: ExpressionError) -> Bool {
        lhs.offset == rhs.offset && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(offset)
        hasher.combine(message)
    }

    /// The message followed by the offset, e.g. `cannot compare string with int (at offset 4)`.
    public var description: String {
        "\(message) (at offset \(offset))"
    }

    /// A copy with the offset moved by `delta` characters.
    func shifted(by delta: Int) -> ExpressionError {
        ExpressionError(offset: offset + delta, message: message, isTypeError: isTypeError)
    }
}

/// One step of a name path: a field, a literal index, or a `[*]` projection.
public enum PathComponent: Sendable, Hashable {
    /// A field name (`.name` or `['name']`), or the leading identifier.
    case member(String)
    /// A literal list index (`[2]`).
    case index(Int)
    /// A projection over every element (`[*]`).
    case wildcard
}

/// A name path read by an expression, such as `params.x` or `steps.a.outputs.b`.
public struct NameReference: Sendable, Hashable {
    /// The components, leading identifier first, e.g. `[.member("params"), .member("x")]`.
    public var path: [PathComponent]
    /// 0-based offset, in Characters, of the path's first character.
    public var offset: Int
    /// Length, in Characters, of the path's source text (including any `[..]` parts).
    public var length: Int

    /// Creates a reference.
    public init(path: [PathComponent], offset: Int, length: Int) {
        self.path = path
        self.offset = offset
        self.length = length
    }

    /// The path in expression syntax, e.g. `steps.a.outputs.b` or `x[0][*].name`.
    public var pathDescription: String {
        var out = ""
        for component in path {
            switch component {
            case .member(let name):
                if !out.isEmpty { out += "." }
                out += name
            case .index(let i): out += "[\(i)]"
            case .wildcard: out += "[*]"
            }
        }
        return out
    }
}

/// The names and clock an expression is evaluated against.
public struct EvaluationContext: Sendable {
    /// Top-level names: `"params"`, `"vars"`, `"hosts"`, `"mode"`, `"run"`, `"steps"`, `"outputs"`.
    public var roots: [String: Value]
    /// The current time, returned by `now()` and used by `since()`.
    public var now: Date

    /// Creates a context with the given top-level names and clock.
    public init(roots: [String: Value], now: Date = Date()) {
        self.roots = roots
        self.now = now
    }
}
