/// One node of the runbook as written: an action, a probe, a gate or a choice.
public struct Step: Sendable {
    /// The fields, behind one reference: copying a `Step` (every loop over the steps of a large
    /// runbook copies each one) is one retain instead of one per field. Copied on write.
    private final class Storage: @unchecked Sendable {
        var id: String
        var location: SourceLocation
        var description: String? = nil
        var needs: [Located<String>] = []
        var target: Located<String>? = nil
        var when: LocatedExpression? = nil
        var modes: [Located<String>]? = nil
        var body: StepBody
        var with: YAMLNode? = nil
        var check: YAMLNode? = nil
        var verify: YAMLNode? = nil
        var undo: UndoSpec? = nil
        var undoNone: Located<Bool>? = nil
        var irreversible: Bool = false
        var irreversibleLocation: SourceLocation? = nil
        var commit: Bool = false
        var retries: Int = 0
        var retryDelay: Double? = nil
        var timeout: Double? = nil
        var onFailure: FailurePolicy? = nil
        var expect: LocatedExpression? = nil
        var message: String? = nil
        var isPrecondition: Bool = false
        var forEach: LocatedExpression? = nil
        var key: LocatedExpression? = nil
        var keyLocation: SourceLocation? = nil
        var maxConcurrency: ItemBudget? = nil
        var maxFailed: ItemBudget? = nil

        init(id: String, location: SourceLocation, body: StepBody) {
            self.id = id
            self.location = location
            self.body = body
        }

        init(copying other: Storage) {
            id = other.id
            location = other.location
            description = other.description
            needs = other.needs
            target = other.target
            when = other.when
            modes = other.modes
            body = other.body
            with = other.with
            check = other.check
            verify = other.verify
            undo = other.undo
            undoNone = other.undoNone
            irreversible = other.irreversible
            irreversibleLocation = other.irreversibleLocation
            commit = other.commit
            retries = other.retries
            retryDelay = other.retryDelay
            timeout = other.timeout
            onFailure = other.onFailure
            expect = other.expect
            message = other.message
            isPrecondition = other.isPrecondition
            forEach = other.forEach
            key = other.key
            keyLocation = other.keyLocation
            maxConcurrency = other.maxConcurrency
            maxFailed = other.maxFailed
        }
    }

    private var storage: Storage

    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
        return storage
    }

    public var id: String {
        get { storage.id }
        set { unique().id = newValue }
    }
    /// Where the step's `id` value is (or the step itself when it has none).
    public var location: SourceLocation {
        get { storage.location }
        set { unique().location = newValue }
    }
    public var description: String? {
        get { storage.description }
        set { unique().description = newValue }
    }
    public var needs: [Located<String>] {
        get { storage.needs }
        set { unique().needs = newValue }
    }
    public var target: Located<String>? {
        get { storage.target }
        set { unique().target = newValue }
    }
    public var when: LocatedExpression? {
        get { storage.when }
        set { unique().when = newValue }
    }
    public var modes: [Located<String>]? {
        get { storage.modes }
        set { unique().modes = newValue }
    }
    public var body: StepBody {
        get { storage.body }
        set { unique().body = newValue }
    }
    public var with: YAMLNode? {
        get { storage.with }
        set { unique().with = newValue }
    }
    public var check: YAMLNode? {
        get { storage.check }
        set { unique().check = newValue }
    }
    public var verify: YAMLNode? {
        get { storage.verify }
        set { unique().verify = newValue }
    }
    public var undo: UndoSpec? {
        get { storage.undo }
        set { unique().undo = newValue }
    }
    /// `undo: none`: the step changes something a rollback must leave as it is (nothing to undo,
    /// e.g. it touches a marker or removes what this run made), said instead of a no-op undo.
    public var undoNone: Located<Bool>? {
        get { storage.undoNone }
        set { unique().undoNone = newValue }
    }
    public var irreversible: Bool {
        get { storage.irreversible }
        set { unique().irreversible = newValue }
    }
    /// Where `irreversible:`'s value is, when written.
    public var irreversibleLocation: SourceLocation? {
        get { storage.irreversibleLocation }
        set { unique().irreversibleLocation = newValue }
    }
    public var commit: Bool {
        get { storage.commit }
        set { unique().commit = newValue }
    }
    public var retries: Int {
        get { storage.retries }
        set { unique().retries = newValue }
    }
    public var retryDelay: Double? {
        get { storage.retryDelay }
        set { unique().retryDelay = newValue }
    }
    public var timeout: Double? {
        get { storage.timeout }
        set { unique().timeout = newValue }
    }
    public var onFailure: FailurePolicy? {
        get { storage.onFailure }
        set { unique().onFailure = newValue }
    }
    public var expect: LocatedExpression? {
        get { storage.expect }
        set { unique().expect = newValue }
    }
    public var message: String? {
        get { storage.message }
        set { unique().message = newValue }
    }
    public var isPrecondition: Bool {
        get { storage.isPrecondition }
        set { unique().isPrecondition = newValue }
    }
    /// `for_each`: the list the step iterates, one instance per element (`item` in expressions).
    public var forEach: LocatedExpression? {
        get { storage.forEach }
        set { unique().forEach = newValue }
    }
    /// `key`: what names each instance of a `for_each` step (`step[KEY]`, `step[KEY]@host`).
    public var key: LocatedExpression? {
        get { storage.key }
        set { unique().key = newValue }
    }
    /// Where `key:`'s value is, when written (also when it did not parse, so `key` is nil).
    public var keyLocation: SourceLocation? {
        get { storage.keyLocation }
        set { unique().keyLocation = newValue }
    }
    /// How many of this `for_each` step's items may have an instance running at once.
    public var maxConcurrency: ItemBudget? {
        get { storage.maxConcurrency }
        set { unique().maxConcurrency = newValue }
    }
    /// How many of this `for_each` step's items may fail before the run stops starting steps.
    public var maxFailed: ItemBudget? {
        get { storage.maxFailed }
        set { unique().maxFailed = newValue }
    }

    public init(id: String, location: SourceLocation, body: StepBody) {
        storage = Storage(id: id, location: location, body: body)
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
    /// `allowed_signers`: the OpenSSH allowed-signers file whose keys may sign an approval; when
    /// given, only signed approvals count (as written; a relative path is read against the
    /// runbook's directory).
    public var allowedSigners: Located<String>? = nil
    /// `quorum`: how many distinct allowed keys must approve (default 1).
    public var quorum: Located<Int>? = nil
    /// `not_by_launcher`: the person who launched the run may not approve it.
    public var notByLauncher: Located<Bool>? = nil
    /// Where the `approval:` mapping is, for messages about the settings together.
    public var location: SourceLocation? = nil
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
