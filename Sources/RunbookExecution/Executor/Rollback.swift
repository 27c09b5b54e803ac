import Foundation
import RunbookCore

/// Undoes a run's changes: newest first, never past the last commit point unless asked,
/// each undo journaled, and steps already undone left alone (so rolling back twice is harmless).
///
/// An undo follows the rules a step follows: a declared undo's `check` runs first and, when it
/// exits 0, the undo is not run (it is recorded as undone); otherwise its intent (with what the
/// check observed) is committed before it runs and its outcome (with its `verify`) after. A
/// derived undo reads the world itself before changing anything. So an undo that was running
/// when `runbook` was killed, and whose command finished after it, is found done and not run
/// again (the commands a killed run left running are waited for before the lock is taken over).
public struct Rollback: Sendable {
    let executor: Executor

    public init(executor: Executor) {
        self.executor = executor
    }

    public struct Entry: Sendable, Hashable {
        public var nodeID: String
        public var host: String
        /// What will be done: the undo commands, or why nothing can be.
        public var action: String
        public var undoable: Bool
    }

    public struct Result: Sendable {
        public var undone: [String] = []
        public var failed: [String] = []
        public var skipped: [String] = []
        /// The commit point that stopped the rollback, if one did.
        public var stoppedAt: String?
    }

    /// The steps to undo, in order, and the commit point that bounds them.
    ///
    /// - Parameter item: only that item's instances (and the commit points that do not iterate,
    ///   which bound every item); nil for the whole run.
    public func entries(pastCommit: Bool, item: PlanItem? = nil) -> (entries: [Entry], stoppedAt: String?) {
        let records = (try? executor.journal.steps(runID: executor.runID)) ?? []
        let plan = executor.plan
        // Newest first: steps with no completion (failed or cut short mid-apply) are the newest.
        let ordered = records.sorted { a, b in
            switch (a.completionSeq, b.completionSeq) {
            case (let x?, let y?): return x > y
            case (nil, _?): return true
            case (_?, nil): return false
            default: return false
            }
        }
        let appliedInFlight = Set(
            ((try? executor.journal.inFlightAttempts(runID: executor.runID)) ?? []).filter { $0.phase == .apply }.map(
                \.nodeID))
        var entries: [Entry] = []
        var stoppedAt: String?
        let values = UndoValues(executor: executor, records: records)
        for record in ordered {
            guard var node = executor.nodeRunner.node(record.nodeID) else { continue }
            if let item, node.item?.identity != item.identity, !(node.item == nil && node.commit) { continue }
            if node.commit, record.state == .succeeded, !pastCommit {
                stoppedAt = node.id
                break
            }
            // An apply in flight when `runbook` died may have changed the world (its command
            // may even have finished after): it is undone like a change (undos are idempotent).
            let maybeChanged = record.changed || appliedInFlight.contains(record.nodeID)
            guard maybeChanged, record.state != .undone else { continue }
            let host = record.host ?? node.host
            if node.undecidedChoice {
                // The alternative taken at run time, as journaled when it was decided (in a journal
                // from before that was kept: found again from what the steps it read produced).
                guard let resolved = values.resolved(node, host: host, alternative: record.chosenAlternative) else {
                    entries.append(
                        Entry(
                            nodeID: node.id, host: host,
                            action: "the alternative it took cannot be found again (a value it read is unknown)",
                            undoable: false))
                    continue
                }
                node = resolved
            }
            switch node.undo {
            case .commands:
                let run = node.undo.commands(.undo).map { $0.command.shellText }.joined(separator: "; ")
                let check = node.undo.commands(.probe).map { "`\($0.command.shellText)`" }.joined(separator: ", ")
                entries.append(
                    Entry(
                        nodeID: node.id, host: host,
                        action: check.isEmpty ? run : "\(run) (unless its check \(check) exits 0)", undoable: true))
            case .derived(let text):
                entries.append(Entry(nodeID: node.id, host: host, action: text, undoable: true))
            case .irreversible:
                entries.append(
                    Entry(nodeID: node.id, host: host, action: "irreversible: cannot be undone", undoable: false))
            case .none:
                continue  // it changes nothing
            case .missing:
                entries.append(
                    Entry(nodeID: node.id, host: host, action: "no undo declared: cannot be undone", undoable: false))
            }
        }
        return (entries, stoppedAt)
    }

