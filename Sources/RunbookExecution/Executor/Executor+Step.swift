import Foundation
import RunbookCore

// The lifecycle of one step instance, apart from the walk that starts it: its host and values
// resolved once, then per kind: a gate (Executor+Gates), a probe (Executor+Probe), an action or
// `choose` (probe, intent journaled, apply, verify, retries).
extension Executor {

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

}
