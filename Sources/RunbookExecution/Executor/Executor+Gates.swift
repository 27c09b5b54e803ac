import Foundation
import RunbookCore

extension Executor {
    func runGate(_ node: PlanNode, host: String, previous: StepRecord?, stepValues: [String: Value]) async
        -> NodeOutcome
    {
        guard let gate = node.gate else { return fail(node, host: host, "gate without settings") }
        if previous?.state == .succeeded {
            return .succeeded(changed: false, outputs: ValueJSON.decode(previous?.outputsJSON))
        }
        let firstReached = previous?.firstReachedAt ?? Date()
        let answerWith =
            gate.type != .approval
            ? nil
            : gate.requiresSignatures
                ? "runbook approve \(runID) \(node.gateName) --sign KEYFILE --reason TEXT"
                : "runbook approve \(runID) \(node.gateName) --by NAME --reason TEXT"
        let waiting = RunEvent.gateWaiting(
            .init(
                step: node.id, host: host, gate: gate.type, firstReached: firstReached, prompt: gate.prompt,
                answerWith: answerWith))
        var batch = batch(node, host: host) {
            $0.firstReachedAt = $0.firstReachedAt ?? firstReached
            $0.state = .waiting
            $0.startedAt = $0.startedAt ?? Date()
        }
        batch.events = [waiting]
        record(batch, what: "gate \(node.id)")
        tell(waiting)

        if compiler.registry[gate.type.rawValue]?.descriptor.gate == .poll {
            return await runUntil(node, gate: gate, host: host, firstReached: firstReached)
        }
        return await runApproval(node, gate: gate, host: host, firstReached: firstReached)
    }

    func deadline(_ gate: GatePlan, firstReached: Date) -> Date? {
        gate.timeout.map { firstReached.addingTimeInterval($0) }
    }

    func timedOut(_ node: PlanNode, gate: GatePlan, host: String) -> NodeOutcome {
        let after = gate.timeout.map(Value.formatDuration) ?? "?"
        switch gate.onTimeout {
        case .proceed:
            let outputs: [String: Value] = [
                "approved_by": .string("timeout"), "reason": .string("no answer within \(after); on_timeout: proceed"),
                "at": .timestamp(Date()),
            ]
            return passGate(
                node, host: host, outputs: outputs,
                summary: "timed out after \(after): proceeding (on_timeout: proceed)")
        case .abort, .rollback:
            let policy: FailurePolicy = gate.onTimeout == .abort ? .stop : .rollback
            let name = gate.onTimeout == .abort ? "abort" : "rollback"
            rejectGate(
                node, host: host, error: "no answer within \(after) (on_timeout: \(name))",
                eventError: "gate timed out after \(after)")
            return .failed("gate \(node.gateName) timed out after \(after) (on_timeout: \(name))", policy)
        }
    }

    /// Adds a gate's failure to `batch`: its record's error, and its event's shorter one.
    func rejecting(_ node: PlanNode, host: String, error: String, eventError: String, into batch: inout JournalBatch) {
        batch.step(node.id, stepID: node.stepID, host: host) {
            $0.state = .failed
            $0.error = error
            $0.finishedAt = Date()
        }
        batch.events.append(.stepFinished(.init(step: node.id, host: host, state: .failed, error: eventError)))
    }

    /// Adds a gate's passing to `batch`: its record, its outputs, its event.
    func passing(
        _ node: PlanNode, host: String, outputs: [String: Value], summary: String, into batch: inout JournalBatch
    ) {
        let encoded = ValueJSON.encode(outputs)
        batch.step(node.id, stepID: node.stepID, host: host, completes: node.commit) {
            $0.state = .succeeded
            $0.finishedAt = Date()
            $0.outputsJSON = encoded
        }
        batch.events.append(.stepFinished(.init(step: node.id, host: host, state: .succeeded, summary: summary)))
    }

    /// Journals a gate's batch and shows its events; false (nothing shown) when it could not be
    /// journaled and `required`.
    @discardableResult
    func conclude(_ node: PlanNode, _ batch: JournalBatch, required: Bool = false) -> Bool {
        if required {
            do { try journal.commit(batch) } catch { return false }
        } else {
            record(batch, what: "gate \(node.id)")
        }
        for event in batch.events { tell(event) }
        return true
    }

    func rejectGate(_ node: PlanNode, host: String, error: String, eventError: String) {
        var batch = JournalBatch(runID: runID)
        rejecting(node, host: host, error: error, eventError: eventError, into: &batch)
        conclude(node, batch)
    }

    /// Journals a gate as passed, with whatever `batch` carries (the last poll), and shows its events.
    func passGate(
        _ node: PlanNode, host: String, outputs: [String: Value], summary: String, batch: JournalBatch? = nil
    ) -> NodeOutcome {
        var batch = batch ?? JournalBatch(runID: runID)
        passing(node, host: host, outputs: outputs, summary: summary, into: &batch)
        conclude(node, batch)
        return .succeeded(changed: false, outputs: outputs)
    }

