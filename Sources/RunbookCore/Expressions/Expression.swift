/// A parsed expression with source offsets.
///
/// The language: literals (`'text'` and `"text"` with `\'`, `\"`, `\\` escapes, `42`, `1.5`,
/// `true`, `false`, `null`, durations such as `15m` or `1h30m`), names (`params.x`,
/// `steps.check-sync.outputs.faulty`), member access `.name`, indexing `[0]` / `['key']`,
/// projection `[*]` (every later `.name`, `[i]` or `[*]` step applies to each element, so
/// `xs[*].a.b` is the list of each element's `a.b`; wrap it in parentheses to index the
/// resulting list), operators `! && || == != < <= > >= + -` and built-in functions
/// `len contains startsWith endsWith all any none count min max now since get join`.
///
/// A `-` belongs to a member name only right after a `.` and when followed by a letter or
/// digit (`steps.check-sync`); elsewhere it is subtraction (`a-b` is `a - b`).
///
/// Two expressions are equal when their source text is equal.
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    /// The source text as written.
    public let source: String
    /// The parsed tree.
    let root: ExprNode
    /// Every name path the expression reads, e.g. `params.x`, `steps.a.outputs.b`, with the
    /// offset of its first character, in source order.
    ///
    /// A path stops at the first step that is not a field, a literal index or `[*]`
    /// (`xs[vars.i].name` reads `xs` and `vars.i`).
    public let references: [NameReference]

    /// Parses `source`; unknown functions and wrong argument counts are reported here.
    public init(parsing source: String) throws(ExpressionError) {
        try self.init(parsing: source, columnBase: 0)
    }

    /// Parses `source`, which starts at offset `columnBase` of a larger string (used for the
    /// column numbers quoted in messages; error offsets stay relative to `source`).
    init(parsing source: String, columnBase: Int) throws(ExpressionError) {
        self.source = source
        self.root = try ExprParser.parse(Array(source), columnBase: columnBase)
        var references: [NameReference] = []
        root.collectReferences(into: &references)
        references.sort { $0.offset < $1.offset }
        self.references = references
    }

    /// Evaluates the expression; `.unknown` inputs propagate to an `.unknown` result.
    public func evaluate(in context: EvaluationContext) throws(ExpressionError) -> Value {
        try ExprEvaluator(context: context, source: source).evaluate(root)
    }

    /// The source text.
    public var description: String { source }

    public static func == (lhs: Expression, rhs: Expression) -> Bool {
        lhs.source == rhs.source
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(source)
    }
}
