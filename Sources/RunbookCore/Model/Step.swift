/// One node of the runbook as written: an action, a probe, a gate or a choice.
public struct Step: Sendable {
    public var id: String
    /// Where the step's `id` value is (or the step itself when it has none).
    public var location: SourceLocation
    public var description: String?
    public var needs: [Located<String>]
    public var target: Located<String>?
    public var when: LocatedExpression?
    public var modes: [Located<String>]?
    public var body: StepBody
    public var with: YAMLNode?
    public var check: YAMLNode?
    public var verify: YAMLNode?
    public var undo: UndoSpec?
    /// `undo: none`: the step changes something a rollback must leave as it is (nothing to undo,
    /// e.g. it touches a marker or removes what this run made), said instead of a no-op undo.
    public var undoNone: Located<Bool>?
    public var irreversible: Bool
    /// Where `irreversible:`'s value is, when written.
    public var irreversibleLocation: SourceLocation?
    public var commit: Bool
    public var retries: Int
    public var retryDelay: Double?
    public var timeout: Double?
    public var onFailure: FailurePolicy?
    public var expect: LocatedExpression?
    public var message: String?
    public var isPrecondition: Bool
    /// `for_each`: the list the step iterates, one instance per element (`item` in expressions).
    public var forEach: LocatedExpression?
    /// `key`: what names each instance of a `for_each` step (`step[KEY]`, `step[KEY]@host`).
    public var key: LocatedExpression?
    /// Where `key:`'s value is, when written (also when it did not parse, so `key` is nil).
    public var keyLocation: SourceLocation?
    /// How many of this `for_each` step's items may have an instance running at once.
    public var maxConcurrency: ItemBudget?
    /// How many of this `for_each` step's items may fail before the run stops starting steps.
    public var maxFailed: ItemBudget?

    public init(id: String, location: SourceLocation, body: StepBody) {
        self.id = id
        self.location = location
        self.body = body
        self.needs = []
        self.irreversible = false
        self.commit = false
        self.retries = 0
        self.isPrecondition = false
    }
}

/// Exactly one of action, probe, gate or choose.
public enum StepBody: Sendable {
    case action(Located<String>)
    case probe(Located<String>)
    case gate(Gate)
    case choose([ChooseAlternative])

    /// The action or probe type name, if the step has one.
    public var typeName: Located<String>? {
        switch self {
        case .action(let name), .probe(let name): return name
        case .gate, .choose: return nil
        }
    }
}

/// A gate: a person or a measured condition must say "go".
public struct Gate: Sendable {
    /// How an approval gate is written, for messages.
    public static let approvalForm = "`gate: {approval: {prompt: \"Go?\", timeout: 10m}}`"
    /// How an until gate is written, for messages.
    public static let untilForm =
        "`gate: {until: {probe: TYPE, with: {...}, condition: \"outputs.X == ...\", every: 30s, timeout: 10m}}`"

    public enum Kind: Sendable {
        case approval(ApprovalGateSpec)
        case until(UntilGateSpec)

        /// Which kind, without its settings.
        public var name: Name {
            switch self {
            case .approval: return .approval
            case .until: return .until
            }
        }

        /// A gate's kind by name: what a plan, an event and a report carry. Its raw value is
        /// the name a runbook writes (`gate: {approval: ...}`) and every document prints.
        public enum Name: String, Sendable, Hashable, Codable, CaseIterable {
            case approval, until
        }
    }

    public var kind: Kind
    public var location: SourceLocation

    public var typeName: String { kind.name.rawValue }
}

/// An approval gate: a person answers.
public struct ApprovalGateSpec: Sendable {
    public var prompt: YAMLNode?
    public var approvers: [String]
    public var timeout: Double?
    public var onTimeout: GateTimeoutPolicy
    /// A `timeout` given as an expression (`params.t`, `${{ params.t }}`): a duration known
    /// when the plan is made.
    public var timeoutExpression: LocatedExpression? = nil
}

/// An until gate: a probe is polled until a condition holds.
public struct UntilGateSpec: Sendable {
    public var probe: Located<String>
    public var with: YAMLNode?
    public var target: Located<String>?
    public var condition: LocatedExpression
    public var every: Double
    public var timeout: Double?
    public var onTimeout: GateTimeoutPolicy
    /// A `timeout` given as an expression, as for an approval gate.
    public var timeoutExpression: LocatedExpression? = nil
}

/// One alternative of a `choose` step.
public struct ChooseAlternative: Sendable {
    /// nil for `otherwise`.
    public var when: LocatedExpression?
    public var step: Step
    public var location: SourceLocation
}

/// The declared undo of a step.
public struct UndoSpec: Sendable {
    public var action: Located<String>
    public var with: YAMLNode?
    public var location: SourceLocation
}

/// An expression together with where its text starts in the file.
public struct LocatedExpression: Sendable {
    public var expression: Expression
    public var location: SourceLocation

    public var source: String { expression.source }

    /// The source without white space: two steps iterate "the same list" when these are equal.
    public var normalizedSource: String { String(source.filter { !$0.isWhitespace }) }

    /// The location of a character offset inside the expression text.
    public func location(ofOffset offset: Int) -> SourceLocation {
        location.advanced(by: offset)
    }
}
