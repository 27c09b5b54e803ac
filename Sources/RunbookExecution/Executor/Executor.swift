import Foundation
import RunbookCore

/// How a run is carried out.
public struct ExecutionOptions: Sendable {
    /// Gates approved on the command line (`--approve GATE`).
    public var approvals: Set<String> = []
    /// Who approves with `--approve` or at the terminal.
    public var approver: String = ExecutionOptions.loginName()
    /// Who is at the controls, as `approve` without `--by` and the terminal's answer record it:
    /// `$SUDO_USER` (the person behind `sudo`), then `$USER`, then the login name of this
    /// process's user (a systemd unit or cron sets no `$USER`), never `unknown` while that exists.
    public static func loginName(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        for key in ["SUDO_USER", "USER", "LOGNAME"] {
            if let value = environment[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { return value }
        }
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
            let text = String(cString: name)
            if !text.isEmpty { return text }
        }
        let name = NSUserName()
        return name.isEmpty ? "unknown" : name
    }

    /// Who launched the run (`launched_by` of its `run.started`): refused as a signer at a gate
    /// with `not_by_launcher`. nil when not known.
    public var launcher: String?
    /// Verifies signed approvals (`ssh-keygen -Y verify`).
    public var signatures = SSHSignatures()

    /// Whether a person can answer at the terminal.
    public var interactive = false
    public var outputLimit = 64 * 1024
    /// Seconds running commands get after SIGINT/SIGTERM before they are killed.
    public var graceSeconds: Double = 10
    /// Seconds between retries when a step gives no `retry_delay`.
    public var defaultRetryDelay: Double = 2
    /// How often a waiting approval gate looks for `runbook approve` from another shell.
    public var approvalPollSeconds: Double = 1
    /// The epoch the run writes where a step marks a resource (set by the run controller from
    /// its epoch fence; nil when the plan marks nothing).
    public var runEpoch: Int?

    public init() {}
}

/// How a run ended, and the exit code that says so (SPEC §6).
public enum RunOutcome: Sendable, Equatable {
    case succeeded
    case failed(String)
    case preconditionFailed(String)
    case parked([String])
    case interrupted(Int32)
    case rolledBack(String)
    case rollbackFailed(String)

    public var exitCode: Int32 {
        switch self {
        case .succeeded: return 0
        case .failed, .rolledBack: return 1
        case .preconditionFailed: return 3
        case .rollbackFailed: return 7
        case .parked: return 4
        case .interrupted(let signal): return 128 + signal
        }
    }

    public var status: RunStatus {
        switch self {
        case .succeeded: return .succeeded
        case .failed, .preconditionFailed: return .failed
        case .parked: return .parked
        case .interrupted: return .interrupted
        case .rolledBack: return .rolledBack
        case .rollbackFailed: return .rollbackFailed
        }
    }
}

/// What happened to one step instance.
enum NodeOutcome: Sendable {
    case succeeded(changed: Bool, outputs: [String: Value])
    case skipped(String)
    case failed(String, FailurePolicy)
    case parked
    case cancelled
}

/// Walks a plan's DAG: starts step instances when their needs are done, up to `concurrency`
/// at once, journals intent before each effect and the outcome after, and applies the
/// failure policy. The same walker runs a fresh run and a resume.
///
/// Journal commits per step instance: one for a step found already done (its probe, final record
/// and events together), two for a step that changes something (the intent, with the probe's
/// observation, before apply runs; the outcome, with the verify, the final record and the event,
/// after). Probes and verifies read only, so their attempts are journaled after they ran.
public final class Executor: Sendable {
    public let plan: Plan
    public let runID: String
    public let planHash: String
    let journal: any RunJournal
    let hosts: any HostAccess
    let compiler: Compiler
    let options: ExecutionOptions
    let observer: any RunObserver
    let stop: StopController
    let prompter: Prompter?
    /// Chooses hosts, resolves nodes and makes contexts: the same for every phase and caller.
    let nodeRunner: NodeRunner

