import Foundation
import RunbookCore

/// The dry run for real: connects, runs every precondition and every action's read-only probe
/// side, and predicts per step instance `= already done`, `+ will change`, `? unknown until run`
/// or `- skipped`. Nothing is changed and nothing is journaled.
public struct LivePlanner: Sendable {
    public let hosts: any HostAccess
    public let compiler: Compiler
    public let outputLimit: Int
    /// Told what is being probed (`Progress`), from any task.
    public let progress: (@Sendable (Progress) -> Void)?

    public init(
        hosts: any HostAccess, compiler: Compiler, outputLimit: Int = 64 * 1024,
        progress: (@Sendable (Progress) -> Void)? = nil
    ) {
        self.hosts = hosts
        self.compiler = compiler
        self.outputLimit = outputLimit
        self.progress = progress
    }

    /// A precondition's result.
    public struct PreconditionResult: Sendable {
        public var nodeID: String
        public var host: String
        public var passed: Bool
        public var summary: String
    }

    /// The plan with observed effects, the preconditions' results, and the probed facts (for the plan hash).
    public struct Result: Sendable {
        public var plan: Plan
        public var preconditions: [PreconditionResult]
        public var facts: [String: String]
        /// Each failed precondition of a `for_each` item that leaves only that item out
        /// (on_item_failure: isolate), with the item's key, in precondition order.
        public var leftOut: [(key: String, precondition: PreconditionResult)] = []
        public var preconditionsFailed: Bool { preconditions.contains { !$0.passed } }
    }

    /// A dry run's probe context: a probe with no timeout of its own gets 60 s.
    static func context(_ runner: NodeRunner, _ node: PlanNode, host: String) -> ActionContext {
        runner.context(node, host: host, phase: .probe, timeout: node.timeout ?? 60)
    }

