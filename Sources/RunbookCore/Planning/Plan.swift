/// A compiled runbook: step instances per host in a stable order, with their commands, undo,
/// and predicted effect. `plan` renders it; `run` executes it.
public struct Plan: Sendable {
    public var runbook: Runbook
    public var inventory: Inventory
    public var mode: String
    public var params: [ResolvedParam]
    public var redactor: Redactor
    /// Precondition instances, in document order.
    public var preconditions: [PlanNode]
    /// Step instances in a stable topological order (document order among equals).
    public var nodes: [PlanNode]
    /// Node ids whose undo a rollback would run, newest first, with commit points marked.
    public var rollback: [RollbackEntry]
    /// The evaluation context every node starts from (params, vars, hosts, mode, run, steps).
    public var context: EvaluationContext
    /// Whether the plan's effects were predicted without contacting any host.
    public var offline: Bool
    /// The hosts the dry run found unreachable, with why (empty offline): their steps read
    /// `? unknown`, the count line and the confirmation name them.
    public var unreachableHosts: [String: String] = [:]

    public func node(_ id: String) -> PlanNode? {
        nodes.first { $0.id == id } ?? preconditions.first { $0.id == id }
    }

    public struct Counts: Sendable, Hashable {
        public var willChange = 0, alreadyDone = 0, unknown = 0, skipped = 0
    }

    public var counts: Counts {
        var counts = Counts()
        for node in nodes {
            switch node.effect {
            case .willChange: counts.willChange += 1
            case .alreadyDone: counts.alreadyDone += 1
            case .unknown: counts.unknown += 1
            case .skipped: counts.skipped += 1
            }
        }
        return counts
    }
}

/// A param with its value and where the value came from.
public struct ResolvedParam: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable, Codable {
        case defaultValue = "default"
        case inventory = "inventory vars"
        case commandLine = "--param"
        case environment = "environment"
    }

    public var name: String
    public var value: Value
    public var secret: Bool
    public var source: Source

    /// The value as shown to people: `***` for secrets.
    public var display: String { secret ? "***" : value.renderedForText }
}

/// One entry of the predicted rollback order.
public enum RollbackEntry: Sendable, Hashable {
    case undo(nodeID: String)
    /// Automatic rollback stops here; `runbook rollback --past-commit` continues.
    case commitPoint(nodeID: String)
}

/// What a step instance is predicted to do.
public enum PlanEffect: Sendable, Hashable {
    case willChange(String?)
    case alreadyDone(String?)
    case unknown(String)
    case skipped(String)

    public var marker: String {
        switch self {
        case .willChange: return "+"
        case .alreadyDone: return "="
        case .unknown: return "?"
        case .skipped: return "-"
        }
    }

    public var label: String {
        switch self {
        case .willChange: return "will change"
        case .alreadyDone: return "already done"
        case .unknown: return "unknown until run"
        case .skipped: return "skipped"
        }
    }

    public var detail: String? {
        switch self {
        case .willChange(let detail), .alreadyDone(let detail): return detail
        case .unknown(let detail), .skipped(let detail): return detail
        }
    }
}

/// How a step instance would be undone.
public enum UndoPlan: Sendable, Hashable {
    /// A declared undo: its commands (purpose `undo`), in order, and the undo's own `check`
    /// (purpose `probe`: exit 0 means already undone) and `verify` (purpose `verify`), if any.
    case commands([PlannedCommand])
    case derived(String)
    case irreversible
    /// It changes nothing.
    case none
    /// It changes the world and nothing undoes it.
    case missing
}

extension UndoPlan {
    /// Whether a rollback runs something for it (a declared or derived undo).
    public var undoes: Bool {
        switch self {
        case .commands, .derived: return true
        case .irreversible, .none, .missing: return false
        }
    }

    /// A declared undo's commands of one purpose (`undo`: what it runs; `probe`: its check;
    /// `verify`: its verify); empty for every other kind of undo.
    public func commands(_ purpose: PlannedCommand.Purpose) -> [PlannedCommand] {
        guard case .commands(let commands) = self else { return [] }
        return commands.filter { $0.purpose == purpose }
    }
}

/// One step instance: a step on one host.
public struct PlanNode: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case action, probe, gate, choose
    }

    /// `step` for single-host steps, `step@host` for role fan-outs, `step[KEY]` and
    /// `step[KEY]@host` for the items of a `for_each`.
    public var id: String
    public var stepID: String
    /// The host it runs on (predicted for `any(role)`: the first that answers at run time).
    public var host: String
    /// The target as written, e.g. `any(secondary)`, `secondary`, `localhost`.
    public var target: String
    /// For `any(role)`: the hosts that may be chosen, in order.
    public var candidates: [String]
    public var kind: Kind
    /// The action or probe type (the chosen alternative's, for `choose`), or the gate type.
    public var typeName: String
    public var isPrecondition: Bool
    public var needs: [String]
    public var effect: PlanEffect
    public var arguments: ResolvedArguments
    public var commands: [PlannedCommand]
    public var undo: UndoPlan
    public var changes: Bool
    public var commit: Bool
    public var retries: Int
    public var retryDelay: Double?
    public var timeout: Double?
    public var onFailure: FailurePolicy
    public var expect: String?
    public var message: String?
    public var description: String?
    public var when: ConditionReport?
    public var gate: GatePlan?
    public var choice: ChoicePlan?
    /// For a `for_each` step: the element this instance is for (its key is in `id`: `step[KEY]@host`).
    public var item: PlanItem? = nil
    public var location: SourceLocation
}

extension PlanNode {
    /// A `choose` whose alternative is known only at run time: its `undo` is the taken
    /// alternative's, found when the step is resolved with what earlier steps produced.
    public var undecidedChoice: Bool { kind == .choose && choice != nil && choice?.chosen == nil }
}

/// A condition and the values it read.
public struct ConditionReport: Sendable, Hashable {
    public var source: String
    /// true, false, or nil when it cannot be known yet.
    public var result: Bool?
    /// `name = value` for every name it read.
    public var values: [String]
}

/// A gate's settings, resolved.
public struct GatePlan: Sendable, Hashable {
    public var type: Gate.Kind.Name
    public var prompt: String?
    public var approvers: [String]
    public var timeout: Double?
    public var onTimeout: GateTimeoutPolicy
    public var probe: String?
    public var condition: String?
    public var every: Double?
    public var probeHost: String?
    /// The allowed-signers file (absolute) whose keys must sign an approval; nil when the gate
    /// takes unsigned answers.
    public var allowedSigners: String? = nil
    /// How many distinct allowed keys must approve (signed gates; 1 when nil).
    public var quorum: Int? = nil
    /// Whether the person who launched the run is refused as an approver.
    public var notByLauncher: Bool = false

    /// Whether only signed approvals count at this gate.
    public var requiresSignatures: Bool { allowedSigners != nil }
}

/// The alternatives of a `choose` and which one is taken.
public struct ChoicePlan: Sendable, Hashable {
    public struct Alternative: Sendable, Hashable {
        public var condition: ConditionReport?
        public var typeName: String
        public var commands: [PlannedCommand]
        public var undo: UndoPlan
    }

    public var alternatives: [Alternative]
    /// The index taken, or nil when it is only known at run time.
    public var chosen: Int?
}
