import Foundation
import RunbookCore

extension Executor {
    func runGate(_ node: PlanNode, host: String, previous: StepRecord?, stepValues: [String: Value]) async -> NodeOutcome {
        guard let gate = node.gate else { return fail(node, host: host, "gate without settings") }
        if previous?.state == .succeeded {
            return .succeeded(changed: false, outputs: ValueJSON.decode(previous?.outputsJSON))
        }
        let firstReached = previous?.firstReachedAt ?? Date()
        var fields = ["gate": gate.type, "first_reached": JournalTimestamp.format(firstReached)]
        if let prompt = gate.prompt { fields["prompt"] = prompt }
        if gate.type == "approval" {
            fields["answer_with"] = "runbook approve \(runID) \(node.stepID) --by NAME --reason TEXT"
        }
        record(node, host: host, {
            $0.firstReachedAt = $0.firstReachedAt ?? firstReached
            $0.state = .waiting
            $0.startedAt = $0.startedAt ?? Date()
        }, event: RunEvent("gate.waiting", step: node.id, host: host, fields: fields))

        if compiler.registry[gate.type]?.descriptor.gate == .poll {
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
            let outputs: [String: Value] = ["approved_by": .string("timeout"), "reason": .string("no answer within \(after); on_timeout: proceed"), "at": .timestamp(Date())]
            return passGate(node, host: host, outputs: outputs, summary: "timed out after \(after): proceeding (on_timeout: proceed)")
        case .abort:
            record(node, host: host, { $0.state = .failed; $0.error = "no answer within \(after) (on_timeout: abort)"; $0.finishedAt = Date() },
                   event: RunEvent("step.finished", step: node.id, host: host, fields: ["state": "failed", "error": "gate timed out after \(after)"]))
            return .failed("gate \(node.stepID) timed out after \(after) (on_timeout: abort)", .stop)
        case .rollback:
            record(node, host: host, { $0.state = .failed; $0.error = "no answer within \(after) (on_timeout: rollback)"; $0.finishedAt = Date() },
                   event: RunEvent("step.finished", step: node.id, host: host, fields: ["state": "failed", "error": "gate timed out after \(after)"]))
            return .failed("gate \(node.stepID) timed out after \(after) (on_timeout: rollback)", .rollback)
        }
    }

    func passGate(_ node: PlanNode, host: String, outputs: [String: Value], summary: String) -> NodeOutcome {
        record(node, host: host, {
            $0.state = .succeeded; $0.finishedAt = Date(); $0.outputsJSON = ValueJSON.encode(outputs)
        }, event: RunEvent("step.finished", step: node.id, host: host, fields: ["state": "succeeded", "summary": summary]), completes: node.commit)
        return .succeeded(changed: false, outputs: outputs)
    }

    /// Journals an approval (or rejection) given on the command line or at the terminal.
    func recordApproval(_ node: PlanNode, by: String, reason: String, decision: ApprovalDecision) {
        let approval = ApprovalRecord(runID: runID, gate: node.stepID, by: by, reason: reason, planHash: planHash, at: Date(), decision: decision)
        let event = RunEvent("approval", step: node.id, host: node.host, fields: ["by": by, "reason": reason, "decision": decision.rawValue, "plan_hash": planHash])
        do {
            try journal.write { tx in
                try tx.recordApproval(approval)
                _ = try tx.appendEvent(runID: runID, type: event.type, step: event.step, host: event.host, payload: event.fields)
            }
        } catch {
            FileHandle.standardError.write(Data("runbook: warning: could not journal the approval of \(node.stepID): \(error)\n".utf8))
        }
        observer.record(event, runID: runID)
    }

    func runApproval(_ node: PlanNode, gate: GatePlan, host: String, firstReached: Date) async -> NodeOutcome {
        let deadline = deadline(gate, firstReached: firstReached)
        func answered() -> NodeOutcome? {
            guard let approval = try? journal.approval(runID: runID, gate: node.stepID) else { return nil }
            if !gate.approvers.isEmpty, !gate.approvers.contains(approval.by) {
                return nil  // not someone who may approve; keep waiting
            }
            if approval.decision == .rejected {
                record(node, host: host, { $0.state = .failed; $0.error = "rejected by \(approval.by): \(approval.reason)"; $0.finishedAt = Date() },
                       event: RunEvent("step.finished", step: node.id, host: host, fields: ["state": "failed", "error": "rejected by \(approval.by)"]))
                return .failed("gate \(node.stepID) was rejected by \(approval.by): \(approval.reason)", .stop)
            }
            let outputs: [String: Value] = ["approved_by": .string(approval.by), "reason": .string(approval.reason), "at": .timestamp(approval.at)]
            return passGate(node, host: host, outputs: outputs, summary: "approved by \(approval.by): \(approval.reason)")
        }
        if let outcome = answered() { return outcome }
        if await nothingBehind(node) {
            let outputs: [String: Value] = ["approved_by": .string("runbook"), "reason": .string("every step after the gate is already done"), "at": .timestamp(Date())]
            return passGate(node, host: host, outputs: outputs, summary: "not asked: every step after it is already done")
        }
        if let deadline, Date() >= deadline { return timedOut(node, gate: gate, host: host) }
        if options.approvals.contains(node.stepID) {
            if !gate.approvers.isEmpty, !gate.approvers.contains(options.approver) {
                return fail(node, host: host, "--approve \(node.stepID) was given by \(options.approver), who is not among the approvers (\(gate.approvers.joined(separator: ", ")))")
            }
            recordApproval(node, by: options.approver, reason: "--approve \(node.stepID) on the command line", decision: .approved)
            return answered() ?? fail(node, host: host, "the approval could not be journaled")
        }
        guard options.interactive, let prompter else { return .parked }

        let question = "\(gate.prompt ?? "Continue?") [gate \(node.stepID)] (yes/no)"
        let gateID = node.stepID
        let answer = await prompter.ask(question, deadline: deadline, pollEvery: options.approvalPollSeconds) { [journal, runID] in
            (try? journal.approval(runID: runID, gate: gateID)) != nil
        }
        switch answer {
        case .yes:
            recordApproval(node, by: options.approver, reason: "answered yes at the terminal", decision: .approved)
        case .no:
            recordApproval(node, by: options.approver, reason: "answered no at the terminal", decision: .rejected)
        case .external:
            break
        case .timedOut:
            return timedOut(node, gate: gate, host: host)
        case .cancelled:
            return cancelled(node, host: host)
        }
        return answered() ?? .parked
    }

