/// What an action, probe or gate type takes, produces and does: the registry's unit.
public struct ActionDescriptor: Sendable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case action, probe, gate
    }

    /// How a step of this type is undone.
    public enum UndoKind: Sendable, Hashable {
        /// The step declares `undo` (or `irreversible: true`).
        case declared
        /// The type derives its undo from what it observed before applying.
        case derived(String)
        /// Nothing to undo: the type does not change anything.
        case none
    }

    public var name: String
    public var kind: Kind
    public var summary: String
    public var parameters: [ParameterSpec]
    /// Groups of parameters of which exactly one must be given (e.g. `run` or `script`).
    public var exactlyOneOf: [[String]]
    public var outputs: [OutputSpec]
    /// Whether applying it can change the world.
    public var changes: Bool
    public var undo: UndoKind
    /// For probes: the expectation used when a step gives no `expect`.
    public var defaultExpectation: String?
    /// What "already done" means for it, for `runbook actions`.
    public var idempotency: String?
    /// Whether a step's own `check:` and `verify:` keys are this type's parameters of those names
    /// (the shell's); otherwise `check` is refused and `verify` adds commands after the type's own.
    public var takesStepCheck: Bool
    /// For gates: how the executor waits at one.
    public var gate: GateBehaviour?

    /// How a gate type waits.
    public enum GateBehaviour: String, Sendable, Hashable, Codable {
        /// A person answers (terminal, `--approve`, `runbook approve`); unattended, the run parks.
        case approval
        /// A probe is polled until a condition holds.
        case poll
    }

    public init(
        name: String, kind: Kind, summary: String, parameters: [ParameterSpec], exactlyOneOf: [[String]] = [],
        outputs: [OutputSpec], changes: Bool, undo: UndoKind, defaultExpectation: String? = nil,
        idempotency: String? = nil,
        takesStepCheck: Bool = false, gate: GateBehaviour? = nil
    ) {
        self.takesStepCheck = takesStepCheck
        self.gate = gate
        self.name = name
        self.kind = kind
        self.summary = summary
        self.parameters = parameters
        self.exactlyOneOf = exactlyOneOf
        self.outputs = outputs
        self.changes = changes
        self.undo = undo
        self.defaultExpectation = defaultExpectation
        self.idempotency = idempotency
    }

    public func parameter(named name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
}

/// One parameter an action type takes in `with`.
public struct ParameterSpec: Sendable, Hashable {
    public var name: String
    public var type: ValueType
    public var required: Bool
    public var description: String
    /// Text a shell runs (`sh -c`): `validate` refuses `${{ }}` in it, since an interpolated value
    /// would not be quoted (`$(touch X)` would run). Values go in through `env`.
    public var isShellText: Bool
    /// The value names inventory hosts (a host name, `localhost`, `ROLE[N]`; in a list also a
    /// role): `validate` checks a literal like a step's `on:`, and the compiler resolves it to
    /// host names (`HostReference`), so a misspelt host is refused before anything runs.
    public var isHostReference: Bool

    public init(
        _ name: String, _ type: ValueType, required: Bool = false, shellText: Bool = false,
        hostReference: Bool = false, _ description: String
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.isShellText = shellText
        self.isHostReference = hostReference
        self.description = description
    }
}

/// One output field an action type produces.
public struct OutputSpec: Sendable, Hashable {
    public var name: String
    public var type: String
    public var description: String

    public init(_ name: String, _ type: String, _ description: String) {
        self.name = name
        self.type = type
        self.description = description
    }
}

/// The type of a parameter value, for checking and coercion.
public enum ValueType: String, Sendable, Hashable, CaseIterable {
    case string, int, bool, duration
    /// A command: a list of strings, each passed as one argv element.
    case argv
    /// A command: an argv list, or a string run with `sh -c`.
    case command
    case stringList = "list"
    case stringMap = "map"
    case any
}

/// A host as the renderer sees it: its name and settings.
public struct RenderHost: Sendable, Hashable {
    public var name: String
    public var settings: HostSettings

    public init(name: String, settings: HostSettings) {
        self.name = name
        self.settings = settings
    }
}

/// Step arguments after expressions were evaluated.
///
/// Values that could not be known yet (offline, or depending on an earlier step's outputs) are
/// replaced by their source text, `${{ ... }}`, and `hasUnknowns` is set: the plan shows the text.
public struct ResolvedArguments: Sendable, Hashable {
    public var values: [String: Value]
    public var hasUnknowns: Bool

    public init(_ values: [String: Value] = [:], hasUnknowns: Bool = false) {
        self.values = values
        self.hasUnknowns = hasUnknowns
    }

    public subscript(name: String) -> Value? { values[name] }

    public func string(_ name: String) -> String? {
        guard let value = values[name], value != .null else { return nil }
        if case .string(let text) = value { return text }
        return value.renderedForText
    }

    public func bool(_ name: String) -> Bool? {
        if case .bool(let flag)? = values[name] { return flag }
        return nil
    }

    public func int(_ name: String) -> Int? {
        if case .int(let number)? = values[name] { return number }
        return nil
    }

    /// A list of strings (argv elements), or nil.
    public func strings(_ name: String) -> [String]? {
        guard case .list(let items)? = values[name] else { return nil }
        return items.map { item in
            if case .string(let text) = item { return text }
            return item.renderedForText
        }
    }

    /// A command parameter as argv: a list as is, a string through `sh -c`.
    public func command(_ name: String) -> [String]? {
        switch values[name] {
        case .string(let script)?: return ["/bin/sh", "-c", script]
        case .list?: return strings(name)
        default: return nil
        }
    }

    public func stringMap(_ name: String) -> [String: String] {
        guard case .map(let entries)? = values[name] else { return [:] }
        return entries.mapValues { value in
            if case .string(let text) = value { return text }
            return value.renderedForText
        }
    }
}

/// A command the plan shows, and the executor will run, for one purpose of one step.
public struct PlannedCommand: Sendable, Hashable {
    public enum Purpose: String, Sendable, Hashable, Codable {
        case probe, apply, verify, undo
    }

    public var purpose: Purpose
    /// The host it runs on (usually the step's; a probe may ask another host).
    public var host: String
    public var command: CommandSpec

    public init(_ purpose: Purpose, on host: String, _ command: CommandSpec) {
        self.purpose = purpose
        self.host = host
        self.command = command
    }
}
