import Foundation
import RunbookCore

// A probe step: read, check its expectation, retry; it changes nothing, so it journals after it ran.
extension Executor {

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