    public func run(pastCommit: Bool, dryRun: Bool, reason: String, item: PlanItem? = nil) async -> Result {
        let (entries, stoppedAt) = entries(pastCommit: pastCommit, item: item)
        var result = Result(stoppedAt: stoppedAt)
        if dryRun { return result }
        executor.emit(
            .rollbackStarted(
                .init(reason: reason, steps: entries.map(\.nodeID), stopsAt: stoppedAt, item: item?.key)))
        let journaled = (try? executor.journal.steps(runID: executor.runID)) ?? []
        let records = Dictionary(journaled.map { ($0.nodeID, $0) }, uniquingKeysWith: { $1 })
        let values = UndoValues(executor: executor, records: journaled)
        let attempts = (try? executor.journal.attempts(runID: executor.runID)) ?? []
        for entry in entries {
            guard let planned = executor.nodeRunner.node(entry.nodeID) else { continue }
            guard entry.undoable else {
                executor.emit(.rollbackSkipped(.init(step: entry.nodeID, host: entry.host, reason: entry.action)))
                result.skipped.append("\(entry.nodeID): \(entry.action)")
                continue
            }
            let node =
                values.resolved(planned, host: entry.host, alternative: records[entry.nodeID]?.chosenAlternative)
                ?? planned
            guard let type = executor.nodeRunner.type(of: node) else {
                result.failed.append("\(entry.nodeID): no implementation for '\(node.typeName)'")
                continue
            }
            let earlier = attempts.filter { $0.nodeID == node.id && Self.undoPhases.contains($0.phase) }
            switch await undo(
                node, type: type, entry: entry, undoState: records[node.id]?.observedJSON, earlier: earlier,
                stepFailure: Self.stepFailure(records[node.id]))
            {
            case .none: result.undone.append(node.id)
            case .some(let why): result.failed.append("\(node.id) on \(entry.host): \(why)")
            }
        }
        executor.emit(
            .rollbackFinished(.init(undone: result.undone, failed: result.failed.count, stoppedAt: stoppedAt)))
        return result
    }

    /// What an undo is resolved with: the journaled steps' outputs (per item for a `for_each`
    /// instance), as the step was when it ran; a `choose` decided at run time takes the
    /// alternative journaled as taken, so that alternative's undo is the one run (a journal from
    /// before it was kept: the one its conditions choose with those outputs).
    struct UndoValues {
        let executor: Executor
        let stepValues: StepValues

        init(executor: Executor, records: [StepRecord]) {
            self.executor = executor
            stepValues = StepValues(records: records, runner: executor.nodeRunner, onlyDone: false)
        }

        /// The node resolved on `host` (a `choose` taking `alternative`, when journaled); nil when
        /// it cannot be (or, for a `choose`, when the alternative taken is still not known).
        func resolved(_ planned: PlanNode, host: String, alternative: Int?) -> PlanNode? {
            let values = stepValues.values(for: planned.item)
            guard
                case .success(let node) = executor.nodeRunner.resolve(
                    planned, host: host, stepValues: values, runID: executor.runID, alternative: alternative),
                !node.undecidedChoice
            else { return nil }
            return node
        }
    }

    /// `ROLLBACK INCOMPLETE` and the undos that failed (`step on host: message`), one a line.
    public static func incomplete(_ failed: [String]) -> String {
        "ROLLBACK INCOMPLETE: \(failed.count) undo\(failed.count == 1 ? "" : "s") failed:\n"
            + failed.map { "  \($0)" }.joined(separator: "\n")
    }

    /// A rollback that began: whether it went past the last commit point.
    public struct Began: Sendable {
        public var pastCommit: Bool
    }

    /// The items (by `PlanItem.identity`) whose rollback began in an earlier attempt of the run:
    /// one of their instances is being undone, was undone or failed to be.
    public func itemsRolledBack() -> [String: PlanItem] {
        let undoStates: Set<StepState> = [.undoing, .undone, .undoFailed]
        var items: [String: PlanItem] = [:]
        for record in (try? executor.journal.steps(runID: executor.runID)) ?? []
        where undoStates.contains(record.state) {
            if let item = executor.nodeRunner.node(record.nodeID)?.item { items[item.identity] = item }
        }
        return items
    }

