import RunbookCore

/// What `steps.ID` reads while a run goes on, as one value the executor, the live planner,
/// gates and rollback share (they built `{outputs, status}` maps each in its own place).
///
/// `steps`: each step's `{outputs, status}` (for a `for_each` step also `items`, every
/// instance's `{key, host, outputs, status}`, which a step without `for_each` and the objectives
/// read). `items`: per item (`PlanItem.identity`), the values of that item's own instances, which
/// `steps.ID` reads in an instance of the same item.
public struct StepValues: Sendable {
    public private(set) var steps: [String: Value]
    public private(set) var items: [String: [String: Value]]
    /// Steps with an instance that succeeded in this walk (the first one's outputs are the step's).
    private var succeededInWalk: Set<String> = []

    public init(steps: [String: Value] = [:], items: [String: [String: Value]] = [:]) {
        self.steps = steps
        self.items = items
    }

    /// The journaled steps' values (`onlyDone`: only those done; else every one with outputs).
    public init(records: [StepRecord], runner: NodeRunner, onlyDone: Bool) {
        self.init(
            steps: NodeRunner.stepValues(records, onlyDone: onlyDone),
            items: runner.itemValues(records, onlyDone: onlyDone))
    }

    /// One step's (or instance's) value: `{outputs, status}`.
    public static func entry(outputs: [String: Value], status: String) -> Value {
        .map(["outputs": .map(outputs), "status": .string(status)])
    }

    /// What an instance of `item` (nil: of a step without `for_each`) reads as `steps`.
    public func values(for item: PlanItem?) -> [String: Value] {
        guard let item, let own = items[item.identity] else { return steps }
        var values = steps
        for (id, value) in own { values[id] = value }
        return values
    }

    /// An instance of `node` succeeded with `outputs`.
    public mutating func succeeded(_ node: PlanNode, outputs: [String: Value]) {
        if succeededInWalk.insert(node.stepID).inserted {
            steps[node.stepID] = Self.entry(outputs: outputs, status: "succeeded")
        }
        if let item = node.item {
            steps[node.stepID] = NodeRunner.adding(
                instanceOf: item, host: node.host, outputs: outputs, status: "succeeded", to: steps[node.stepID])
            if items[item.identity]?[node.stepID] == nil {
                items[item.identity, default: [:]][node.stepID] = Self.entry(outputs: outputs, status: "succeeded")
            }
        }
    }

    /// An instance of `node` was skipped: the step reads as skipped unless it has a value already.
    public mutating func skipped(_ node: PlanNode) {
        if steps[node.stepID] == nil { steps[node.stepID] = Self.entry(outputs: [:], status: "skipped") }
        if let item = node.item, items[item.identity]?[node.stepID] == nil {
            items[item.identity, default: [:]][node.stepID] = Self.entry(outputs: [:], status: "skipped")
        }
    }
}
