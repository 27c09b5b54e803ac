import Foundation
import RunbookCore

/// Undoes a run's changes: newest first, never past the last commit point unless asked,
/// each undo journaled, and steps already undone left alone (so rolling back twice is harmless).
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
        var entries: [Entry] = []
        var stoppedAt: String?
        for record in ordered {
            guard let node = executor.nodeRunner.node(record.nodeID) else { continue }
            if let item, node.item?.identity != item.identity, !(node.item == nil && node.commit) { continue }
            if node.commit, record.state == .succeeded, !pastCommit {
                stoppedAt = node.id
                break
            }
            guard record.changed, record.state != .undone else { continue }
            let host = record.host ?? node.host
            switch node.undo {
            case .commands(let commands):
                entries.append(
                    Entry(
                        nodeID: node.id, host: host,
                        action: commands.map { $0.command.shellText }.joined(separator: "; "), undoable: true))
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
        let records = Dictionary(
            ((try? executor.journal.steps(runID: executor.runID)) ?? []).map { ($0.nodeID, $0) },
            uniquingKeysWith: { $1 })
        let stepValues = NodeRunner.stepValues(Array(records.values), onlyDone: false)
        let itemValues = executor.nodeRunner.itemValues(Array(records.values), onlyDone: false)
        for entry in entries {
            guard let planned = executor.nodeRunner.node(entry.nodeID) else { continue }
            guard entry.undoable else {
                executor.emit(.rollbackSkipped(.init(step: entry.nodeID, host: entry.host, reason: entry.action)))
                result.skipped.append("\(entry.nodeID): \(entry.action)")
                continue
            }
            var values = stepValues
            if let item = planned.item {
                for (id, value) in itemValues[item.identity] ?? [:] { values[id] = value }
            }
            let resolved = executor.nodeRunner.resolve(
                planned, host: entry.host, stepValues: values, runID: executor.runID)
            let node = (try? resolved.get()) ?? planned
            guard let type = executor.nodeRunner.type(of: node) else {
                result.failed.append("\(entry.nodeID): no implementation for '\(node.typeName)'")
                continue
            }
            switch await undo(node, type: type, entry: entry, undoState: records[node.id]?.observedJSON) {
            case .none: result.undone.append(node.id)
            case .some(let why): result.failed.append("\(node.id): \(why)")
            }
        }
        executor.emit(
            .rollbackFinished(.init(undone: result.undone, failed: result.failed.count, stoppedAt: stoppedAt)))
        return result
    }

    /// Undoes one step: the intent (its state, event and attempt) is committed before the undo
    /// runs, the outcome after. Returns nil when undone, else why not.
    func undo(_ node: PlanNode, type: any ActionType, entry: Entry, undoState: String?) async -> String? {
        let host = entry.host
        let undoCommands: [PlannedCommand]
        if case .commands(let commands) = node.undo { undoCommands = commands } else { undoCommands = [] }
        let start = AttemptStart(
            nodeID: node.id, phase: .undo, number: 1, intent: executor.intent(undoCommands, fallback: entry.action))
        let started = RunEvent.undoStarted(.init(step: node.id, host: host, undo: entry.action))
        var intent = executor.batch(node, host: host) { $0.state = .undoing }
        intent.events = [started]
        intent.attempts = [.begin(start)]
        let id: Int64
        do {
            guard let begun = try executor.journal.commit(intent).attemptIDs.last else { return "no attempt id" }
            id = begun
        } catch {
            return "the undo could not be journaled, so it was not run: \(error)"
        }
        executor.tell(started)

        var end: AttemptEnd
        var failure: String?
        do {
            let log = CommandLog()
            let effect = try await type.undo(
                executor.context(node, host: host, phase: .undo, log: log), undoState: undoState)
            end = Executor.end(effect, outcome: effect.succeeded ? AttemptOutcome.ok : AttemptOutcome.failed, log: log)
            if !effect.succeeded { failure = effect.summary }
        } catch {
            let why = (error as? TransportError).map { $0.explanation(on: host) } ?? "\(error)"
            end = Executor.end(error, why: why)
            failure = why
        }
        let state: StepState = failure == nil ? .undone : .undoFailed
        let finished = RunEvent.undoFinished(.init(step: node.id, host: host, state: state, error: failure))
        var outcome = executor.batch(node, host: host) {
            $0.state = state
            $0.error = failure
        }
        outcome.attempts = [.finish(id: id, end)]
        outcome.events = [finished]
        executor.record(outcome, what: "the undo of \(node.id)")
        executor.tell(finished)
        return failure
    }
}