    /// The step record's error once its undo ended: a step that failed keeps its failure (it is
    /// still the step's outcome, the rollback beside it); an undo that failed says so first.
    static func error(after state: StepState, undoFailure: String?, stepFailure: String?) -> String? {
        guard state == .undoFailed, let undoFailure else { return stepFailure }
        return "undo failed: \(undoFailure)" + (stepFailure.map { "\n\(failedBeforeUndo)\($0)" } ?? "")
    }

    static let failedBeforeUndo = "the step had failed: "

    /// The failure of a step before (or while) it is undone: its error while `failed`, what its
    /// error keeps of it once undone (or an undo of it failed); nil for a step that did not fail.
    public static func stepFailure(_ record: StepRecord?) -> String? {
        guard let record else { return nil }
        switch record.state {
        case .failed: return record.error
        case .undone, .undoFailed, .undoing: return stepFailure(record.error)
        default: return nil
        }
    }

    /// The step's own failure in a stored error: without what an undo that failed added before it.
    static func stepFailure(_ stored: String?) -> String? {
        guard let stored else { return nil }
        guard stored.hasPrefix("undo failed: ") else { return stored }
        return stored.range(of: "\n" + failedBeforeUndo).map { String(stored[$0.upperBound...]) }
    }

    /// The attempt phases of an undo.
    static let undoPhases: Set<AttemptPhase> = [.undoCheck, .undo, .undoVerify]

    /// Whether a rollback of this run began (a step is being undone, was undone, or failed to
    /// be), and if so whether it went past the last commit point: a resume finishes it.
    ///
    /// Under `on_item_failure: isolate` the rollback of one `for_each` item is not the run's: the
    /// executor finishes it on resume (`itemsRolledBack`) and the other items go on.
    public func began() -> Began? {
        let records = (try? executor.journal.steps(runID: executor.runID)) ?? []
        let undoStates: Set<StepState> = [.undoing, .undone, .undoFailed]
        let isolate = executor.plan.runbook.onItemFailure == .isolate
        let touched = records.filter { record in
            undoStates.contains(record.state) && !(isolate && executor.nodeRunner.node(record.nodeID)?.item != nil)
        }
        guard !touched.isEmpty else { return nil }
        // The newest commit point passed; an undo of a step completed before it went past it.
        let commit = records.filter { record in
            record.state == .succeeded && executor.nodeRunner.node(record.nodeID)?.commit == true
        }.compactMap(\.completionSeq).max()
        guard let commit else { return Began(pastCommit: false) }
        return Began(pastCommit: touched.contains { ($0.completionSeq ?? Int.max) < commit })
    }

