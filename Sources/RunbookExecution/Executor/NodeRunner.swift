import Foundation
import RunbookCore

/// The hosts of a run as the executor needs them: commands, connection checks, and the choice
/// of host for `any(role)` targets. `HostPool` is the real one; tests use an in-memory one.
public protocol HostAccess: CommandRunner {
    /// The first of `candidates` that answers a connection check (remembered for the run under `key`).
    func firstReachable(_ candidates: [String], key: String) async -> (host: String?, errors: [String: String])
}

extension HostPool: HostAccess {}

/// The one sequence every caller runs a step instance through (the executor, the live planner,
/// gates and rollback): choose the host, resolve the node once with what earlier steps produced,
/// find its type, and give it a context whose commands are recorded.
public struct NodeRunner: Sendable {
    public let plan: Plan
    public let compiler: Compiler
    public let hosts: any HostAccess
    public let outputLimit: Int
    /// The epoch the run writes (``ActionContext/runEpoch``).
    public var runEpoch: Int?
    /// The run's id (``ActionContext/runID``).
    public var runID: String?
    let steps: [String: Step]
    let nodes: [String: PlanNode]

    public init(plan: Plan, compiler: Compiler, hosts: any HostAccess, outputLimit: Int = 64 * 1024) {
        self.plan = plan
        self.compiler = compiler
        self.hosts = hosts
        self.outputLimit = outputLimit
        self.steps = Dictionary(plan.runbook.allSteps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.nodes = Dictionary(
            (plan.preconditions + plan.nodes).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A planned instance by id (steps and preconditions).
    public func node(_ id: String) -> PlanNode? { nodes[id] }

    /// The type of a node (the chosen alternative's, for `choose`).
    public func type(of node: PlanNode) -> (any ActionType)? { compiler.registry[node.typeName] }

    /// The host a node runs on: its own, or for `any(role)` the first candidate that answers.
    public func chooseHost(_ node: PlanNode) async -> Result<String, NodeFailure> {
        guard !node.candidates.isEmpty else { return .success(node.host) }
        // A step skipped (by its mode, say) needs no host: asking an unreachable one would only wait.
        if case .skipped = node.effect { return .success(node.host) }
        let (chosen, errors) = await hosts.firstReachable(node.candidates, key: node.target)
        guard let chosen else {
            let detail = node.candidates.map { "\($0): \(errors[$0] ?? "unreachable")" }.joined(separator: "; ")
            return .failure(NodeFailure("no host of \(node.target) answered (\(detail))"))
        }
        return .success(chosen)
    }

    /// The node resolved on `host` with the outputs and states of earlier steps (a `choose`
    /// taking `alternative` when it is given: the one journaled when it ran).
    public func resolve(
        _ planned: PlanNode, host: String, stepValues: [String: Value], runID: String?, alternative: Int? = nil
    ) -> Result<PlanNode, NodeFailure> {
        guard let step = steps[planned.stepID] else {
            return .failure(NodeFailure("step \(planned.stepID) is not in the runbook"))
        }
        var diagnostics = Diagnostics()
        guard
            let node = compiler.resolve(
                planned, step: step, in: plan, stepValues: stepValues, host: host, runID: runID,
                alternative: alternative, diagnostics: &diagnostics)
        else {
            return .failure(NodeFailure(diagnostics.errors.map(\.description).joined(separator: "; ")))
        }
        return .success(node)
    }

    /// Host chosen, then resolved: what every caller does first.
    public func prepare(_ planned: PlanNode, stepValues: [String: Value], runID: String?) async
        -> Result<(node: PlanNode, host: String), NodeFailure>
    {
        switch await chooseHost(planned) {
        case .failure(let failure): return .failure(failure)
        case .success(let host):
            return resolve(planned, host: host, stepValues: stepValues, runID: runID).map { ($0, host) }
        }
    }

    /// A context for one phase on `host`, recording what runs in `log`.
    public func context(
        _ node: PlanNode, host: String, phase: PlannedCommand.Purpose, timeout: Double?,
        log: CommandLog? = nil
    ) -> ActionContext {
        var context = ActionContext(
            node: node, host: host, settings: plan.inventory.settings(for: host), phase: phase, timeout: timeout,
            outputLimit: outputLimit, runner: hosts, log: log)
        context.runEpoch = runEpoch
        context.runID = runID
        return context
    }

    /// The step values of journaled instances of `for_each` steps, per item (`PlanItem.identity`):
    /// what `steps.ID` reads in an instance of the same item.
    public func itemValues(_ records: [StepRecord], onlyDone: Bool) -> [String: [String: Value]] {
        var values: [String: [String: Value]] = [:]
        for record in records {
            guard let item = nodes[record.nodeID]?.item else { continue }
            if onlyDone, record.state != .succeeded, record.state != .alreadyDone { continue }
            if !onlyDone, record.outputsJSON == nil { continue }
            if values[item.identity]?[record.stepID] != nil { continue }
            values[item.identity, default: [:]][record.stepID] = StepValues.entry(
                outputs: ValueJSON.decode(record.outputsJSON), status: record.state.rawValue)
        }
        return values
    }

    /// What the step values of journaled steps are (`steps.ID.outputs`, `steps.ID.status`; for a
    /// `for_each` step also `steps.ID.items`, each instance's `{key, host, outputs, status}`, which
    /// a step without `for_each` or an objective reads, e.g. `max(steps.rpo.items[*].outputs.lag)`).
    public static func stepValues(_ records: [StepRecord], onlyDone: Bool) -> [String: Value] {
        var values: [String: Value] = [:]
        var items: [String: [Value]] = [:]
        for record in records {
            if onlyDone, record.state != .succeeded, record.state != .alreadyDone { continue }
            if !onlyDone, record.outputsJSON == nil { continue }
            let outputs = Value.map(ValueJSON.decode(record.outputsJSON))
            let status = Value.string(record.state.rawValue)
            values[record.stepID] = .map(["outputs": outputs, "status": status])
            if let key = itemKey(nodeID: record.nodeID, stepID: record.stepID) {
                items[record.stepID, default: []].append(
                    instance(key: key, host: record.host, outputs: outputs, status: status))
            }
        }
        for (stepID, instances) in items {
            guard case .map(var value)? = values[stepID] else { continue }
            value["items"] = .list(instances)
            values[stepID] = .map(value)
        }
        return values
    }

    /// One entry of `steps.ID.items`.
    static func instance(key: String, host: String?, outputs: Value, status: Value) -> Value {
        .map(["key": .string(key), "host": host.map(Value.string) ?? .null, "outputs": outputs, "status": status])
    }

    /// `value` (a step's `{outputs, status}`) with one more instance in its `items`.
    public static func adding(
        instanceOf item: PlanItem, host: String?, outputs: [String: Value], status: String, to value: Value?
    ) -> Value {
        guard case .map(var map)? = value else { return .unknown }
        var list: [Value] = []
        let entry = instance(key: item.key, host: host, outputs: .map(outputs), status: .string(status))
        if case .list(let existing)? = map["items"] {
            // A resume re-verifies a done instance: its new values replace the journaled ones.
            list = existing.filter {
                guard case .map(let other) = $0 else { return true }
                return other["key"] != .string(item.key) || other["host"] != (host.map(Value.string) ?? .null)
            }
        }
        list.append(entry)
        map["items"] = .list(list)
        return .map(map)
    }

    /// The item key of a `for_each` instance's node id (`rpo[gv0]@gfs-a1` -> `gv0`), nil for a
    /// step without `for_each` (keys never hold `]`).
    static func itemKey(nodeID: String, stepID: String) -> String? {
        NodeID(parsing: nodeID, stepID: stepID)?.itemKey
    }
}

/// Why a step instance could not be prepared or run: one line for people.
public struct NodeFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