    public func run(_ compiled: Plan) async -> Result {
        var plan = compiled
        plan.offline = false
        var facts: [String: String] = [:]
        // Each host once, in parallel: one that does not answer is not probed again per step.
        plan.unreachableHosts = await checkHosts(plan)
        progress?(.probingSteps(hosts: Self.hostsToCheck(plan).count - plan.unreachableHosts.count))
        let runner = NodeRunner(
            plan: plan, compiler: compiler, hosts: CheckedHosts(base: hosts, unreachable: plan.unreachableHosts),
            outputLimit: outputLimit)

        // Preconditions, in parallel.
        let snapshot = plan
        let preconditions = await withTaskGroup(of: (Int, PlanNode, PreconditionResult).self) { group in
            for (i, node) in snapshot.preconditions.enumerated() {
                group.addTask {
                    let (n, r) = await self.precondition(node, plan: snapshot, runner: runner)
                    return (i, n, r)
                }
            }
            var results: [(Int, PlanNode, PreconditionResult)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        plan.preconditions = preconditions.map(\.1)
        for (_, node, result) in preconditions { facts["precondition:\(node.id)"] = result.summary }
        // An item whose precondition fails is left out of the run (on_item_failure: isolate):
        // none of its instances runs, nor a step that needs them (one that needs every item).
        var leftOut: [String: String] = [:]  // PlanItem.identity -> why
        var leftOutPreconditions: [(key: String, precondition: PreconditionResult)] = []
        for (_, node, result) in preconditions where !result.passed && !plan.preconditionFailureStopsRun(node.id) {
            guard let item = node.item else { continue }
            leftOutPreconditions.append((item.key, result))
            if leftOut[item.identity] == nil {
                leftOut[item.identity] = "item [\(item.key)] left out: precondition \(node.id) fails"
            }
        }
        var leftOutIDs: [String: String] = [:]  // node id -> why

        // Steps, in order, feeding probe outputs to later conditions.
        var stepValues: [String: Value] = [:]
        var willChange = Set<String>()  // node ids predicted to change (or unknown)
        var nodes: [PlanNode] = []
        for planned in plan.nodes {
            var node = planned
            if let why = planned.item.flatMap({ leftOut[$0.identity] })
                ?? planned.needs.lazy.compactMap({ leftOutIDs[$0] }).first.map({
                    $0.hasPrefix("needs ") ? $0 : "needs every item: \($0)"
                })
            {
                node.effect = .skipped(why)
                leftOutIDs[node.id] = why
                facts["step:\(node.id)"] = "\(node.effect.marker) \(why)"
                nodes.append(node)
                continue
            }
            let upstream = planned.needs.filter { willChange.contains($0) }
            var hostError: String?
            switch await runner.chooseHost(planned) {
            case .failure(let failure): hostError = failure.message
            case .success(let host):
                if case .success(let resolved) = runner.resolve(planned, host: host, stepValues: stepValues, runID: nil)
                {
                    node = resolved
                }
            }
            if let hostError {
                node.effect = .unknown(hostError)
                willChange.insert(node.id)
            } else if case .skipped = node.effect {
                stepValues[node.stepID] =
                    stepValues[node.stepID] ?? StepValues.entry(outputs: [:], status: "skipped")
            } else {
                node.effect = await predict(node, upstream: upstream, stepValues: &stepValues, runner: runner)
                switch node.effect {
                case .willChange: willChange.insert(node.id)
                case .unknown where node.kind != .gate: willChange.insert(node.id)
                default: break  // a gate changes nothing: what comes after it can be probed
                }
            }
            facts["step:\(node.id)"] = "\(node.effect.marker) \(node.effect.detail ?? "")"
            nodes.append(node)
        }
        // A gate with nothing behind it that would change needs no answer (the run passes it
        // the same way: `Executor.nothingBehind`). A step left out is not done: the run still
        // asks; and a gate whose later steps are all skipped is said to be so, not "done".
        for (i, node) in nodes.enumerated() where node.kind == .gate && node.gate?.type == .approval {
            let behind = Self.descendants(of: node.id, in: nodes)
            let actions = behind.filter { $0.kind == .action || $0.kind == .choose }
            let allDone =
                !actions.isEmpty && !behind.contains { leftOutIDs[$0.id] != nil }
                && behind.allSatisfy { other in
                    switch other.effect {
                    case .alreadyDone, .skipped: return true
                    case .unknown where other.kind == .gate || other.kind == .probe: return true
                    default: return false
                    }
                }
            guard allDone else { continue }
            if actions.allSatisfy(\.effect.isSkipped) {
                nodes[i].effect = .skipped("every step after it is skipped: nothing to approve, it will not wait")
            } else if actions.contains(where: \.effect.isSkipped) {
                nodes[i].effect = .alreadyDone("every step after it is already done or skipped: it will not wait")
            } else {
                nodes[i].effect = .alreadyDone("every step after it is already done: it will not wait")
            }
            facts["step:\(node.id)"] = "\(nodes[i].effect.marker) \(nodes[i].effect.detail ?? "")"
        }
        plan.nodes = nodes
        // What a left-out item never runs, it never undoes either.
        plan.rollback.removeAll {
            switch $0 {
            case .undo(let id), .commitPoint(let id): return leftOutIDs[id] != nil
            }
        }
        return Result(plan: plan, preconditions: preconditions.map(\.2), facts: facts, leftOut: leftOutPreconditions)
    }

    static func descendants(of id: String, in nodes: [PlanNode]) -> [PlanNode] {
        var result: [PlanNode] = []
        var frontier: Set<String> = [id]
        for node in nodes where !node.needs.allSatisfy({ !frontier.contains($0) }) {
            frontier.insert(node.id)
            result.append(node)
        }
        return result
    }

    func precondition(_ planned: PlanNode, plan: Plan, runner: NodeRunner) async -> (PlanNode, PreconditionResult) {
        var node = planned
        if case .skipped(let why) = planned.effect {
            return (
                node, PreconditionResult(nodeID: node.id, host: node.host, passed: true, summary: "skipped: \(why)")
            )
        }
        let host: String
        switch await runner.chooseHost(planned) {
        case .failure(let failure):
            node.effect = .unknown(failure.message)
            return (
                node, PreconditionResult(nodeID: node.id, host: planned.host, passed: false, summary: failure.message)
            )
        case .success(let chosen):
            host = chosen
        }
        node.host = host
        guard let type = runner.type(of: node) else {
            return (
                node,
                PreconditionResult(
                    nodeID: node.id, host: host, passed: false, summary: "no implementation for '\(node.typeName)'")
            )
        }
        do {
            let observation = try await type.probe(Self.context(runner, node, host: host))
            let failure = Self.expectationFailure(node, outputs: observation.outputs, context: plan.context).map {
                // The probe's own summary says it in full (the observed values are cut at 80 characters).
                "\($0); \(node.typeName) on \(host): \(observation.summary)"
            }
            node.effect =
                failure == nil ? .alreadyDone("holds: \(observation.summary)") : .unknown("FAILS: \(failure!)")
            return (
                node,
                PreconditionResult(
                    nodeID: node.id, host: host, passed: failure == nil, summary: failure ?? observation.summary)
            )
        } catch let error as TransportError {
            let why = error.explanation(on: host)
            node.effect = .unknown(why)
            return (node, PreconditionResult(nodeID: node.id, host: host, passed: false, summary: why))
        } catch {
            node.effect = .unknown("\(error)")
            return (node, PreconditionResult(nodeID: node.id, host: host, passed: false, summary: "\(error)"))
        }
    }

    func predict(_ node: PlanNode, upstream: [String], stepValues: inout [String: Value], runner: NodeRunner) async
        -> PlanEffect
    {
        if case .unknown(let why) = node.effect, node.kind == .choose, node.choice?.chosen == nil {
            return .unknown(why)
        }
        if node.when != nil, node.when?.result == nil { return node.effect }
        switch node.kind {
        case .gate:
            return node.effect
        case .probe:
            guard let type = runner.type(of: node) else { return .unknown("no implementation for '\(node.typeName)'") }
            do {
                let observation = try await type.probe(Self.context(runner, node, host: node.host))
                stepValues[node.stepID] = StepValues.entry(outputs: observation.outputs, status: "succeeded")
                // Evaluated as the run will (`Executor.expectationFailure`): with params, vars, hosts and mode.
                if let failure = Self.expectationFailure(
                    node, outputs: observation.outputs, context: runner.plan.context)
                {
                    return .unknown("reads now: \(observation.summary); would FAIL: \(failure)")
                }
                return .alreadyDone("reads: \(observation.summary)")
            } catch let error as TransportError {
                return .unknown(error.explanation(on: node.host))
            } catch {
                return .unknown("\(error)")
            }
        case .action, .choose:
            if node.arguments.hasUnknowns { return .unknown("its values come from steps that run first") }
            guard let type = runner.type(of: node) else { return .unknown("no implementation for '\(node.typeName)'") }
            do {
                let observation = try await type.probe(Self.context(runner, node, host: node.host))
                if !upstream.isEmpty {
                    // Not done now: it will change (unless an earlier step happens to do it).
                    // Done now: an earlier change could undo that, so it is only known at run time.
                    if !observation.done {
                        return .willChange("\(observation.summary) (after \(upstream.joined(separator: ", ")))")
                    }
                    return .unknown(
                        "depends on \(upstream.joined(separator: ", ")), which will change first (done now: \(observation.summary))"
                    )
                }
                return observation.done ? .alreadyDone(observation.summary) : .willChange(observation.summary)
            } catch let error as TransportError {
                return .unknown(error.explanation(on: node.host))
            } catch let misconfigured as HookMisconfigured {
                return .unknown(misconfigured.message)  // it says what cannot run, and why
            } catch {
                return .unknown("probe failed: \(error)")
            }
        }
    }

    /// How many elements of a list of texts a failure names (each whole).
    static let listedElements = 20

    /// An observed value in a failure: a list of texts (the paths a `tree.diff` found different)
    /// and a one-line text whole, never cut inside a path; a list of more than `listedElements`
    /// names those and says how many more there are and where they are. Anything else is cut at
    /// 80 characters and marked where it was (a cut list read as if its next key belonged to it).
    static func observedText(_ value: Value) -> String {
        switch value {
        case .list(let items) where items.allSatisfy(\.isString):
            let texts = items.map(\.renderedForText)
            let shown = texts.prefix(listedElements).joined(separator: ", ")
            let more =
                texts.count > listedElements
                ? ", … and \(texts.count - listedElements) more (all in the step's outputs: `runbook show RUN`)" : ""
            return "[\(shown)\(more)]"
        case .string(let text) where !text.contains("\n") && text.count <= 4096:
            return text
        default:
            let text = value.renderedForText
            return "\(text.prefix(80))\(text.count > 80 ? "…" : "")"
        }
    }

    static func expectationFailure(_ node: PlanNode, outputs: [String: Value], context: EvaluationContext?) -> String? {
        guard let source = node.expect else { return nil }
        var evaluation = context ?? EvaluationContext(roots: [:])
        evaluation.roots["outputs"] = .map(outputs)
        let observed = outputs.keys.sorted().map { "\($0) = \(observedText(outputs[$0]!))" }.joined(separator: ", ")
        do {
            if case .bool(true) = try RunbookCore.Expression(parsing: source).evaluate(in: evaluation) { return nil }
            return "\(node.message ?? "expectation failed") (expect: \(source); observed: \(observed))"
        } catch {
            return "cannot evaluate `\(source)`: \(error.message) (observed: \(observed))"
        }
    }
}
