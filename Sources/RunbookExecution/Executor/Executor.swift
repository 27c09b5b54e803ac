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

    /// Whether a person can answer at the terminal.
    public var interactive = false
    public var outputLimit = 64 * 1024
    /// Seconds running commands get after SIGINT/SIGTERM before they are killed.
    public var graceSeconds: Double = 10
    /// Seconds between retries when a step gives no `retry_delay`.
    public var defaultRetryDelay: Double = 2
    /// How often a waiting approval gate looks for `runbook approve` from another shell.
    public var approvalPollSeconds: Double = 1

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
        self.nodeRunner = NodeRunner(plan: plan, compiler: compiler, hosts: hosts, outputLimit: options.outputLimit)
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
        if failed.allSatisfy({ !plan.preconditionFailureStopsRun($0.0) }) { return nil }
        return failed.map(\.1).joined(separator: "\n")
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
    public func run() async -> RunOutcome {
        let nodes = plan.nodes
        var index: [String: Int] = [:]
        for (i, node) in nodes.enumerated() { index[node.id] = i }
        var dependents = [[Int]](repeating: [], count: nodes.count)
        var remaining = [Int](repeating: 0, count: nodes.count)
        for (i, node) in nodes.enumerated() {
            for need in node.needs {
                if let j = index[need] {
                    dependents[j].append(i)
                    remaining[i] += 1
                }
            }
        }
        let records = (try? journal.steps(runID: runID)) ?? []
        let previous = Dictionary(records.map { ($0.nodeID, $0) }, uniquingKeysWith: { $1 })
        // Only a resume can find steps applied in an earlier attempt (read once, not per step).
        let applied =
            previous.isEmpty
            ? [] : Set(((try? journal.attempts(runID: runID)) ?? []).filter { $0.phase == .apply }.map(\.nodeID))
        // A step done in an earlier attempt is re-verified on resume only while a step that needs
        // it is still to run: once every step after it is done, a later step may have undone its
        // effect on purpose (a failback deletes the reverse session it created), and probing it
        // again would call that a changed world.
        func isDone(_ record: StepRecord?) -> Bool { record?.state == .succeeded || record?.state == .alreadyDone }
        let settled = Set(
            nodes.indices.filter { i in
                isDone(previous[nodes[i].id]) && !dependents[i].isEmpty
                    && dependents[i].allSatisfy { isDone(previous[nodes[$0].id]) }
            }.map { nodes[$0].id })
        // Every instance has a record from the start, so `status` shows what is still to come.
        var pendingBatch = JournalBatch(runID: runID)
        for node in nodes where previous[node.id] == nil {
            pendingBatch.step(node.id, stepID: node.stepID, host: node.host)
        }
        if !pendingBatch.isEmpty { record(pendingBatch, what: "the pending steps") }

        var ready = (0..<nodes.count).filter { remaining[$0] == 0 }
        var running = 0
        var stopLaunching = false
        var interruptedBy: Int32?
        var failures: [(String, String, FailurePolicy)] = []
        var parked: [String] = []
        let concurrency = max(1, plan.runbook.concurrency)

        // Outputs of steps done in an earlier attempt feed expressions of the ones still to run
        // (per item too: `steps.ID` in an item's instance reads ID's instance for that item).
        let done = nodes.compactMap { previous[$0.id] }
        var stepValues = StepValues(records: done, runner: nodeRunner, onlyDone: true)

        // One item's failure stays with the item (on_item_failure: isolate).
        let isolate = plan.runbook.onItemFailure == .isolate
        var failedItems: [String: (item: PlanItem, nodeID: String, why: String, policy: FailurePolicy)] = [:]
        var failedItemOrder: [String] = []
        var skipped = Set<Int>()  // instances that will not start (a step they need failed, their item stopped)
        var launched = Set<Int>()
        // Items whose precondition failed (this attempt or an earlier one): left out of the run.
        var excludedItems =
            isolate && plan.preconditions.contains(where: { $0.item != nil }) ? excludedByPreconditions() : [:]
        // An item rolled back in an earlier attempt stays rolled back: its rollback is finished
        // (it may have been cut short) and its steps are not applied again; the others go on.
        var finishedItemRollbacks: [String: String] = [:]
        if isolate, !previous.isEmpty {
            let rollback = Rollback(executor: self)
            for (identity, item) in rollback.itemsRolledBack().sorted(by: { $0.key < $1.key }) {
                if !rollback.entries(pastCommit: false, item: item).entries.isEmpty {
                    let result = await rollback.run(
                        pastCommit: false, dryRun: false, reason: "resume: item [\(item.key)] was being rolled back",
                        item: item)
                    finishedItemRollbacks[identity] =
                        result.failed.isEmpty ? "" : "; \(result.failed.count) undo(s) failed again"
                }
                excludedItems[identity] =
                    "item [\(item.key)] left out: it was rolled back in an earlier attempt of this run"
                    + (finishedItemRollbacks[identity] ?? "")
            }
        }

        func skipDependents(of i: Int, because reason: String) {
            var queue = dependents[i]
            var seen = Set<Int>()
            var batch = JournalBatch(runID: runID)
            while let j = queue.popLast() {
                guard seen.insert(j).inserted, !launched.contains(j), !skipped.contains(j) else { continue }
                skipped.insert(j)
                let node = nodes[j]
                batch.step(node.id, stepID: node.stepID, host: node.host) {
                    $0.state = .skipped
                    $0.error = reason
                }
                batch.events.append(.stepSkipped(.init(step: node.id, host: node.host, reason: reason)))
                queue.append(contentsOf: dependents[j])
            }
            record(batch, what: "the steps after \(nodes[i].id)")
            for event in batch.events { tell(event) }
        }

        /// Skips every instance of `item` that has not started, and what needs them.
        func stopItem(_ identity: String, because reason: String) {
            var batch = JournalBatch(runID: runID)
            var stopped: [Int] = []
            for (j, node) in nodes.enumerated()
            where node.item?.identity == identity && !launched.contains(j) && !skipped.contains(j) {
                skipped.insert(j)
                stopped.append(j)
                // Undone in an earlier attempt: its record says so and stays.
                if previous[node.id] != nil, let state = (try? journal.step(runID: runID, nodeID: node.id))??.state,
                    [.undone, .undoing, .undoFailed].contains(state)
                {
                    continue
                }
                batch.step(node.id, stepID: node.stepID, host: node.host) {
                    $0.state = .skipped
                    $0.error = reason
                }
                batch.events.append(.stepSkipped(.init(step: node.id, host: node.host, reason: reason)))
            }
            ready.removeAll { skipped.contains($0) }
            if !batch.isEmpty {
                record(batch, what: "the steps of an item")
                for event in batch.events { tell(event) }
            }
            for j in stopped { skipDependents(of: j, because: "needs \(nodes[j].id), which did not run (\(reason))") }
        }

        await withTaskGroup(of: WalkEvent.self) { group in
            let stop = self.stop
            group.addTask {
                guard let signal = await stop.wait() else { return .idle }
                return .stopRequested(signal)
            }

            func launch() {
                while !stopLaunching, running < concurrency, !ready.isEmpty {
                    ready.sort()
                    let i = ready.removeFirst()
                    if skipped.contains(i) { continue }
                    running += 1
                    launched.insert(i)
                    let node = nodes[i]
                    let values = stepValues.values(for: node.item)
                    let before = previous[node.id]
                    let appliedBefore = applied.contains(node.id)
                    group.addTask {
                        if Task.isCancelled { return .node(i, .cancelled) }
                        let outcome = await self.executeNode(
                            node, previous: before, stepValues: values, appliedBefore: appliedBefore,
                            settled: settled.contains(node.id))
                        return .node(i, outcome)
                    }
                }
            }

            for (identity, reason) in excludedItems.sorted(by: { $0.key < $1.key }) {
                stopItem(identity, because: reason)
            }
            launch()
            while running > 0 || (!ready.isEmpty && !stopLaunching) {
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
                    switch outcome {
                    case .succeeded(_, let outputs):
                        stepValues.succeeded(node, outputs: outputs)
                        fallthrough
                    case .skipped:
                        if case .skipped = outcome { stepValues.skipped(node) }
                        for j in dependents[i] {
                            remaining[j] -= 1
                            if remaining[j] == 0, !skipped.contains(j) { ready.append(j) }
                        }
                    case .failed(let why, let policy):
                        failures.append((node.id, why, policy))
                        if isolate, let item = node.item {
                            if failedItems[item.identity] == nil {
                                failedItems[item.identity] = (item, node.id, why, policy)
                                failedItemOrder.append(item.identity)
                            }
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
        let wholeRunFailures = failures.filter { !isolate || nodeRunner.node($0.0)?.item == nil }
        if isolate, wholeRunFailures.isEmpty, !failures.isEmpty || !excludedItems.isEmpty {
            // Only items failed: each one's policy applied to it alone; roll back those that ask.
            var notes: [String: String] = [:]
            var rollbackFailed: [String] = []
            var rolledBack = false
            for identity in failedItemOrder {
                guard let failed = failedItems[identity], failed.policy == .rollback else { continue }
                rolledBack = true
                let result = await Rollback(executor: self).run(
                    pastCommit: false, dryRun: false, reason: "step \(failed.nodeID) failed", item: failed.item)
                notes[identity] =
                    "rolled back \(result.undone.count) step\(result.undone.count == 1 ? "" : "s")"
                    + (result.stoppedAt.map { ", stopping at commit point \($0)" } ?? "")
                    + (result.failed.isEmpty ? "" : "; \(result.failed.count) undo(s) failed")
                rollbackFailed.append(contentsOf: result.failed)
            }
            var lines = failures.map { "\($0.0): \($0.1)" }
            lines.append(
                "per item (on_item_failure: isolate\(rolledBack ? "; only the failed items were rolled back" : "")):")
            lines.append(
                contentsOf: itemSummary(
                    failed: failedItems.mapValues { ($0.nodeID, $0.why) }, excluded: excludedItems, notes: notes
                ).map { "  " + $0 })
            let summary = lines.joined(separator: "\n")
            if !rollbackFailed.isEmpty {
                return .rollbackFailed(summary + "\n" + Rollback.incomplete(rollbackFailed))
            }
            // The run as a whole was not rolled back: the other items stand (resume, or roll back the rest).
            return .failed(summary)
        }
        if !failures.isEmpty {
            let summary = failures.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
            if failures.contains(where: { $0.2 == .rollback }) {
                let rollback = Rollback(executor: self)
                let result = await rollback.run(
                    pastCommit: false, dryRun: false, reason: "step \(failures[0].0) failed")
                return result.failed.isEmpty
                    ? .rolledBack(summary) : .rollbackFailed(summary + "\n" + Rollback.incomplete(result.failed))
            }
            return .failed(summary)
        }
        if !parked.isEmpty { return .parked(parked) }
        return .succeeded
    }

    // MARK: - One step instance

    func executeNode(
        _ planned: PlanNode, previous: StepRecord?, stepValues: [String: Value], appliedBefore: Bool = false,
        settled: Bool = false
    ) async -> NodeOutcome {
        if settled, let previous, previous.state == .succeeded || previous.state == .alreadyDone {
            let summary = "done in an earlier attempt; every step after it is done too, so it is not re-verified"
            emit(.stepVerified(.init(step: planned.id, host: previous.host ?? planned.host, summary: summary)))
            return .succeeded(changed: previous.changed, outputs: ValueJSON.decode(previous.outputsJSON))
        }
        // Choose the host of any(role) (the first that answers), then resolve once with what
        // earlier steps produced.
        let resolvedNode: PlanNode
        let host: String
        switch await nodeRunner.prepare(planned, stepValues: stepValues, runID: runID) {
        case .failure(let failure):
            return fail(planned, host: planned.host, failure.message, finishedAt: nil)
        case .success(let prepared):
            (resolvedNode, host) = prepared
        }
        let node: PlanNode
        switch keepToTakenAlternative(
            planned, resolved: resolvedNode, host: host, previous: previous, stepValues: stepValues,
            appliedBefore: appliedBefore)
        {
        case .failure(let failure): return fail(planned, host: host, failure.message)
        case .success(let kept): node = kept
        }
        switch node.effect {
        case .skipped(let why):
            skip(node, host: host, why, error: nil, finishedAt: Date())
            return .skipped(why)
        case .unknown(let why) where node.kind == .choose && node.choice?.chosen == nil,
            .unknown(let why) where node.when?.result == nil && node.when != nil:
            let reason =
                "\(why), but its values are still unknown (a step it reads was skipped or produced no such output)"
            skip(node, host: host, reason, error: reason, finishedAt: nil)
            return .skipped(reason)
        default:
            break
        }

        switch node.kind {
        case .gate:
            return await runGate(node, host: host, previous: previous, stepValues: stepValues)
        case .probe:
            return await runProbe(node, host: host)
        case .action, .choose:
            return await runAction(node, host: host, previous: previous, appliedBefore: appliedBefore)
        }
    }

    /// A `choose` decided at run time that may have applied its alternative in an earlier attempt
    /// keeps to the alternative journaled then: when its conditions now pick another one, the step
    /// fails saying so (applying that one on top would change the world twice); when the values
    /// they read are unknown now, it is the journaled one that is re-verified.
    func keepToTakenAlternative(
        _ planned: PlanNode, resolved node: PlanNode, host: String, previous: StepRecord?,
        stepValues: [String: Value], appliedBefore: Bool
    ) -> Result<PlanNode, NodeFailure> {
        guard planned.undecidedChoice, let previous, let taken = previous.chosenAlternative,
            let alternatives = node.choice?.alternatives, alternatives.indices.contains(taken),
            previous.state == .succeeded || previous.state == .alreadyDone || previous.changed || appliedBefore
        else { return .success(node) }
        if case .skipped = node.effect, node.choice?.chosen != nil { return .success(node) }  // by mode or when
        let now = node.choice?.chosen
        if now == taken { return .success(node) }
        if now == nil, case .unknown = node.effect {
            return nodeRunner.resolve(planned, host: host, stepValues: stepValues, runID: runID, alternative: taken)
        }
        let what = now.map { "alternative \($0 + 1) would be chosen" } ?? "no alternative would be chosen"
        let reasons = alternatives.prefix(max(taken, now ?? -1) + 1).compactMap(\.condition).map { report in
            "\(report.source) is \(report.result.map(String.init) ?? "unknown")"
                + (report.values.isEmpty ? "" : " (\(report.values.joined(separator: ", ")))")
        }
        return .failure(
            NodeFailure(
                "chose alternative \(taken + 1) when it ran; now \(what): \(reasons.joined(separator: "; "))."
                    + " It is not applied on top of the one applied: inspect \(host), then roll back (which undoes"
                    + " alternative \(taken + 1)), or resume once alternative \(taken + 1) is chosen again"))
    }

    func context(_ node: PlanNode, host: String, phase: PlannedCommand.Purpose, log: CommandLog? = nil)
        -> ActionContext
    {
        nodeRunner.context(node, host: host, phase: phase, timeout: node.timeout, log: log)
    }

    /// What a phase ran, for its attempt record.
    static func ran(_ log: CommandLog) -> [RanCommand] {
        log.commands.map { RanCommand(host: $0.host, argv: $0.command.argv) }
    }

    // MARK: Actions

    func runAction(_ node: PlanNode, host: String, previous: StepRecord?, appliedBefore: Bool) async -> NodeOutcome {
        guard let type = nodeRunner.type(of: node) else {
            return fail(node, host: host, "no implementation for action type '\(node.typeName)' in this build")
        }
        let wasDone = previous?.state == .succeeded || previous?.state == .alreadyDone
        // Only a step with a record from an earlier attempt can have been applied before.
        let appliedBefore = previous?.changed == true || (previous != nil && appliedBefore)
        let changesWorld = type.descriptor.changes
        // What can say "done" again: an action that changes something and whose probe can tell
        // (a shell step's `check`; a checkpoint changes nothing that could be read back).
        let hasCheck = changesWorld && type.runsEveryTime(node.arguments) == nil
        if wasDone, !hasCheck {
            // Nothing can re-verify it: the journal says done, so it is not run again.
            let summary = "done in an earlier attempt (no check to re-verify)"
            emit(.stepVerified(.init(step: node.id, host: host, summary: summary)))
            return .succeeded(changed: previous?.changed ?? false, outputs: ValueJSON.decode(previous?.outputsJSON))
        }

        var attempt = previous?.attempts ?? 0
        let startedAt = Date()
        // Shown now, journaled with the step's first commit.
        var unjournaled: [RunEvent] = [.stepStarted(.init(step: node.id, host: host, actionType: node.typeName))]
        tell(unjournaled[0])
        var lastError = ""
        for round in 0...node.retries {
            if round > 0 {
                // The retry event was journaled with the failed attempt.
                do {
                    try await sleep(seconds: node.retryDelay ?? options.defaultRetryDelay)
                } catch {
                    return cancelled(node, host: host)
                }
            }
            attempt += 1
            var done: [AttemptWrite] = []  // attempts of this round that ran, not journaled yet
            var probing: AttemptStart?
            var applyID: Int64?
            var applied = false
            var verifying: AttemptStart?
            func progress(_ change: @escaping (inout StepRecord) -> Void = { _ in }) -> JournalBatch {
                var batch = JournalBatch(runID: runID)
                let number = attempt
                batch.step(node.id, stepID: node.stepID, host: host) {
                    $0.startedAt = $0.startedAt ?? startedAt
                    $0.attempts = number
                    // The alternative a `choose` took, with its first commit (before it applies).
                    if node.kind == .choose, let chosen = node.choice?.chosen { $0.chosenAlternative = chosen }
                    change(&$0)
                }
                batch.attempts = done
                batch.events = unjournaled
                done = []
                unjournaled = []
                return batch
            }
            do {
                // Probe: is it already done? (A shell step without `check` has nothing to ask.)
                let observation: Observation
                if hasCheck {
                    let log = CommandLog()
                    let probeCommands = node.commands.filter { $0.purpose == .probe }
                    probing = AttemptStart(
                        nodeID: node.id, phase: .probe, number: attempt,
                        intent: intent(probeCommands, fallback: "probe \(node.typeName)"))
                    observation = try await type.probe(context(node, host: host, phase: .probe, log: log))
                    done.append(.record(probing!, Self.end(observation, log: log)))
                    probing = nil
                } else {
                    observation = try await type.probe(context(node, host: host, phase: .probe))
                }
                if observation.done {
                    let changed = appliedBefore
                    let state: StepState = changed ? .succeeded : .alreadyDone
                    let summary = wasDone ? "re-verified: \(observation.summary)" : observation.summary
                    let outputs = ValueJSON.encode(observation.outputs)
                    let finished = RunEvent.stepFinished(
                        .init(step: node.id, host: host, state: state, summary: summary))
                    var batch = progress {
                        $0.state = state
                        $0.changed = changed
                        $0.error = nil
                        $0.finishedAt = $0.finishedAt ?? Date()
                        if $0.outputsJSON == nil { $0.outputsJSON = outputs }
                    }
                    batch.steps[0].completes = changed
                    batch.events.append(finished)
                    record(batch, what: "step \(node.id)")
                    tell(finished)
                    let values =
                        observation.outputs.isEmpty ? ValueJSON.decode(previous?.outputsJSON) : observation.outputs
                    return .succeeded(changed: changed, outputs: values)
                }
                if wasDone {
                    return fail(
                        node, host: host,
                        "was done in an earlier attempt of this run, but now \(observation.summary): the world changed"
                            + " since; inspect \(host), then resume again or roll back",
                        batch: progress())
                }
                if Task.isCancelled { return cancelled(node, host: host, batch: progress()) }

                // The intent, with what the probe observed, is durable before apply runs.
                let applyCommands = node.commands.filter { $0.purpose == .apply }
                let start = AttemptStart(
                    nodeID: node.id, phase: .apply, number: attempt,
                    intent: intent(applyCommands, fallback: "apply \(node.typeName)"))
                let undoState = observation.undoState
                let unwritten = (done, unjournaled)
                var intentBatch = progress {
                    $0.state = .running
                    $0.error = nil
                    if let undoState { $0.observedJSON = undoState }
                }
                intentBatch.attempts.append(.begin(start))
                do {
                    applyID = try journal.commit(intentBatch).attemptIDs.last
                } catch {
                    (done, unjournaled) = unwritten  // nothing was applied; the failure journals them
                    throw error
                }

                let applyLog = CommandLog()
                let effect = try await type.apply(
                    context(node, host: host, phase: .apply, log: applyLog), observation: observation)
                applied = true
                let outcome =
                    effect.succeeded
                    ? AttemptOutcome.ok
                    : (effect.result?.timedOut == true ? AttemptOutcome.timedOut : AttemptOutcome.failed)
                done.append(.finish(id: applyID!, Self.end(effect, outcome: outcome, log: applyLog)))
                applyID = nil
                // Whatever apply did, it may have changed the world: rollback must consider it.
                // (A crash before the outcome is journaled leaves the apply attempt in flight,
                // which a resume reads.)
                if Task.isCancelled {
                    return cancelled(node, host: host, batch: progress { if changesWorld { $0.changed = true } })
                }
                if effect.succeeded {
                    let verifyCommands = node.commands.filter { $0.purpose == .verify }
                    var verified = effect
                    if !verifyCommands.isEmpty {
                        let verifyLog = CommandLog()
                        verifying = AttemptStart(
                            nodeID: node.id, phase: .verify, number: attempt,
                            intent: intent(verifyCommands, fallback: "verify"))
                        verified = try await type.verify(context(node, host: host, phase: .verify, log: verifyLog))
                        let outcome = verified.succeeded ? AttemptOutcome.ok : AttemptOutcome.failed
                        done.append(.record(verifying!, Self.end(verified, outcome: outcome, log: verifyLog)))
                        verifying = nil
                    }
                    if verified.succeeded {
                        let outputs = ValueJSON.encode(effect.outputs)
                        let finished = RunEvent.stepFinished(
                            .init(step: node.id, host: host, state: .succeeded, summary: effect.summary))
                        var batch = progress {
                            $0.state = .succeeded
                            $0.changed = changesWorld
                            $0.finishedAt = Date()
                            $0.outputsJSON = outputs
                        }
                        batch.steps[0].completes = true
                        batch.events.append(finished)
                        record(batch, what: "step \(node.id)")
                        tell(finished)
                        return .succeeded(changed: changesWorld, outputs: effect.outputs)
                    }
                    lastError = verified.summary
                } else {
                    lastError = effect.summary
                }
            } catch {
                let why = attemptError(error, host: host)
                let end = Self.end(error, why: why)
                if let probing { done.append(.record(probing, end)) }
                if let applyID { done.append(.finish(id: applyID, end)) }
                if let verifying { done.append(.record(verifying, end)) }
                guard let why else {
                    return cancelled(
                        node, host: host, batch: progress { if applied && changesWorld { $0.changed = true } })
                }
                lastError = why
            }
            // This attempt failed: journal its outcome with what comes next (a retry, or the end).
            let batch = progress { if applied && changesWorld { $0.changed = true } }
            if round == node.retries { return fail(node, host: host, lastError, batch: batch) }
            let delay = node.retryDelay ?? options.defaultRetryDelay
            let retry = RunEvent.stepRetry(
                .init(
                    step: node.id, host: host, attempt: round + 2, of: node.retries + 1, afterSeconds: delay,
                    error: lastError))
            var retryBatch = batch
            retryBatch.events.append(retry)
            record(retryBatch, what: "step \(node.id)")
            tell(retry)
        }
        return fail(node, host: host, lastError)
    }

    /// What a failed attempt says, or nil when it was cancelled (the run is stopping).
    func attemptError(_ error: any Error, host: String) -> String? {
        if let transport = error as? TransportError {
            return transport.kind == .cancelled ? nil : transport.explanation(on: host)
        }
        return Task.isCancelled ? nil : "\(error)"
    }

    // MARK: Probes

    func runProbe(_ node: PlanNode, host: String) async -> NodeOutcome {
        guard let type = nodeRunner.type(of: node) else {
            return fail(node, host: host, "no implementation for probe type '\(node.typeName)' in this build")
        }
        let startedAt = Date()
        // Shown now, journaled with the probe's result: a probe changes nothing.
        var unjournaled: [RunEvent] = [.stepStarted(.init(step: node.id, host: host, actionType: node.typeName))]
        tell(unjournaled[0])
        var lastError = ""
        var done: [AttemptWrite] = []
        func progress(_ change: @escaping (inout StepRecord) -> Void) -> JournalBatch {
            var batch = JournalBatch(runID: runID)
            batch.step(node.id, stepID: node.stepID, host: host) {
                $0.startedAt = $0.startedAt ?? startedAt
                change(&$0)
            }
            batch.attempts = done
            batch.events = unjournaled
            done = []
            unjournaled = []
            return batch
        }
        for round in 0...node.retries {
            if round > 0 {
                do {
                    try await sleep(seconds: node.retryDelay ?? options.defaultRetryDelay)
                } catch {
                    return cancelled(node, host: host, batch: progress { _ in })
                }
            }
            let start = AttemptStart(
                nodeID: node.id, phase: .probe, number: round + 1,
                intent: intent(node.commands, fallback: "probe \(node.typeName)"))
            let log = CommandLog()
            do {
                let observation = try await type.probe(context(node, host: host, phase: .probe, log: log))
                done.append(.record(start, Self.end(observation, outcome: AttemptOutcome.ok, log: log)))
                if let failure = checkExpectation(node, outputs: observation.outputs) {
                    // The probe's own summary says it in full (the observed values are cut at 80 characters).
                    lastError = failure + "; \(node.typeName) on \(host): \(observation.summary)"
                } else {
                    let outputs = ValueJSON.encode(observation.outputs)
                    let finished = RunEvent.stepFinished(
                        .init(step: node.id, host: host, state: .succeeded, summary: observation.summary))
                    var batch = progress {
                        $0.state = .succeeded
                        $0.finishedAt = Date()
                        $0.outputsJSON = outputs
                    }
                    batch.events.append(finished)
                    record(batch, what: "step \(node.id)")
                    tell(finished)
                    return .succeeded(changed: false, outputs: observation.outputs)
                }
            } catch {
                let why = attemptError(error, host: host)
                done.append(.record(start, Self.end(error, why: why)))
                guard let why else { return cancelled(node, host: host, batch: progress { _ in }) }
                lastError = why
            }
            // A failed round is journaled at once, so a probe that waits between retries shows.
            if round < node.retries { record(progress { $0.state = .running }, what: "step \(node.id)") }
        }
        return fail(node, host: host, lastError, batch: progress { _ in })
    }

    /// nil when the probe's expectation holds, else what failed with the values it read.
    func checkExpectation(_ node: PlanNode, outputs: [String: Value]) -> String? {
        LivePlanner.expectationFailure(node, outputs: outputs, context: plan.context)
    }
}
