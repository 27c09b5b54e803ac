/// A runbook as written: one recovery procedure, with where every part of it came from.
public struct Runbook: Sendable {
    public var file: String
    public var apiVersion: String
    public var name: Located<String>
    public var description: String?
    /// Allowed `--mode` values; the first is the default. Empty: the runbook has no modes.
    public var modes: [Located<String>]
    public var onFailure: FailurePolicy
    /// What a failure of one `for_each` item does to the other items (`on_item_failure`).
    public var onItemFailure: ItemFailurePolicy
    public var concurrency: Int
    /// How many `for_each` items may change at once across the run (`max_concurrency`): an item
    /// holds its place from its first instance's start while it has an instance running or ready.
    public var maxConcurrency: ItemBudget?
    /// How many `for_each` items may fail before the run stops starting steps (`max_failed`).
    public var maxFailed: ItemBudget?
    public var params: [ParamSpec]
    public var roles: [RoleSpec]
    public var preconditions: [Step]
    public var steps: [Step]
    /// What a run of it must achieve (`objectives:`), measured when it ends.
    public var objectives: [Objective]
    /// Sinks of its own (`notify:`): one named like an inventory's sink takes its place.
    public var notify: [NotifySink]
    public var location: SourceLocation

    public init(file: String, location: SourceLocation) {
        self.file = file
        self.location = location
        self.apiVersion = "runbook/v1"
        self.name = Located("", at: location)
        self.modes = []
        self.onFailure = .stop
        self.onItemFailure = .isolate
        self.concurrency = 8
        self.params = []
        self.roles = []
        self.preconditions = []
        self.steps = []
        self.objectives = []
        self.notify = []
    }

    public func param(named name: String) -> ParamSpec? { params.first { $0.name == name } }
    public func role(named name: String) -> RoleSpec? { roles.first { $0.name == name } }

    /// Preconditions then steps, in document order.
    public var allSteps: [Step] { preconditions + steps }
    /// The same steps without copying them into a new array (a `Step` is large: copying 10,000
    /// of them retains every field of each), for loops that only read them.
    public var everyStep: FlattenSequence<[[Step]]> { [preconditions, steps].joined() }
}

/// What happens when a step fails after its retries.
public enum FailurePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case rollback, stop, `continue`
}

/// What a failure of one item of a `for_each` does to the others.
///
/// `isolate` (the default): the failing step's `on_failure` applies to its item only. That item's
/// remaining steps do not start (`stop`, `rollback`; with `rollback` its changes are undone, newest
/// first, once the walk ends), the other items carry on to their end, and a step that does not
/// iterate (it waits for every item) does not run. In a DR run the items are independent volumes:
/// stopping a healthy session halfway through its failover would leave it neither on the old site
/// nor on the new one. `whole_run`: one item's failure is the run's failure, as for a step without
/// `for_each` (the run stops; `rollback` undoes every item).
public enum ItemFailurePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case isolate
    case wholeRun = "whole_run"
}

/// What a gate does when its timeout passes.
public enum GateTimeoutPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case abort, rollback, proceed
}

/// A declared parameter of a runbook.
public struct ParamSpec: Sendable {
    public enum ParamType: String, Sendable, Hashable, Codable, CaseIterable {
        case string, int, bool, duration, list
    }

    public var name: String
    public var location: SourceLocation
    public var type: ParamType
    public var defaultValue: YAMLNode?
    public var allowed: [String]?
    public var pattern: Located<String>?
    public var secret: Bool
    public var fromEnv: String?
    public var description: String?
}

/// A role the inventory must provide hosts for.
public struct RoleSpec: Sendable {
    public var name: String
    public var location: SourceLocation
    public var min: Int
    public var max: Int?
    public var description: String?
}
