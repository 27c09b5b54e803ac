/// The run's and the steps' budgets over `for_each` items (`max_concurrency`, `max_failed`),
/// as numbers of items for one plan, and the books a walk keeps to apply them. Free of effects:
/// the executor asks `admits` before it starts an instance and reports starts, ends and failures.
///
/// - The run's `max_concurrency: N`: at most N items change at once. An item holds its place from
///   its first instance's start while it has an instance running or ready to start; an item
///   whose next instances wait for a step outside it (one that needs every item) gives its place
///   up meanwhile, so a runbook with such a step cannot wait for itself.
/// - A step's `max_concurrency: N`: at most N of that step's items have an instance of it
///   running at once (its instances of one item on several hosts count as one item).
/// - `max_failed: N` (the run's: items failed anywhere; a step's: items that failed at it): when
///   one more than N items have failed, the run starts no further step. A percentage is of the
///   items it counts, rounded down.
public struct ItemBudgets: Sendable {
    /// The run's limit on items changing at once, with its text (`1` or `50%`).
    public let runConcurrency: (limit: Int, text: String)?
    public let runFailed: (limit: Int, text: String)?
    public let stepConcurrency: [String: (limit: Int, text: String)]
    public let stepFailed: [String: (limit: Int, text: String)]
    /// How many items the run has, and each step.
    public let runItems: Int
    public let stepItems: [String: Int]

    public init(plan: Plan) {
        var runItems = Set<String>()
        var stepItems: [String: Set<String>] = [:]
        for node in plan.nodes {
            guard let item = node.item else { continue }
            runItems.insert(item.identity)
            stepItems[node.stepID, default: []].insert(item.identity)
        }
        self.runItems = runItems.count
        self.stepItems = stepItems.mapValues(\.count)
        runConcurrency = plan.runbook.maxConcurrency.map {
            ($0.limit(ofItems: runItems.count, minimum: 1), $0.text)
        }
        runFailed = plan.runbook.maxFailed.map { ($0.limit(ofItems: runItems.count, minimum: 0), $0.text) }
        var concurrency: [String: (limit: Int, text: String)] = [:]
        var failed: [String: (limit: Int, text: String)] = [:]
        for step in plan.runbook.steps {
            let items = stepItems[step.id]?.count ?? 0
            if let budget = step.maxConcurrency {
                concurrency[step.id] = (budget.limit(ofItems: items, minimum: 1), budget.text)
            }
            if let budget = step.maxFailed { failed[step.id] = (budget.limit(ofItems: items, minimum: 0), budget.text) }
        }
        stepConcurrency = concurrency
        stepFailed = failed
    }

    public var isEmpty: Bool {
        runConcurrency == nil && runFailed == nil && stepConcurrency.isEmpty && stepFailed.isEmpty
    }

    /// What the plan says of them, a line each.
    public func lines(onFailureRollsBack: Bool) -> [String] {
        var lines: [String] = []
        func ordinal(_ n: Int) -> String {
            if (11...13).contains(n % 100) { return "\(n)th" }
            switch n % 10 {
            case 1: return "\(n)st"
            case 2: return "\(n)nd"
            case 3: return "\(n)rd"
            default: return "\(n)th"
            }
        }
        let after = onFailureRollsBack ? "; with on_failure: rollback the whole run is then rolled back" : ""
        if let (limit, text) = runConcurrency {
            lines.append(
                "(max_concurrency: \(text)) at most \(limit) of the \(runItems) items \(limit == 1 ? "changes" : "change") "
                    + "at once: an item holds its "
                    + "place from its first step's start while it has a step running or ready; the others wait")
        }
        if let (limit, text) = runFailed {
            lines.append(
                "(max_failed: \(text)) when the \(ordinal(limit + 1)) of \(runItems) items fails, the run starts no "
                    + "further step\(after)")
        }
        for step in stepConcurrency.keys.sorted() {
            let (limit, text) = stepConcurrency[step]!
            lines.append(
                "(\(step): max_concurrency \(text)) at most \(limit) of its \(stepItems[step] ?? 0) items at once")
        }
        for step in stepFailed.keys.sorted() {
            let (limit, text) = stepFailed[step]!
            lines.append(
                "(\(step): max_failed \(text)) when the \(ordinal(limit + 1)) of its \(stepItems[step] ?? 0) items "
                    + "fails at it, the run starts no further step\(after)")
        }
        return lines
    }

    /// The books of one walk.
    public struct Ledger: Sendable {
        /// Running instances per item, and per step and item.
        public private(set) var running: [String: Int] = [:]
        public private(set) var runningByStep: [String: [String: Int]] = [:]
        /// Items that had an instance started.
        public private(set) var started = Set<String>()
        public private(set) var failed: [String] = []
        public private(set) var failedByStep: [String: [String]] = [:]

        public init() {}

        public mutating func didStart(_ node: PlanNode) {
            guard let item = node.item?.identity else { return }
            started.insert(item)
            running[item, default: 0] += 1
            runningByStep[node.stepID, default: [:]][item, default: 0] += 1
        }

