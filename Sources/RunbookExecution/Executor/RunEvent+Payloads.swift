import Foundation
import RunbookCore

/// What every event's payload is: flat, `Codable`, with the step and host it concerns.
///
/// The coding keys are the public field names of the `--events` stream (`v: 1`) and of the
/// journal's hash-chained `payloadJSON`: renaming one breaks both.
public protocol RunEventPayload: Codable, Sendable, Equatable {
    var step: String? { get }
    var host: String? { get }
}

extension RunEventPayload {
    public var step: String? { nil }
    public var host: String? { nil }
}

extension RunEvent {
    /// `run.started`: a new run begins executing (after the plan was shown and confirmed).
    public struct RunStarted: RunEventPayload {
        public var runbook: String
        public var inventory: String
        public var mode: String
        public var planHash: String
        /// Seconds the plan's "Run this plan?" waited for its answer (from the run's `startedAt`);
        /// absent when nobody was asked (`--yes`) and in runs from before it was recorded.
        public var confirmedAfter: Double?
        /// Who launched the run (the login name, or `--by`-style name of the person at the
        /// controls): what `not_by_launcher` compares a signer's principal with. Absent in runs
        /// from before it was recorded.
        public var launchedBy: String?

        enum CodingKeys: String, CodingKey {
            case runbook, inventory, mode
            case planHash = "plan_hash"
            case confirmedAfter = "confirmed_after"
            case launchedBy = "launched_by"
        }

        public init(
            runbook: String, inventory: String, mode: String, planHash: String, confirmedAfter: Double? = nil,
            launchedBy: String? = nil
        ) {
            self.runbook = runbook
            self.inventory = inventory
            self.mode = mode
            self.planHash = planHash
            self.confirmedAfter = confirmedAfter
            self.launchedBy = launchedBy
        }
    }

    /// `run.resumed`: `runbook resume` picked a run up again.
    public struct RunResumed: RunEventPayload {
        public var previousStatus: RunStatus

        enum CodingKeys: String, CodingKey {
            case previousStatus = "previous_status"
        }

        public init(previousStatus: RunStatus) { self.previousStatus = previousStatus }
    }

    /// `run.budget_exceeded`: more items failed than a `max_failed` lets fail; no further step
    /// starts, the running ones finish.
    public struct RunBudgetExceeded: RunEventPayload {
        /// The budget as written, e.g. `max_failed: 1` or `max_failed: 25% of step switch`.
        public var budget: String
        /// The failed items' keys, in the order they failed.
        public var items: [String]
        /// Instances still running, which finish before the run ends.
        public var running: Int
        public var summary: String

        public init(budget: String, items: [String], running: Int, summary: String) {
            self.budget = budget
            self.items = items
            self.running = running
            self.summary = summary
        }
    }

    /// `run.stopping`: SIGINT/SIGTERM arrived; no new steps, running commands get a grace period.
    public struct RunStopping: RunEventPayload {
        public var signal: Int32
        public var graceSeconds: Int

        enum CodingKeys: String, CodingKey {
            case signal
            case graceSeconds = "grace_seconds"
        }

        public init(signal: Int32, graceSeconds: Int) {
            self.signal = signal
            self.graceSeconds = graceSeconds
        }
    }

    /// `run.finished` and `run.parked`: how the run (or this part of it) ended.
    public struct RunEnded: RunEventPayload {
        public var status: RunStatus
        public var exitCode: Int32

        enum CodingKeys: String, CodingKey {
            case status
            case exitCode = "exit_code"
        }

        public init(status: RunStatus, exitCode: Int32) {
            self.status = status
            self.exitCode = exitCode
        }
    }

    /// `precondition.passed` and `precondition.failed`.
    public struct Precondition: RunEventPayload {
        public var step: String?
        public var host: String?
        public var summary: String

        public init(step: String, host: String, summary: String) {
            self.step = step
            self.host = host
            self.summary = summary
        }
    }

    /// `step.started`: a step instance begins (its probe, then perhaps its apply).
    public struct StepStarted: RunEventPayload {
        public var step: String?
        public var host: String?
        /// The action or probe type (`type` in the journal; the stream's `type` is the event's).
        public var actionType: String

        enum CodingKeys: String, CodingKey {
            case step, host
            case actionType = "type"
        }

        public init(step: String, host: String, actionType: String) {
            self.step = step
            self.host = host
            self.actionType = actionType
        }
    }