    /// Undoes one step. A declared undo's `check` runs first: exit 0 records the step undone in
    /// one commit, and nothing runs. Otherwise the intent (its state, event, the check's attempt
    /// and the undo's attempt) is committed before the undo runs, the outcome (with its verify)
    /// after. Undo attempts a killed `runbook` left in flight are closed as interrupted with the
    /// first commit (their commands were waited for when the lock was taken over). Returns nil
    /// when undone, else why not.
    ///
    /// `stepFailure`: the step's own failure, kept in its record beside the undo's outcome.
    func undo(
        _ node: PlanNode, type: any ActionType, entry: Entry, undoState: String?, earlier: [AttemptRecord],
        stepFailure: String?
    ) async -> String? {
        let host = entry.host
        let number = (earlier.map(\.number).max() ?? 0) + 1
        // Written with the next commit, whichever it is.
        var done: [AttemptWrite] = earlier.filter(\.isInFlight).map { attempt in
            .finish(
                id: attempt.id,
                AttemptEnd(
                    outcome: AttemptOutcome.interrupted,
                    error: "the runbook process running it stopped before its outcome was journaled"))
        }
        func finished(_ state: StepState, failure: String?, summary: String?) -> JournalBatch {
            let event = RunEvent.undoFinished(
                .init(step: node.id, host: host, state: state, error: failure, summary: summary))
            var batch = executor.batch(node, host: host) {
                $0.state = state
                $0.error = Self.error(after: state, undoFailure: failure, stepFailure: stepFailure)
            }
            batch.attempts = done
            batch.events = [event]
            done = []
            return batch
        }
        func record(_ batch: JournalBatch) {
            executor.record(batch, what: "the undo of \(node.id)")
            for event in batch.events { executor.tell(event) }
        }

        // The undo's check: exit 0 means already undone.
        let checks = node.undo.commands(.probe)
        if !checks.isEmpty {
            let start = AttemptStart(
                nodeID: node.id, phase: .undoCheck, number: number, intent: executor.intent(checks, fallback: "check"))
            let log = CommandLog()
            let context = executor.context(node, host: host, phase: .probe, log: log)
            do {
                var failed: CommandResult?
                var last: CommandResult?
                for check in checks {
                    let result = try await context.run(check)
                    last = result
                    if !result.succeeded {
                        failed = result
                        break
                    }
                }
                if failed == nil {
                    done.append(
                        .record(
                            start,
                            AttemptEnd(
                                outcome: "done", exitCode: last?.exitCode.map(Int.init), stdout: last?.stdout ?? "",
                                stderr: last?.stderr ?? "", commands: Executor.ran(log))))
                    record(finished(.undone, failure: nil, summary: "already undone: check exited 0"))
                    return nil
                }
                done.append(
                    .record(
                        start,
                        AttemptEnd(
                            outcome: "notDone", exitCode: failed?.exitCode.map(Int.init),
                            stdout: failed?.stdout ?? "", stderr: failed?.stderr ?? "", commands: Executor.ran(log))))
            } catch {
                let why = (error as? TransportError).map { $0.explanation(on: host) } ?? "\(error)"
                done.append(.record(start, Executor.end(error, why: why)))
                let failure = "the undo's check could not run, so the undo was not run: \(why)"
                record(finished(.undoFailed, failure: failure, summary: nil))
                return failure
            }
        }

        // The intent, with what the check observed, is durable before the undo runs.
        let undoCommands = node.undo.commands(.undo)
        let start = AttemptStart(
            nodeID: node.id, phase: .undo, number: number, intent: executor.intent(undoCommands, fallback: entry.action)
        )
        let started = RunEvent.undoStarted(.init(step: node.id, host: host, undo: entry.action))
        var intent = executor.batch(node, host: host) { $0.state = .undoing }
        intent.events = [started]
        intent.attempts = done + [.begin(start)]
        let id: Int64
        do {
            guard let begun = try executor.journal.commit(intent).attemptIDs.last else { return "no attempt id" }
            id = begun
        } catch {
            return "the undo could not be journaled, so it was not run: \(error)"
        }
        done = []
        executor.tell(started)

        var failure: String?
        var summary: String?
        do {
            let log = CommandLog()
            let effect = try await type.undo(
                executor.context(node, host: host, phase: .undo, log: log), undoState: undoState)
            let end = Executor.end(
                effect, outcome: effect.succeeded ? AttemptOutcome.ok : AttemptOutcome.failed, log: log)
            done.append(.finish(id: id, end))
            if effect.succeeded { summary = effect.summary } else { failure = effect.summary }
        } catch {
            let why = (error as? TransportError).map { $0.explanation(on: host) } ?? "\(error)"
            done.append(.finish(id: id, Executor.end(error, why: why)))
            failure = why
        }
        // The undo's verify, after an undo that succeeded.
        let verifies = node.undo.commands(.verify)
        if failure == nil, !verifies.isEmpty {
            let verifying = AttemptStart(
                nodeID: node.id, phase: .undoVerify, number: number,
                intent: executor.intent(verifies, fallback: "verify"))
            let log = CommandLog()
            do {
                let verified = try await type.runCommands(
                    verifies, context: executor.context(node, host: host, phase: .verify, log: log),
                    what: "undo verify")
                let outcome = verified.succeeded ? AttemptOutcome.ok : AttemptOutcome.failed
                done.append(.record(verifying, Executor.end(verified, outcome: outcome, log: log)))
                if !verified.succeeded { failure = verified.summary }
            } catch {
                let why = (error as? TransportError).map { $0.explanation(on: host) } ?? "\(error)"
                done.append(.record(verifying, Executor.end(error, why: why)))
                failure = why
            }
        }
        record(finished(failure == nil ? .undone : .undoFailed, failure: failure, summary: summary))
        return failure
    }
}