    /// The gate's outcome for a decision, or nil to keep waiting (not someone who may approve).
    /// A decision made here (`--approve`, the terminal) is journaled with the gate's outcome, and
    /// counts only if it could be.
    func decide(_ node: PlanNode, gate: GatePlan, host: String, _ approval: ApprovalRecord, isNew: Bool)
        -> NodeOutcome?
    {
        if !isNew, !gate.allows(approval.by) { return nil }
        var batch = JournalBatch(runID: runID)
        if isNew {
            batch.approvals = [approval]
            batch.events = [
                .approval(
                    .init(
                        step: node.id, host: node.host, decision: approval.decision, by: approval.by,
                        reason: approval.reason, planHash: planHash))
            ]
        }
        let outcome: NodeOutcome
        if approval.decision == .rejected {
            rejecting(
                node, host: host, error: "rejected by \(approval.by): \(approval.reason)",
                eventError: "rejected by \(approval.by)", into: &batch)
            outcome = .failed("gate \(node.gateName) was rejected by \(approval.by): \(approval.reason)", .stop)
        } else {
            let outputs: [String: Value] = [
                "approved_by": .string(approval.by), "reason": .string(approval.reason), "at": .timestamp(approval.at),
            ]
            let summary = "approved by \(approval.by): \(approval.reason)"
            passing(node, host: host, outputs: outputs, summary: summary, into: &batch)
            outcome = .succeeded(changed: false, outputs: outputs)
        }
        guard conclude(node, batch, required: isNew) else {
            return fail(node, host: host, "the approval could not be journaled")
        }
        return outcome
    }

    func runApproval(_ node: PlanNode, gate: GatePlan, host: String, firstReached: Date) async -> NodeOutcome {
        if gate.requiresSignatures {
            return await runSignedApproval(node, gate: gate, host: host, firstReached: firstReached)
        }
        let deadline = deadline(gate, firstReached: firstReached)
        func answered() -> NodeOutcome? {
            guard let approval = try? journal.approval(runID: runID, gate: node.gateName) else { return nil }
            return decide(node, gate: gate, host: host, approval, isNew: false)
        }
        func decision(_ reason: String, _ decision: ApprovalDecision) -> ApprovalRecord {
            ApprovalRecord(
                runID: runID, gate: node.gateName, by: options.approver, reason: reason, planHash: planHash, at: Date(),
                decision: decision)
        }
        if let outcome = answered() { return outcome }
        if await nothingBehind(node) {
            let outputs: [String: Value] = [
                "approved_by": .string("runbook"),
                "reason": .string("every step after the gate is already done or skipped"),
                "at": .timestamp(Date()),
            ]
            return passGate(
                node, host: host, outputs: outputs, summary: "not asked: every step after it is already done or skipped"
            )
        }
        if let deadline, Date() >= deadline { return timedOut(node, gate: gate, host: host) }
        if options.approvals.contains(node.gateName) {
            if !gate.allows(options.approver) {
                return fail(
                    node, host: host,
                    "--approve \(node.gateName) was given by \(options.approver), who is not among the approvers"
                        + " (\(gate.approvers.joined(separator: ", ")))")
            }
            let approval = decision("--approve \(node.gateName) on the command line", .approved)
            return decide(node, gate: gate, host: host, approval, isNew: true)!
        }
        guard options.interactive, let prompter else { return .parked }

        // When the gate times out and what happens then: the person answering must know.
        let timesOut = GateDeadline(node: node, firstReached: firstReached).map {
            "\n  this gate \($0.describe(now: Date()))\n "
        }
        let question = "\(gate.prompt ?? "Continue?") [gate \(node.gateName)]\(timesOut ?? "") (yes/no)"
        let gateID = node.gateName
        let answer = await prompter.ask(question, deadline: deadline, pollEvery: options.approvalPollSeconds) {
            [journal, runID] in
            (try? journal.approval(runID: runID, gate: gateID)) != nil
        }
        switch answer {
        case .yes:
            let approval = decision("answered yes at the terminal", .approved)
            return decide(node, gate: gate, host: host, approval, isNew: true) ?? .parked
        case .no:
            let approval = decision("answered no at the terminal", .rejected)
            return decide(node, gate: gate, host: host, approval, isNew: true) ?? .parked
        case .external:
            return answered() ?? .parked
        case .timedOut:
            return timedOut(node, gate: gate, host: host)
        case .cancelled:
            return cancelled(node, host: host)
        }
    }