    /// `step.retry`: an attempt failed and the step is tried again after a delay.
    public struct StepRetry: RunEventPayload {
        public var step: String?
        public var host: String?
        /// The attempt about to be made, 2-based.
        public var attempt: Int
        public var of: Int
        public var afterSeconds: Double
        public var error: String

        enum CodingKeys: String, CodingKey {
            case step, host, attempt, of, error
            case afterSeconds = "after_seconds"
        }

        public init(step: String, host: String, attempt: Int, of: Int, afterSeconds: Double, error: String) {
            self.step = step
            self.host = host
            self.attempt = attempt
            self.of = of
            self.afterSeconds = afterSeconds
            self.error = error
        }
    }

    /// `step.finished`: a step instance reached `succeeded`, `alreadyDone`, `failed` or `cancelled`.
    public struct StepFinished: RunEventPayload {
        public var step: String?
        public var host: String?
        public var state: StepState
        public var summary: String?
        public var error: String?

        public init(step: String, host: String, state: StepState, summary: String? = nil, error: String? = nil) {
            self.step = step
            self.host = host
            self.state = state
            self.summary = summary
            self.error = error
        }
    }

    /// `step.skipped`: not run (its `when` is false, or a step it needs failed).
    public struct StepSkipped: RunEventPayload {
        public var step: String?
        public var host: String?
        public var reason: String

        public init(step: String, host: String, reason: String) {
            self.step = step
            self.host = host
            self.reason = reason
        }
    }

    /// `step.verified`: done in an earlier attempt, and nothing can re-verify it: not run again.
    public struct StepVerified: RunEventPayload {
        public var step: String?
        public var host: String?
        public var summary: String

        public init(step: String, host: String, summary: String) {
            self.step = step
            self.host = host
            self.summary = summary
        }
    }

    /// `gate.waiting`: a gate was reached (first, or again on a resume) and waits.
    public struct GateWaiting: RunEventPayload {
        public var step: String?
        public var host: String?
        /// The gate's kind: `approval` or `until`.
        public var gate: Gate.Kind.Name
        public var firstReached: Date
        public var prompt: String?
        /// The `runbook approve` command that answers an approval gate.
        public var answerWith: String?

        enum CodingKeys: String, CodingKey {
            case step, host, gate, prompt
            case firstReached = "first_reached"
            case answerWith = "answer_with"
        }

        public init(
            step: String, host: String, gate: Gate.Kind.Name, firstReached: Date, prompt: String? = nil,
            answerWith: String? = nil
        ) {
            self.step = step
            self.host = host
            self.gate = gate
            self.firstReached = firstReached
            self.prompt = prompt
            self.answerWith = answerWith
        }
    }

    /// `gate.poll`: an `until` gate read its probe (or could not: `error`).
    public struct GatePoll: RunEventPayload {
        public var step: String?
        public var host: String?
        public var poll: Int
        public var condition: String?
        public var holds: Bool?
        public var observed: String?
        /// The probe's outputs as JSON text (those not starting with `_`).
        public var outputs: String?
        public var error: String?

        public init(
            step: String, host: String, poll: Int, condition: String? = nil, holds: Bool? = nil,
            observed: String? = nil, outputs: String? = nil, error: String? = nil
        ) {
            self.step = step
            self.host = host
            self.poll = poll
            self.condition = condition
            self.holds = holds
            self.observed = observed
            self.outputs = outputs
            self.error = error
        }
    }

    /// `approval`: a decision at an approval gate (`via` names `runbook approve` when given there).
    public struct Approval: RunEventPayload {
        public var step: String?
        public var host: String?
        public var decision: ApprovalDecision
        public var by: String
        public var reason: String
        public var planHash: String
        public var via: String?

        enum CodingKeys: String, CodingKey {
            case step, host, decision, by, reason, via
            case planHash = "plan_hash"
        }

        public init(
            step: String, host: String? = nil, decision: ApprovalDecision, by: String, reason: String,
            planHash: String, via: String? = nil
        ) {
            self.step = step
            self.host = host
            self.decision = decision
            self.by = by
            self.reason = reason
            self.planHash = planHash
            self.via = via
        }
    }

    /// `rollback.started`: the steps to undo, newest first, and the commit point that bounds them.
    public struct RollbackStarted: RunEventPayload {
        public var reason: String
        /// Node ids, newest first (comma-separated in the stream).
        public var steps: [String]
        /// The commit point that stops the rollback, or empty.
        public var stopsAt: String
        /// The `for_each` item whose changes alone are undone (`on_item_failure: isolate`); absent
        /// for a rollback of the whole run.
        public var item: String?

