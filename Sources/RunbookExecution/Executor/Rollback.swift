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
    public func entries(pastCommit: Bool) -> (entries: [Entry], stoppedAt: String?) {
        let records = (try? executor.journal.steps(runID: executor.runID)) ?? []
        let plan = executor.plan
        // Newest first: steps with no completion (failed or cut short mid-apply) are the newest.
        let ordered = records.sorted { a, b in
            switch (a.completionSeq, b.completionSeq) {
            case let (x?, y?): return x > y
            case (nil, _?): return true
            case (_?, nil): return false
            default: return false
            }
        }
        var entries: [Entry] = []
        var stoppedAt: String?
        for record in ordered {
            guard let node = executor.nodeRunner.node(record.nodeID) else { continue }
            if node.commit, record.state == .succeeded, !pastCommit {
                stoppedAt = node.id
                break
            }
            guard record.changed, record.state != .undone else { continue }
            let host = record.host ?? node.host
            switch node.undo {
            case .commands(let commands):
                entries.append(Entry(nodeID: node.id, host: host, action: commands.map { $0.command.shellText }.joined(separator: "; "), undoable: true))
            case .derived(let text):
                entries.append(Entry(nodeID: node.id, host: host, action: text, undoable: true))
            case .irreversible:
                entries.append(Entry(nodeID: node.id, host: host, action: "irreversible: cannot be undone", undoable: false))
            case .none:
                continue  // it changes nothing
            case .missing:
                entries.append(Entry(nodeID: node.id, host: host, action: "no undo declared: cannot be undone", undoable: false))
            }
        }
        return (entries, stoppedAt)
    }

    public func run(pastCommit: Bool, dryRun: Bool, reason: String) async -> Result {
        let (entries, stoppedAt) = entries(pastCommit: pastCommit)
        var result = Result(stoppedAt: stoppedAt)
        if dryRun { return result }
        executor.emit(RunEvent("rollback.started", fields: [
            "reason": reason, "steps": entries.map(\.nodeID).joined(separator: ","), "stops_at": stoppedAt ?? "",
        ]))
        let records = Dictionary(((try? executor.journal.steps(runID: executor.runID)) ?? []).map { ($0.nodeID, $0) }, uniquingKeysWith: { $1 })
        let stepValues = NodeRunner.stepValues(Array(records.values), onlyDone: false)
        for entry in entries {
            guard let planned = executor.nodeRunner.node(entry.nodeID) else { continue }
            guard entry.undoable else {
                executor.emit(RunEvent("rollback.skipped", step: entry.nodeID, host: entry.host, fields: ["reason": entry.action]))
                result.skipped.append("\(entry.nodeID): \(entry.action)")
                continue
            }
            let resolved = executor.nodeRunner.resolve(planned, host: entry.host, stepValues: stepValues, runID: executor.runID)
            let node = (try? resolved.get()) ?? planned
            guard let type = executor.nodeRunner.type(of: node) else {
                result.failed.append("\(entry.nodeID): no implementation for '\(node.typeName)'")
                continue
            }
            executor.record(node, host: entry.host, { $0.state = .undoing },
                            event: RunEvent("undo.started", step: node.id, host: entry.host, fields: ["undo": entry.action]))
            do {
                let undoCommands: [PlannedCommand]
                if case .commands(let commands) = node.undo { undoCommands = commands } else { undoCommands = [] }
                let id = try executor.journal.beginAttempt(runID: executor.runID, nodeID: node.id, phase: .undo, number: 1,
                                                           intent: executor.intent(undoCommands, fallback: entry.action))
                let log = CommandLog()
                let effect = try await type.undo(executor.context(node, host: entry.host, phase: .undo, log: log),
                                                 undoState: records[node.id]?.observedJSON)
                try executor.journal.finishAttempt(id: id, outcome: effect.succeeded ? AttemptOutcome.ok : AttemptOutcome.failed,
                                                   exitCode: effect.result?.exitCode.map(Int.init), stdout: effect.result?.stdout ?? "",
                                                   stderr: effect.result?.stderr ?? "", error: effect.succeeded ? nil : effect.summary,
                                                   commands: Executor.ran(log))
                if effect.succeeded {
                    executor.record(node, host: entry.host, { $0.state = .undone; $0.error = nil },
                                    event: RunEvent("undo.finished", step: node.id, host: entry.host, fields: ["state": "undone"]))
                    result.undone.append(node.id)
                } else {
                    executor.record(node, host: entry.host, { $0.state = .undoFailed; $0.error = effect.summary },
                                    event: RunEvent("undo.finished", step: node.id, host: entry.host, fields: ["state": "undoFailed", "error": effect.summary]))
                    result.failed.append("\(node.id): \(effect.summary)")
                }
            } catch {
                let why = (error as? TransportError).map { $0.explanation(on: entry.host) } ?? "\(error)"
                executor.record(node, host: entry.host, { $0.state = .undoFailed; $0.error = why },
                                event: RunEvent("undo.finished", step: node.id, host: entry.host, fields: ["state": "undoFailed", "error": why]))
                result.failed.append("\(node.id): \(why)")
            }
        }
        executor.emit(RunEvent("rollback.finished", fields: [
            "undone": result.undone.joined(separator: ","), "failed": "\(result.failed.count)", "stopped_at": stoppedAt ?? "",
        ]))
        return result
    }
}
