import Foundation
import RunbookCore

/// How the executor writes the journal and tells its observers.
extension Executor {
    /// Shows an event to the observers (progress, `--events`) without journaling it (yet).
    func tell(_ event: RunEvent) {
        observer.record(event, runID: runID)
    }

    /// Journals one event in a commit of its own, then shows it.
    func emit(_ event: RunEvent) {
        var batch = JournalBatch(runID: runID)
        batch.events = [event]
        record(batch, what: "event \(event.type)")
        tell(event)
    }

    /// Commits what already happened; a journal that cannot be written is a warning, not a stop
    /// (an intent, which must be durable before its effect, is committed with `journal.commit`).
    @discardableResult
    func record(_ batch: JournalBatch, what: String) -> JournalCommit? {
        do {
            return try journal.commit(batch)
        } catch {
            StandardStream.standardError.write("runbook: warning: could not journal \(what): \(error)\n")
            return nil
        }
    }

    /// A batch that changes one step's record.
    func batch(_ node: PlanNode, host: String, completes: Bool = false, _ change: @escaping (inout StepRecord) -> Void)
        -> JournalBatch
    {
        var batch = JournalBatch(runID: runID)
        batch.step(node.id, stepID: node.stepID, host: host, completes: completes, change)
        return batch
    }

    /// Ends a step instance as failed: its record, its event, and whatever `batch` carries.
    func fail(
        _ node: PlanNode, host: String, _ why: String, batch: JournalBatch? = nil, finishedAt: Date? = Date()
    ) -> NodeOutcome {
        var batch = batch ?? JournalBatch(runID: runID)
        batch.step(node.id, stepID: node.stepID, host: host) {
            $0.state = .failed
            $0.error = why
            if let finishedAt { $0.finishedAt = finishedAt }
        }
        let event = RunEvent.stepFinished(.init(step: node.id, host: host, state: .failed, error: why))
        batch.events.append(event)
        record(batch, what: "step \(node.id)")
        tell(event)
        return .failed(why, node.onFailure)
    }

    /// Ends a step instance cut short by a stop request.
    func cancelled(_ node: PlanNode, host: String, batch: JournalBatch? = nil) -> NodeOutcome {
        var batch = batch ?? JournalBatch(runID: runID)
        batch.step(node.id, stepID: node.stepID, host: host) {
            $0.state = .cancelled
            $0.error = "interrupted"
        }
        let event = RunEvent.stepFinished(.init(step: node.id, host: host, state: .cancelled))
        batch.events.append(event)
        record(batch, what: "step \(node.id)")
        tell(event)
        return .cancelled
    }

    /// Records a step instance as skipped: `why` is its event's reason, `error` its record's.
    func skip(_ node: PlanNode, host: String, _ why: String, error: String?, finishedAt: Date?) {
        var batch = batch(node, host: host) {
            $0.state = .skipped
            $0.error = error
            if let finishedAt { $0.finishedAt = finishedAt }
        }
        let event = RunEvent.stepSkipped(.init(step: node.id, host: host, reason: why))
        batch.events.append(event)
        record(batch, what: "step \(node.id)")
        tell(event)
    }

    // MARK: Attempt outcomes

    static func end(_ observation: Observation, outcome: String? = nil, log: CommandLog) -> AttemptEnd {
        AttemptEnd(
            outcome: outcome ?? (observation.done ? "done" : "notDone"),
            exitCode: observation.result?.exitCode.map(Int.init), stdout: observation.result?.stdout ?? "",
            stderr: observation.result?.stderr ?? "", commands: ran(log))
    }

    static func end(_ effect: EffectResult, outcome: String, log: CommandLog) -> AttemptEnd {
        AttemptEnd(
            outcome: outcome, exitCode: effect.result?.exitCode.map(Int.init), stdout: effect.result?.stdout ?? "",
            stderr: effect.result?.stderr ?? "", error: effect.succeeded ? nil : effect.summary, commands: ran(log))
    }

    /// The outcome of an attempt that threw: unreachable, failed, or interrupted (`why` nil).
    static func end(_ error: any Error, why: String?) -> AttemptEnd {
        guard let why else { return AttemptOutcome.interruptedEnd }
        let unreachable = (error as? TransportError)?.kind == .unreachable
        return AttemptEnd(outcome: unreachable ? AttemptOutcome.unreachable : AttemptOutcome.failed, error: why)
    }
}

extension AttemptOutcome {
    /// An attempt cut short by a stop request.
    static var interruptedEnd: AttemptEnd { AttemptEnd(outcome: interrupted, error: "interrupted") }
}