    public init(
        plan: Plan, runID: String, planHash: String, journal: any RunJournal, hosts: any HostAccess,
        compiler: Compiler, options: ExecutionOptions, observer: any RunObserver, stop: StopController,
        prompter: Prompter? = nil
    ) {
        self.plan = plan
        self.runID = runID
        self.planHash = planHash
        self.journal = journal
        self.hosts = hosts
        self.compiler = compiler
        self.options = options
        self.observer = observer
        self.stop = stop
        self.prompter = prompter
        var nodeRunner = NodeRunner(plan: plan, compiler: compiler, hosts: hosts, outputLimit: options.outputLimit)
        nodeRunner.runEpoch = options.runEpoch
        nodeRunner.runID = runID
        self.nodeRunner = nodeRunner
    }

    func intent(_ commands: [PlannedCommand], fallback: String) -> String {
        let text = commands.map { "[\($0.host)] \($0.command.shellText)" }.joined(separator: "\n")
        return text.isEmpty ? fallback : text
    }

    // MARK: - Preconditions

    /// Runs every precondition in parallel; nil when all hold, else the failure report.
    public func runPreconditions() async -> String? {
        if plan.preconditions.isEmpty { return nil }
        let results = await withTaskGroup(of: (PlanNode, String?).self) { group in
            for node in plan.preconditions {
                group.addTask { (node, await self.runPrecondition(node)) }
            }
            var results: [(PlanNode, String?)] = []
            for await result in group { results.append(result) }
            return results
        }
        let failed = plan.preconditions.compactMap { node in
            results.first { $0.0.id == node.id }?.1.map { (node.id, $0) }
        }
        // An item's failed precondition leaves that item out (on_item_failure: isolate); `run` skips it.
        guard let stop = plan.preconditionsStopRun(failed: failed.map(\.0)) else { return nil }
        let lines = failed.map(\.1) + (stop.budget.map { ["\($0); nothing was started"] } ?? [])
        return lines.joined(separator: "\n")
    }

    func runPrecondition(_ node: PlanNode) async -> String? {
        guard case .failed(let why, _) = await executeNode(node, previous: nil, stepValues: [:]) else { return nil }
        return why
    }

    // MARK: - The walk

    enum WalkEvent: Sendable {
        case node(Int, NodeOutcome)
        case stopRequested(Int32)
        case graceExpired
        case idle
    }

