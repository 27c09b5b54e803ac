import Foundation
import RunbookCore

/// How a run is carried out.
public struct ExecutionOptions: Sendable {
    /// Gates approved on the command line (`--approve GATE`).
    public var approvals: Set<String> = []
    /// Who approves with `--approve` or at the terminal.
    public var approver: String = ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
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
        case .failed, .rolledBack, .rollbackFailed: return 1
        case .preconditionFailed: return 3
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
public final class Executor: Sendable {
    public let plan: Plan
    public let runID: String
    public let planHash: String
    let journal: Journal
    let hosts: HostPool
    let runtimes: [String: any ExecutableAction]
    let compiler: Compiler
    let options: ExecutionOptions
    let observer: any RunObserver
    let stop: StopController
    let prompter: Prompter?

    public init(plan: Plan, runID: String, planHash: String, journal: Journal, hosts: HostPool, runtimes: [String: any ExecutableAction],
                compiler: Compiler, options: ExecutionOptions, observer: any RunObserver, stop: StopController, prompter: Prompter? = nil) {
        self.plan = plan
        self.runID = runID
        self.planHash = planHash
        self.journal = journal
        self.hosts = hosts
        self.runtimes = runtimes
        self.compiler = compiler
        self.options = options
        self.observer = observer
        self.stop = stop
        self.prompter = prompter
    }

    // MARK: - Journal and events

    func emit(_ event: RunEvent, transaction: JournalTransaction? = nil) {
        do {
            if let transaction {
                _ = try transaction.appendEvent(runID: runID, type: event.type, step: event.step, host: event.host, payload: event.fields)
            } else {
                try journal.appendEvent(runID: runID, type: event.type, step: event.step, host: event.host, payload: event.fields)
            }
        } catch {
            FileHandle.standardError.write(Data("runbook: warning: could not journal event \(event.type): \(error)\n".utf8))
        }
        observer.record(event, runID: runID)
    }

    /// Updates a step's record and journals its event in one transaction.
    func record(_ node: PlanNode, host: String, _ update: (inout StepRecord) -> Void, event: RunEvent?, completes: Bool = false) {
        do {
            try journal.write { tx in
                var step = try tx.step(runID: runID, nodeID: node.id) ?? StepRecord(runID: runID, nodeID: node.id, stepID: node.stepID, host: host)
                step.host = host
                update(&step)
                if completes, step.completionSeq == nil { step.completionSeq = try tx.nextCompletionSeq(runID: runID) }
                try tx.upsertStep(step)
                if let event {
                    _ = try tx.appendEvent(runID: runID, type: event.type, step: event.step, host: event.host, payload: event.fields)
                }
            }
        } catch {
            FileHandle.standardError.write(Data("runbook: warning: could not journal step \(node.id): \(error)\n".utf8))
        }
        if let event { observer.record(event, runID: runID) }
    }

    func runner() -> @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult {
        let hosts = self.hosts
        return { host, command, timeout, limit in
            try await hosts.run(on: host, command, timeout: timeout, outputLimit: limit)
        }
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
        let failures = plan.preconditions.compactMap { node in results.first { $0.0.id == node.id }?.1 }
        return failures.isEmpty ? nil : failures.joined(separator: "\n")
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
                if let j = index[need] { dependents[j].append(i); remaining[i] += 1 }
            }
        }
        let previous = Dictionary(((try? journal.steps(runID: runID)) ?? []).map { ($0.nodeID, $0) }, uniquingKeysWith: { $1 })
        // Every instance has a record from the start, so `status` shows what is still to come.
        do {
            try journal.write { tx in
                for node in nodes where previous[node.id] == nil {
                    try tx.upsertStep(StepRecord(runID: runID, nodeID: node.id, stepID: node.stepID, host: node.host))
                }
            }
        } catch {
            FileHandle.standardError.write(Data("runbook: warning: could not journal the pending steps: \(error)\n".utf8))
        }