    /// Whether every action after this gate already says done (so a person has nothing to approve).
    func nothingBehind(_ gate: PlanNode) async -> Bool {
        let behind = LivePlanner.descendants(of: gate.id, in: plan.nodes)
        let actions = behind.filter { $0.kind == .action || $0.kind == .choose }
        guard !actions.isEmpty else { return false }
        let values = NodeRunner.stepValues((try? journal.steps(runID: runID)) ?? [], onlyDone: false)
        for planned in actions {
            guard planned.candidates.isEmpty,
                case .success(let node) = nodeRunner.resolve(planned, host: planned.host, stepValues: values, runID: runID)
            else { return false }
            if case .skipped = node.effect { continue }
            guard !node.arguments.hasUnknowns, let type = nodeRunner.type(of: node) else { return false }
            if type.runsEveryTime(node.arguments) != nil { return false }
            guard let observation = try? await type.probe(context(node, host: node.host, phase: .probe)), observation.done else {
                return false
            }
        }
        return true
    }

    func runUntil(_ node: PlanNode, gate: GatePlan, host: String, firstReached: Date) async -> NodeOutcome {
        guard let probeName = gate.probe, let probeType = compiler.registry[probeName], let condition = gate.condition else {
            return fail(node, host: host, "no implementation for probe type '\(gate.probe ?? "")' in this build")
        }
        let deadline = deadline(gate, firstReached: firstReached)
        var probeNode = node
        probeNode.typeName = probeName
        let probeHost = gate.probeHost ?? host
        let expression: RunbookCore.Expression
        do throws(ExpressionError) { expression = try RunbookCore.Expression(parsing: condition) } catch { return fail(node, host: host, "condition `\(condition)`: \(error.message)") }
        var poll = 0
        while true {
            poll += 1
            do {
                let id = try journal.beginAttempt(runID: runID, nodeID: node.id, phase: .gatePoll, number: poll, intent: "probe \(probeName) on \(probeHost) until \(condition)")
                let observation = try await probeType.probe(context(probeNode, host: probeHost, phase: .probe))
                var evaluation = plan.context
                evaluation.roots["outputs"] = .map(observation.outputs)
                let holds: Bool
                if case .bool(true) = try expression.evaluate(in: evaluation) { holds = true } else { holds = false }
                try journal.finishAttempt(id: id, outcome: holds ? "holds" : "notYet", stdout: ValueJSON.encode(observation.outputs))
                emit(RunEvent("gate.poll", step: node.id, host: probeHost, fields: [
                    "poll": "\(poll)", "condition": condition, "holds": "\(holds)", "observed": observation.summary,
                    "outputs": ValueJSON.encode(observation.outputs.filter { !$0.key.hasPrefix("_") }),
                ]))
                record(node, host: host, { $0.outputsJSON = ValueJSON.encode(observation.outputs) }, event: nil)
                if holds {
                    return passGate(node, host: host, outputs: observation.outputs, summary: "\(condition) holds after \(poll) poll\(poll == 1 ? "" : "s")")
                }
            } catch let error as TransportError where error.kind == .cancelled {
                return cancelled(node, host: host)
            } catch let error as TransportError {
                emit(RunEvent("gate.poll", step: node.id, host: probeHost,
                              fields: ["poll": "\(poll)", "error": error.explanation(on: probeHost)]))
            } catch {
                if Task.isCancelled { return cancelled(node, host: host) }
                emit(RunEvent("gate.poll", step: node.id, host: probeHost, fields: ["poll": "\(poll)", "error": "\(error)"]))
            }
            if let deadline, Date() >= deadline { return timedOut(node, gate: gate, host: host) }
            var wait = gate.every ?? 30
            if let deadline { wait = min(wait, max(0, deadline.timeIntervalSinceNow)) }
            do { try await sleep(seconds: wait) } catch { return cancelled(node, host: host) }
        }
    }
}