    /// Runs (or resumes) the steps. Preconditions must already have passed.
    ///
    /// The DAG's books (what is ready, one outcome per instance, what will not run and why) are a
    /// `DAGWalk`; each instance's lifecycle is `executeNode` (Executor+Step); what a failure
    /// means for the rest is decided here: its dependents skipped (`continue`, or an item's
    /// step under `on_item_failure: isolate`), its item stopped, or no new starts for the run.
    public func run() async -> RunOutcome {
        let nodes = plan.nodes
        var walk = DAGWalk(ids: nodes.map(\.id)) { nodes[$0].needs }
        let earlier = EarlierAttempts(executor: self, nodes: nodes, dependents: walk.dependents)
        // Every instance has a record from the start, so `status` shows what is still to come.
        var pendingBatch = JournalBatch(runID: runID)
        for node in nodes where earlier.records[node.id] == nil {
            pendingBatch.step(node.id, stepID: node.stepID, host: node.host)
        }
        if !pendingBatch.isEmpty { record(pendingBatch, what: "the pending steps") }

        var running = 0
        var stopLaunching = false
        var interruptedBy: Int32?
        var failures: [StepFailure] = []
        var parked: [String] = []
        let concurrency = max(1, plan.runbook.concurrency)
        // Outputs of steps done in an earlier attempt feed expressions of the ones still to run
        // (per item too: `steps.ID` in an item's instance reads ID's instance for that item).
        var stepValues = StepValues(
            records: nodes.compactMap { earlier.records[$0.id] }, runner: nodeRunner, onlyDone: true)
        // One item's failure stays with the item (on_item_failure: isolate).
        let isolate = plan.runbook.onItemFailure == .isolate
        var items = ItemLedger()
        if isolate { items.excluded = await itemsLeftOut(resuming: !earlier.records.isEmpty) }
        // max_concurrency and max_failed over the items.
        let budgets = ItemBudgets(plan: plan)
        var budget = ItemBudgets.Ledger()
        var budgetExceeded: String?

        /// Journals and shows instances that will not run.
        func journalSkipped(_ indices: [Int], what: String) {
            var batch = JournalBatch(runID: runID)
            for j in indices {
                let node = nodes[j]
                let reason = walk.skipReason(j) ?? ""
                batch.step(node.id, stepID: node.stepID, host: node.host) {
                    $0.state = .skipped
                    $0.error = reason
                }
                batch.events.append(.stepSkipped(.init(step: node.id, host: node.host, reason: reason)))
            }
            guard !batch.isEmpty else { return }
            record(batch, what: what)
            for event in batch.events { tell(event) }
        }
        func skipDependents(of i: Int, because reason: String) {
            journalSkipped(walk.skipDependents(of: i, because: reason), what: "the steps after \(nodes[i].id)")
        }
        /// Skips every instance of the item that has not started, and what needs them.
        func stopItem(_ identity: String, because reason: String) {
            let stopped = nodes.indices.filter {
                nodes[$0].item?.identity == identity && walk.skip($0, because: reason)
            }
            // Undone in an earlier attempt: its record says so and stays.
            journalSkipped(
                stopped.filter { earlier.records[nodes[$0].id] == nil || !undone(nodes[$0]) },
                what: "the steps of an item")
            for j in stopped { skipDependents(of: j, because: "needs \(nodes[j].id), which did not run (\(reason))") }
        }

        await withTaskGroup(of: WalkEvent.self) { group in
            let stop = self.stop
            group.addTask {
                guard let signal = await stop.wait() else { return .idle }
                return .stopRequested(signal)
            }
            func launch() {
                while !stopLaunching, running < concurrency {
                    let next: Int?
                    if budgets.isEmpty {
                        next = walk.next()
                    } else {
                        let changing = budgets.changing(budget, ready: walk.readyVertices.map { nodes[$0] })
                        next = walk.next { budgets.admits(nodes[$0], budget, changing: changing) }
                    }
                    guard let i = next else { break }
                    running += 1
                    let node = nodes[i]
                    budget.didStart(node)
                    let values = stepValues.values(for: node.item)
                    let before = earlier.records[node.id]
                    let appliedBefore = earlier.applied.contains(node.id)
                    let settled = earlier.settled.contains(node.id)
                    group.addTask {
                        if Task.isCancelled { return .node(i, .cancelled) }
                        let outcome = await self.executeNode(
                            node, previous: before, stepValues: values, appliedBefore: appliedBefore, settled: settled)
                        return .node(i, outcome)
                    }
                }
            }

            for (identity, reason) in items.excluded.sorted(by: { $0.key < $1.key }) {
                stopItem(identity, because: reason)
            }
            launch()
            while running > 0 || (walk.hasReady && !stopLaunching) {
                guard let event = await group.next() else { break }
                switch event {
                case .idle:
                    continue
                case .stopRequested(let signal):
                    interruptedBy = signal
                    stopLaunching = true
                    let grace = options.graceSeconds
                    emit(.runStopping(.init(signal: signal, graceSeconds: Int(grace))))
                    group.addTask {
                        try? await sleep(seconds: grace)
                        return Task.isCancelled ? .idle : .graceExpired
                    }
                case .graceExpired:
                    group.cancelAll()
                case .node(let i, let outcome):
                    running -= 1
                    let node = nodes[i]
                    budget.didEnd(node)
                    switch outcome {
                    case .succeeded(_, let outputs):
                        stepValues.succeeded(node, outputs: outputs)
                        walk.passed(i)
                    case .skipped:
                        stepValues.skipped(node)
                        walk.passed(i)
                    case .failed(let why, let policy):
                        walk.failed(i)
                        failures.append(StepFailure(nodeID: node.id, why: why, policy: policy))
                        budget.didFail(node)
                        if budgetExceeded == nil, let over = budgets.exceeded(budget, keys: itemKey) {
                            budgetExceeded = over.summary + "; no further step was started"
                            stopLaunching = true
                            // Said now: the running steps (a checkpoint's wait, say) may take long.
                            emit(
                                .runBudgetExceeded(
                                    .init(
                                        budget: over.budget, items: over.items, running: running,
                                        summary: over.summary + "; no further step starts")))
                        }
                        if isolate, let item = node.item {
                            items.failed(item, at: node.id, why: why, policy: policy)
                            skipDependents(of: i, because: "needs \(node.id), which failed")
                            if policy != .continue {
                                stopItem(item.identity, because: "item [\(item.key)] stopped: \(node.id) failed")
                            }
                        } else if policy == .continue {
                            skipDependents(of: i, because: "needs \(node.id), which failed")
                        } else {
                            stopLaunching = true
                        }
                    case .parked:
                        parked.append(node.id)
                    case .cancelled:
                        break
                    }
                }
                launch()
            }
            group.cancelAll()
        }

        if let signal = interruptedBy { return .interrupted(signal) }
        if let exceeded = budgetExceeded {
            return await finishOverBudget(exceeded, items: items, failures: failures)
        }
        if isolate, !failures.isEmpty || !items.excluded.isEmpty,
            failures.allSatisfy({ nodeRunner.node($0.nodeID)?.item != nil })
        {
            // Only items failed: each one's policy applied to it alone.
            return await finishItems(items, failures: failures)
        }
        if !failures.isEmpty {
            let summary = failures.map(\.line).joined(separator: "\n")
            if failures.contains(where: { $0.policy == .rollback }) {
                return await rollBackWholeRun(reason: "step \(failures[0].nodeID) failed") { summary }
            }
            return .failed(summary)
        }
        if !parked.isEmpty { return .parked(parked) }
        return .succeeded
    }
}