    /// Whether every action after this gate already says done or is skipped (so a person has
    /// nothing to approve).
    func nothingBehind(_ gate: PlanNode) async -> Bool {
        let behind = LivePlanner.descendants(of: gate.id, in: plan.nodes)
        let actions = behind.filter { $0.kind == .action || $0.kind == .choose }
        guard !actions.isEmpty else { return false }
        let values = NodeRunner.stepValues((try? journal.steps(runID: runID)) ?? [], onlyDone: false)
        for planned in actions {
            guard planned.candidates.isEmpty,
                case .success(let node) = nodeRunner.resolve(
                    planned, host: planned.host, stepValues: values, runID: runID)
            else { return false }
            if case .skipped = node.effect { continue }
            guard !node.arguments.hasUnknowns, let type = nodeRunner.type(of: node) else { return false }
            if type.runsEveryTime(node.arguments) != nil { return false }
            guard let observation = try? await type.probe(context(node, host: node.host, phase: .probe)),
                observation.done
            else {
                return false
            }
        }
        return true
    }

    /// Polls the gate's probe until its condition holds: each poll is one commit (the probe reads
    /// only, so its attempt is journaled after it ran, with its event and, when it holds, the gate's end).
    func runUntil(_ node: PlanNode, gate: GatePlan, host: String, firstReached: Date) async -> NodeOutcome {
        guard let probeName = gate.probe, let probeType = compiler.registry[probeName], let condition = gate.condition
        else {
            return fail(node, host: host, "no implementation for probe type '\(gate.probe ?? "")' in this build")
        }
        let deadline = deadline(gate, firstReached: firstReached)
        var probeNode = node
        probeNode.typeName = probeName
        let probeHost = gate.probeHost ?? host
        let expression: RunbookCore.Expression
        do throws(ExpressionError) {
            expression = try RunbookCore.Expression(parsing: condition)
        } catch {
            return fail(node, host: host, "condition `\(condition)`: \(error.message)")
        }
        var poll = 0
        while true {
            poll += 1
            let start = AttemptStart(
                nodeID: node.id, phase: .gatePoll, number: poll,
                intent: "probe \(probeName) on \(probeHost) until \(condition)")
            let log = CommandLog()
            var batch = JournalBatch(runID: runID)
            do {
                let observation = try await probeType.probe(
                    context(probeNode, host: probeHost, phase: .probe, log: log))
                var evaluation = plan.context
                evaluation.roots["outputs"] = .map(observation.outputs)
                let holds: Bool
                if case .bool(true) = try expression.evaluate(in: evaluation) { holds = true } else { holds = false }
                let outputs = ValueJSON.encode(observation.outputs)
                batch.attempts = [
                    .record(
                        start,
                        AttemptEnd(outcome: holds ? "holds" : "notYet", stdout: outputs, commands: Self.ran(log)))
                ]
                batch.step(node.id, stepID: node.stepID, host: host) { $0.outputsJSON = outputs }
                batch.events = [
                    .gatePoll(
                        .init(
                            step: node.id, host: probeHost, poll: poll, condition: condition, holds: holds,
                            observed: observation.summary,
                            outputs: ValueJSON.encode(observation.outputs.filter { !$0.key.hasPrefix("_") })))
                ]
                if holds {
                    let summary = "\(condition) holds after \(poll) poll\(poll == 1 ? "" : "s")"
                    return passGate(node, host: host, outputs: observation.outputs, summary: summary, batch: batch)
                }
            } catch let error as TransportError where error.kind == .cancelled {
                batch.attempts = [.record(start, AttemptOutcome.interruptedEnd)]
                return cancelled(node, host: host, batch: batch)
            } catch let error as ConclusiveProbeFailure {
                // No later poll can change this answer: fail now, not at the timeout.
                batch.attempts = [.record(start, Self.end(error, why: error.message))]
                batch.events = [.gatePoll(.init(step: node.id, host: probeHost, poll: poll, error: error.message))]
                record(batch, what: "gate \(node.id)")
                for event in batch.events { tell(event) }
                return fail(node, host: host, error.message)
            } catch {
                if Task.isCancelled {
                    batch.attempts = [.record(start, AttemptOutcome.interruptedEnd)]
                    return cancelled(node, host: host, batch: batch)
                }
                let why = (error as? TransportError).map { $0.explanation(on: probeHost) } ?? "\(error)"
                batch.attempts = [.record(start, Self.end(error, why: why))]
                batch.events = [.gatePoll(.init(step: node.id, host: probeHost, poll: poll, error: why))]
            }
            record(batch, what: "gate \(node.id)")
            for event in batch.events { tell(event) }
            if let deadline, Date() >= deadline { return timedOut(node, gate: gate, host: host) }
            var wait = gate.every ?? 30
            if let deadline { wait = min(wait, max(0, deadline.timeIntervalSinceNow)) }
            do { try await sleep(seconds: wait) } catch { return cancelled(node, host: host) }
        }
    }
}

extension PlanNode {
    /// What a gate is answered by (`runbook approve RUN GATE`, `--approve GATE`): its step id, or
    /// for a gate of a `for_each` its instance id (`go[gv0]`): each item is answered on its own.
    var gateName: String { item == nil ? stepID : id }
}