        var ready = (0..<nodes.count).filter { remaining[$0] == 0 }
        var running = 0
        var stopLaunching = false
        var interruptedBy: Int32?
        var failures: [(String, String, FailurePolicy)] = []
        var parked: [String] = []
        var stepValues: [String: Value] = [:]
        var instanceOutputs: [String: [String: Value]] = [:]  // stepID -> outputs of its first instance
        let concurrency = max(1, plan.runbook.concurrency)

        // Outputs of steps done in an earlier attempt feed expressions of the ones still to run.
        for node in nodes {
            if let record = previous[node.id], record.state == .succeeded || record.state == .alreadyDone {
                stepValues[node.stepID] = .map(["outputs": .map(ValueJSON.decode(record.outputsJSON)), "status": .string(record.state.rawValue)])
            }
        }

        func skipDependents(of i: Int, because reason: String) {
            var queue = dependents[i]
            var seen = Set<Int>()
            while let j = queue.popLast() {
                guard seen.insert(j).inserted else { continue }
                record(nodes[j], host: nodes[j].host, { $0.state = .skipped; $0.error = reason },
                       event: RunEvent("step.skipped", step: nodes[j].id, host: nodes[j].host, fields: ["reason": reason]))
                queue.append(contentsOf: dependents[j])
            }
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
                    running += 1
                    let node = nodes[i]
                    let values = stepValues
                    let before = previous[node.id]
                    group.addTask {
                        if Task.isCancelled { return .node(i, .cancelled) }
                        return .node(i, await self.executeNode(node, previous: before, stepValues: values))
                    }
                }
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
                    emit(RunEvent("run.stopping", fields: ["signal": "\(signal)", "grace_seconds": "\(Int(grace))"]))
                    group.addTask {
                        try? await Task.sleep(for: .seconds(grace))
                        return Task.isCancelled ? .idle : .graceExpired
                    }
                case .graceExpired:
                    group.cancelAll()
                case .node(let i, let outcome):
                    running -= 1
                    let node = nodes[i]
                    switch outcome {
                    case .succeeded(_, let outputs):
                        if instanceOutputs[node.stepID] == nil {
                            instanceOutputs[node.stepID] = outputs
                            stepValues[node.stepID] = .map(["outputs": .map(outputs), "status": .string("succeeded")])
                        }
                        fallthrough
                    case .skipped:
                        if case .skipped = outcome, stepValues[node.stepID] == nil {
                            stepValues[node.stepID] = .map(["outputs": .map([:]), "status": .string("skipped")])
                        }
                        for j in dependents[i] {
                            remaining[j] -= 1
                            if remaining[j] == 0 { ready.append(j) }
                        }
                    case .failed(let why, let policy):
                        failures.append((node.id, why, policy))
                        if policy == .continue {
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
        if !failures.isEmpty {
            let summary = failures.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
            if failures.contains(where: { $0.2 == .rollback }) {
                let rollback = Rollback(executor: self)
                let result = await rollback.run(pastCommit: false, dryRun: false, reason: "step \(failures[0].0) failed")
                return result.failed.isEmpty ? .rolledBack(summary) : .rollbackFailed(summary + "\n" + result.failed.joined(separator: "\n"))
            }
            return .failed(summary)
        }
        if !parked.isEmpty { return .parked(parked) }
        return .succeeded
    }

    // MARK: - One step instance

    func executeNode(_ planned: PlanNode, previous: StepRecord?, stepValues: [String: Value]) async -> NodeOutcome {
        // Choose the host of any(role): the first that answers.
        var host = planned.host
        var skippedByMode = false
        if case .skipped = planned.effect { skippedByMode = true }  // needs no host: do not wait on one
        if !planned.candidates.isEmpty, !skippedByMode {
            let (chosen, errors) = await hosts.firstReachable(planned.candidates, key: planned.target)
            guard let chosen else {
                let detail = planned.candidates.map { "\($0): \(errors[$0] ?? "unreachable")" }.joined(separator: "; ")
                let why = "no host of \(planned.target) answered (\(detail))"
                record(planned, host: host, { $0.state = .failed; $0.error = why }, event: RunEvent("step.finished", step: planned.id, host: host, fields: ["state": "failed", "error": why]))
                return .failed(why, planned.onFailure)
            }
            host = chosen
        }

        // Resolve again with what earlier steps produced.
        var diagnostics = Diagnostics()
        guard let node = compiler.resolve(planned, in: plan, stepValues: stepValues, host: host, runID: runID, diagnostics: &diagnostics) else {
            let why = diagnostics.errors.map(\.description).joined(separator: "; ")
            record(planned, host: host, { $0.state = .failed; $0.error = why }, event: RunEvent("step.finished", step: planned.id, host: host, fields: ["state": "failed", "error": why]))
            return .failed(why, planned.onFailure)
        }
        switch node.effect {
        case .skipped(let why):
            record(node, host: host, { $0.state = .skipped; $0.error = nil; $0.finishedAt = Date() },
                   event: RunEvent("step.skipped", step: node.id, host: host, fields: ["reason": why]))
            return .skipped(why)
        case .unknown(let why) where node.kind == .choose && node.choice?.chosen == nil, .unknown(let why) where node.when?.result == nil && node.when != nil:
            let reason = "\(why), but its values are still unknown (a step it reads was skipped or produced no such output)"
            record(node, host: host, { $0.state = .skipped; $0.error = reason }, event: RunEvent("step.skipped", step: node.id, host: host, fields: ["reason": reason]))
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
            return await runAction(node, host: host, previous: previous)
        }
    }

    func context(_ node: PlanNode, host: String) -> ActionContext {
        ActionContext(node: node, host: host, timeout: node.timeout, outputLimit: options.outputLimit, runner: runner())
    }

    func runtime(for node: PlanNode) -> (any ExecutableAction)? { runtimes[node.typeName] }

    // MARK: Actions

    func runAction(_ node: PlanNode, host: String, previous: StepRecord?) async -> NodeOutcome {
        guard let runtime = runtime(for: node) else {
            return fail(node, host: host, "no implementation for action type '\(node.typeName)' in this build")
        }
        let context = context(node, host: host)
        let wasDone = previous?.state == .succeeded || previous?.state == .alreadyDone
        // Only a step with a record from an earlier attempt can have been applied before.
        let appliedBefore = previous?.changed == true
            || (previous != nil && ((try? journal.attempts(runID: runID)) ?? []).contains { $0.nodeID == node.id && $0.phase == .apply })
        let changesWorld = compiler.registry[node.typeName]?.descriptor.changes ?? true
        // What can say "done" again: a shell `check`, or a typed action that changes something
        // (a checkpoint, say, changes nothing that could be read back).
        let hasCheck = node.typeName == "shell" ? node.commands.contains { $0.purpose == .probe } : changesWorld
        if wasDone, !hasCheck {
            // Nothing can re-verify it: the journal says done, so it is not run again.
            emit(RunEvent("step.verified", step: node.id, host: host, fields: ["summary": "done in an earlier attempt (no check to re-verify)"]))
            return .succeeded(changed: previous?.changed ?? false, outputs: ValueJSON.decode(previous?.outputsJSON))
        }

        var attempt = previous?.attempts ?? 0
        record(node, host: host, { $0.state = .running; $0.startedAt = $0.startedAt ?? Date(); $0.error = nil; $0.attempts = attempt + 1 },
               event: RunEvent("step.started", step: node.id, host: host, fields: ["type": node.typeName]))
        var lastError = ""
        for round in 0...node.retries {
            if round > 0 {
                let delay = node.retryDelay ?? options.defaultRetryDelay
                emit(RunEvent("step.retry", step: node.id, host: host, fields: ["attempt": "\(round + 1)", "of": "\(node.retries + 1)", "after_seconds": "\(delay)", "error": lastError]))
                do { try await Task.sleep(for: .seconds(delay)) } catch { return cancelled(node, host: host) }
            }
            attempt += 1
            if round > 0 { record(node, host: host, { $0.attempts = attempt }, event: nil) }
            do {
                // Probe: is it already done? (A shell step without `check` has nothing to ask.)
                let observation: Observation
                if hasCheck {
                    let probeID = try journal.beginAttempt(runID: runID, nodeID: node.id, phase: .probe, number: attempt,
                                                           intent: intent(node.commands.filter { $0.purpose == .probe }, fallback: "probe \(node.typeName)"))
                    observation = try await runtime.probe(context)
                    try journal.finishAttempt(id: probeID, outcome: observation.done ? "done" : "notDone", exitCode: observation.result?.exitCode.map(Int.init),
                                              stdout: observation.result?.stdout ?? "", stderr: observation.result?.stderr ?? "", error: nil)
                } else {
                    observation = try await runtime.probe(context)
                }
                if observation.done {
                    let changed = appliedBefore
                    let state: StepState = changed ? .succeeded : .alreadyDone
                    let summary = wasDone ? "re-verified: \(observation.summary)" : observation.summary
                    record(node, host: host, {
                        $0.state = state; $0.changed = changed; $0.finishedAt = $0.finishedAt ?? Date()
                        if $0.outputsJSON == nil { $0.outputsJSON = ValueJSON.encode(observation.outputs) }
                    }, event: RunEvent("step.finished", step: node.id, host: host, fields: ["state": state.rawValue, "summary": summary]), completes: changed)
                    return .succeeded(changed: changed, outputs: observation.outputs.isEmpty ? ValueJSON.decode(previous?.outputsJSON) : observation.outputs)
                }
                if wasDone {
                    return fail(node, host: host, "was done in an earlier attempt of this run, but now \(observation.summary): the world changed since; inspect \(host), then resume again or roll back")
                }
                if Task.isCancelled { return cancelled(node, host: host) }

                // Apply, with the intent and what was observed committed first.
                if let state = observation.undoState { record(node, host: host, { $0.observedJSON = state }, event: nil) }
                let applyCommands = node.commands.filter { $0.purpose == .apply }
                let applyID = try journal.beginAttempt(runID: runID, nodeID: node.id, phase: .apply, number: attempt, intent: intent(applyCommands, fallback: "apply \(node.typeName)"))
                let effect = try await runtime.apply(context, observation: observation)
                try journal.finishAttempt(id: applyID, outcome: effect.succeeded ? AttemptOutcome.ok : (effect.result?.timedOut == true ? AttemptOutcome.timedOut : AttemptOutcome.failed),
                                          exitCode: effect.result?.exitCode.map(Int.init), stdout: effect.result?.stdout ?? "", stderr: effect.result?.stderr ?? "",
                                          error: effect.succeeded ? nil : effect.summary)
                // Whatever apply did, it may have changed the world: rollback must consider it.
                // (A success records it with the outcome below; a crash in between is covered by
                // the journaled apply attempt, which a resume reads.)
                if Task.isCancelled {
                    if changesWorld { record(node, host: host, { $0.changed = true }, event: nil) }
                    return cancelled(node, host: host)
                }
                guard effect.succeeded else {
                    if changesWorld { record(node, host: host, { $0.changed = true }, event: nil) }
                    lastError = effect.summary
                    continue
                }

                let verifyCommands = node.commands.filter { $0.purpose == .verify }
                if !verifyCommands.isEmpty {
                    let verifyID = try journal.beginAttempt(runID: runID, nodeID: node.id, phase: .verify, number: attempt, intent: intent(verifyCommands, fallback: "verify"))
                    let verified = try await runtime.verify(context)
                    try journal.finishAttempt(id: verifyID, outcome: verified.succeeded ? AttemptOutcome.ok : AttemptOutcome.failed, exitCode: verified.result?.exitCode.map(Int.init),
                                              stdout: verified.result?.stdout ?? "", stderr: verified.result?.stderr ?? "", error: verified.succeeded ? nil : verified.summary)
                        guard verified.succeeded else {
                        if changesWorld { record(node, host: host, { $0.changed = true }, event: nil) }
                        lastError = verified.summary
                        continue
                    }
                }
                record(node, host: host, {
                    $0.state = .succeeded; $0.changed = changesWorld; $0.finishedAt = Date(); $0.outputsJSON = ValueJSON.encode(effect.outputs)
                }, event: RunEvent("step.finished", step: node.id, host: host, fields: ["state": "succeeded", "summary": effect.summary]), completes: true)
                return .succeeded(changed: changesWorld, outputs: effect.outputs)
            } catch {
                guard let why = attemptError(error, host: host) else { return cancelled(node, host: host) }
                lastError = why
            }
        }
        return fail(node, host: host, lastError)
    }

    /// What a failed attempt says, or nil when it was cancelled (the run is stopping).
    func attemptError(_ error: any Error, host: String) -> String? {
        if let transport = error as? TransportError {
            return transport.kind == .cancelled ? nil : "\(host) is unreachable: \(transport.message)"
        }
        return Task.isCancelled ? nil : "\(error)"
    }

    func fail(_ node: PlanNode, host: String, _ why: String) -> NodeOutcome {
        record(node, host: host, { $0.state = .failed; $0.error = why; $0.finishedAt = Date() },
               event: RunEvent("step.finished", step: node.id, host: host, fields: ["state": "failed", "error": why]))
        return .failed(why, node.onFailure)
    }

    func cancelled(_ node: PlanNode, host: String) -> NodeOutcome {
        record(node, host: host, { $0.state = .cancelled; $0.error = "interrupted" },
               event: RunEvent("step.finished", step: node.id, host: host, fields: ["state": "cancelled"]))
        return .cancelled
    }

    // MARK: Probes

    func runProbe(_ node: PlanNode, host: String) async -> NodeOutcome {
        guard let runtime = runtime(for: node) else {
            return fail(node, host: host, "no implementation for probe type '\(node.typeName)' in this build")
        }
        record(node, host: host, { $0.state = .running; $0.startedAt = Date() },
               event: RunEvent("step.started", step: node.id, host: host, fields: ["type": node.typeName]))
        var lastError = ""
        for round in 0...node.retries {
            if round > 0 {
                do { try await Task.sleep(for: .seconds(node.retryDelay ?? options.defaultRetryDelay)) } catch { return cancelled(node, host: host) }
            }
            do {
                let id = try journal.beginAttempt(runID: runID, nodeID: node.id, phase: .probe, number: round + 1,
                                                  intent: intent(node.commands, fallback: "probe \(node.typeName)"))
                let observation = try await runtime.probe(context(node, host: host))
                try journal.finishAttempt(id: id, outcome: AttemptOutcome.ok, exitCode: observation.result?.exitCode.map(Int.init),
                                          stdout: observation.result?.stdout ?? "", stderr: observation.result?.stderr ?? "")
                if let failure = checkExpectation(node, outputs: observation.outputs) {
                    lastError = failure
                    continue
                }
                record(node, host: host, {
                    $0.state = .succeeded; $0.finishedAt = Date(); $0.outputsJSON = ValueJSON.encode(observation.outputs)
                }, event: RunEvent("step.finished", step: node.id, host: host, fields: ["state": "succeeded", "summary": observation.summary]))
                return .succeeded(changed: false, outputs: observation.outputs)
            } catch {
                guard let why = attemptError(error, host: host) else { return cancelled(node, host: host) }
                lastError = why
            }
        }
        return fail(node, host: host, lastError)
    }

    /// nil when the probe's expectation holds, else what failed with the values it read.
    func checkExpectation(_ node: PlanNode, outputs: [String: Value]) -> String? {
        LivePlanner.expectationFailure(node, outputs: outputs, context: plan.context)
    }
}