extension Executor {
    /// Whether the instance's record says it was undone (an item's rollback, in an earlier attempt
    /// or in this one's start): read now, since that rollback may have just finished.
    func undone(_ node: PlanNode) -> Bool {
        guard let state = (try? journal.step(runID: runID, nodeID: node.id))??.state else { return false }
        return [.undone, .undoing, .undoFailed].contains(state)
    }
}

/// A step instance that failed in this walk, with the policy its step gives.
struct StepFailure: Sendable {
    let nodeID: String
    let why: String
    let policy: FailurePolicy

    var line: String { "\(nodeID): \(why)" }
}

/// What earlier attempts of this run left in the journal, read once per walk.
struct EarlierAttempts {
    /// Every instance's record from earlier attempts (empty on a fresh run).
    let records: [String: StepRecord]
    /// Instances with an apply attempt in an earlier attempt.
    let applied: Set<String>
    /// Instances done earlier whose dependents are all done too: not re-verified.
    let settled: Set<String>

    init(executor: Executor, nodes: [PlanNode], dependents: [[Int]]) {
        let list = (try? executor.journal.steps(runID: executor.runID)) ?? []
        let records = Dictionary(list.map { ($0.nodeID, $0) }, uniquingKeysWith: { $1 })
        self.records = records
        // Only a resume can find steps applied in an earlier attempt (read once, not per step).
        applied =
            records.isEmpty
            ? []
            : Set(
                ((try? executor.journal.attempts(runID: executor.runID)) ?? []).filter { $0.phase == .apply }.map(
                    \.nodeID))
        // A step done in an earlier attempt is re-verified on resume only while a step that needs
        // it is still to run: once every step after it is done, a later step may have undone its
        // effect on purpose (a failback deletes the reverse session it created), and probing it
        // again would call that a changed world.
        func isDone(_ record: StepRecord?) -> Bool { record?.state == .succeeded || record?.state == .alreadyDone }
        settled = Set(
            nodes.indices.filter { i in
                isDone(records[nodes[i].id]) && !dependents[i].isEmpty
                    && dependents[i].allSatisfy { isDone(records[nodes[$0].id]) }
            }.map { nodes[$0].id })
    }
}