        /// An instance gave its outcome (any: done, failed, parked, cancelled).
        public mutating func didEnd(_ node: PlanNode) {
            guard let item = node.item?.identity else { return }
            running[item, default: 1] -= 1
            if running[item] == 0 { running[item] = nil }
            runningByStep[node.stepID, default: [:]][item, default: 1] -= 1
            if runningByStep[node.stepID]?[item] == 0 { runningByStep[node.stepID]?[item] = nil }
        }

        public mutating func didFail(_ node: PlanNode) {
            guard let item = node.item?.identity else { return }
            if !failed.contains(item) { failed.append(item) }
            if !(failedByStep[node.stepID]?.contains(item) ?? false) {
                failedByStep[node.stepID, default: []].append(item)
            }
        }
    }

    /// The items changing now: those with an instance running, and those started with one ready
    /// (`ready`: the instances ready to start).
    public func changing(_ ledger: Ledger, ready: [PlanNode]) -> Set<String> {
        var items = Set(ledger.running.keys)
        for node in ready {
            if let item = node.item?.identity, ledger.started.contains(item) { items.insert(item) }
        }
        return items
    }

    /// Whether `node` may start now (`changing`: from `changing(_:ready:)`).
    public func admits(_ node: PlanNode, _ ledger: Ledger, changing: Set<String>) -> Bool {
        guard let item = node.item?.identity else { return true }
        if let (limit, _) = stepConcurrency[node.stepID] {
            let here = ledger.runningByStep[node.stepID] ?? [:]
            if here[item] == nil, here.count >= limit { return false }
        }
        if let (limit, _) = runConcurrency, !changing.contains(item), changing.count >= limit { return false }
        return true
    }

    /// A `max_failed` that failures went past.
    public struct Exceeded: Sendable, Equatable {
        /// As written: `max_failed: 1`, or `max_failed: 25% of step switch`.
        public var budget: String
        /// The failed items' keys (`keys` of `exceeded`), in the order they failed.
        public var items: [String]
        /// `max_failed: 1 exceeded: 2 of 8 items failed ([s1], [s3])`.
        public var summary: String
    }

    /// The budget the failures so far went past, if any: the run must start no further step.
    public func exceeded(_ ledger: Ledger, keys: (String) -> String) -> Exceeded? {
        if let (limit, text) = runFailed, ledger.failed.count > limit {
            let items = ledger.failed.map(keys)
            return Exceeded(
                budget: "max_failed: \(text)", items: items,
                summary: "max_failed: \(text) exceeded: \(items.count) of \(runItems) items failed "
                    + "(\(items.map { "[\($0)]" }.joined(separator: ", ")))")
        }
        for step in stepFailed.keys.sorted() {
            let (limit, text) = stepFailed[step]!
            let failed = ledger.failedByStep[step] ?? []
            if failed.count > limit {
                let items = failed.map(keys)
                return Exceeded(
                    budget: "max_failed: \(text) of step \(step)", items: items,
                    summary:
                        "max_failed: \(text) of step \(step) exceeded: \(items.count) of its \(stepItems[step] ?? 0) "
                        + "items failed at it (\(items.map { "[\($0)]" }.joined(separator: ", ")))")
            }
        }
        return nil
    }
}

extension Plan {
    /// Whether a failed precondition refuses the whole run: not one of a `for_each` item under
    /// `on_item_failure: isolate` (that item is left out, the others run).
    public func preconditionFailureStopsRun(_ nodeID: String) -> Bool {
        guard runbook.onItemFailure == .isolate else { return true }
        return preconditions.first { $0.id == nodeID }?.item == nil
    }

    /// Why failed preconditions refuse the whole run.
    public enum PreconditionStop: Sendable, Equatable {
        /// A precondition that is not one item's failed (its id).
        case precondition(String)
        /// More items failed their preconditions than the run's `max_failed` lets fail:
        /// `max_failed: 1 exceeded before anything changed: the preconditions of 2 of 3 items
        /// failed ([gv0], [gv1])` (callers say what follows: nothing was, or would be, started).
        case budget(String)

        /// The budget's line, when it is the budget that stops the run.
        public var budget: String? {
            if case .budget(let line) = self { return line }
            return nil
        }
    }

    /// Why these failed preconditions refuse the whole run, or nil when they only leave their
    /// items out: one that is not an item's, or more items failing their preconditions than the
    /// run's `max_failed` lets fail (an item left out counts as a failed item: with more broken
    /// sessions than the budget, nothing is started).
    public func preconditionsStopRun(failed nodeIDs: [String]) -> PreconditionStop? {
        if let nodeID = nodeIDs.first(where: preconditionFailureStopsRun) { return .precondition(nodeID) }
        let budgets = ItemBudgets(plan: self)
        guard let (limit, text) = budgets.runFailed else { return nil }
        var keys: [String] = []
        for node in preconditions where nodeIDs.contains(node.id) {
            if let key = node.item?.key, !keys.contains(key) { keys.append(key) }
        }
        guard keys.count > limit else { return nil }
        return .budget(
            "max_failed: \(text) exceeded before anything changed: the preconditions of \(keys.count) of "
                + "\(budgets.runItems) items failed (\(keys.map { "[\($0)]" }.joined(separator: ", ")))")
    }
}