        enum CodingKeys: String, CodingKey {
            case reason, steps, item
            case stopsAt = "stops_at"
        }

        public init(reason: String, steps: [String], stopsAt: String?, item: String? = nil) {
            self.reason = reason
            self.steps = steps
            self.stopsAt = stopsAt ?? ""
            self.item = item
        }
    }

    /// `rollback.skipped`: a changed step that cannot be undone (irreversible, no undo).
    public struct RollbackSkipped: RunEventPayload {
        public var step: String?
        public var host: String?
        public var reason: String

        public init(step: String, host: String, reason: String) {
            self.step = step
            self.host = host
            self.reason = reason
        }
    }

    /// `rollback.finished`.
    public struct RollbackFinished: RunEventPayload {
        /// Node ids undone, in order (comma-separated in the stream).
        public var undone: [String]
        /// How many undos failed.
        public var failed: Int
        /// The commit point that stopped the rollback, or empty.
        public var stoppedAt: String

        enum CodingKeys: String, CodingKey {
            case undone, failed
            case stoppedAt = "stopped_at"
        }

        public init(undone: [String], failed: Int, stoppedAt: String?) {
            self.undone = undone
            self.failed = failed
            self.stoppedAt = stoppedAt ?? ""
        }
    }

    /// `undo.started`: what the undo of a step will do.
    public struct UndoStarted: RunEventPayload {
        public var step: String?
        public var host: String?
        public var undo: String

        public init(step: String, host: String, undo: String) {
            self.step = step
            self.host = host
            self.undo = undo
        }
    }

    /// `undo.finished`: `undone` (with what was found or done) or `undoFailed` (with the error).
    public struct UndoFinished: RunEventPayload {
        public var step: String?
        public var host: String?
        public var state: StepState
        public var error: String?
        /// What the undo did, e.g. "already undone: check exited 0".
        public var summary: String?

        public init(step: String, host: String, state: StepState, error: String? = nil, summary: String? = nil) {
            self.step = step
            self.host = host
            self.state = state
            self.error = error
            self.summary = summary
        }
    }

    /// `approval.refused`: an approval handed in at a gate that requires signatures does not
    /// count; `kind` names why (unsigned, wrongly_signed, replayed, duplicated, launcher,
    /// not_an_approver) and `reason` says it in full.
    public struct ApprovalRefused: RunEventPayload {
        public var step: String?
        public var host: String?
        /// The refused approval's row in the journal.
        public var approval: Int64?
        public var by: String
        public var kind: String
        public var reason: String
        public var fingerprint: String?

        enum CodingKeys: String, CodingKey {
            case step, host, approval, by, kind, reason, fingerprint
        }

        public init(
            step: String, host: String? = nil, approval: Int64?, by: String, kind: String, reason: String,
            fingerprint: String? = nil
        ) {
            self.step = step
            self.host = host
            self.approval = approval
            self.by = by
            self.kind = kind
            self.reason = reason
            self.fingerprint = fingerprint
        }
    }

    /// `epoch.read`: what the run's epoch fence read before the run (or its resume or rollback)
    /// changed anything: `basis`, the newest epoch on the resources it marks; `epoch`, the one it
    /// writes (basis + 1); `known`, the newest this controller's journal had seen before;
    /// `readings`, one `STEP@HOST RESOURCE: epoch N (authority SITE)` per resource, "; "-joined.
    public struct EpochRead: RunEventPayload {
        public var step: String?
        public var host: String?
        public var basis: Int
        public var epoch: Int
        public var known: Int?
        public var readings: String

        enum CodingKeys: String, CodingKey {
            case step, host, basis, epoch, known, readings
        }

        public init(basis: Int, epoch: Int, known: Int?, readings: String) {
            self.basis = basis
            self.epoch = epoch
            self.known = known
            self.readings = readings
        }
    }

    /// `epoch.refused`: a resume or rollback of this run was refused before it changed anything,
    /// because a resource it would change carries a newer epoch than the run's (`held`, by
    /// `authority`): split brain, said in full in `reason`.
    public struct EpochRefused: RunEventPayload {
        public var step: String?
        public var host: String?
        public var action: String
        public var held: Int
        public var authority: String?
        public var runEpoch: Int
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case step, host, action, held, authority, reason
            case runEpoch = "run_epoch"
        }

        public init(
            step: String?, host: String?, action: String, held: Int, authority: String?, runEpoch: Int, reason: String
        ) {
            self.step = step
            self.host = host
            self.action = action
            self.held = held
            self.authority = authority
            self.runEpoch = runEpoch
            self.reason = reason
        }
    }
}
