import Foundation
import RunbookCore

/// What `on_item_failure: isolate` keeps during a walk: each failed item's first failure, in
/// the order they failed, and the items left out of the run with why.
struct ItemLedger {
    struct Failure {
        let item: PlanItem
        let nodeID: String
        let why: String
        let policy: FailurePolicy
    }
    private(set) var failures: [String: Failure] = [:]
    private(set) var order: [String] = []
    var excluded: [String: String] = [:]

    /// An instance of `item` failed (only the item's first failure is kept).
    mutating func failed(_ item: PlanItem, at nodeID: String, why: String, policy: FailurePolicy) {
        guard failures[item.identity] == nil else { return }
        failures[item.identity] = Failure(item: item, nodeID: nodeID, why: why, policy: policy)
        order.append(item.identity)
    }
}

// The items of `for_each` steps in a run: which ones are left out, what a failed item's policy
// does to it alone, and where each stands.
extension Executor {
    /// The items a run leaves out before it starts: those whose precondition failed, and those
    /// rolled back in an earlier attempt (whose rollback is finished first: it may have been cut
    /// short). Their steps are not applied again; the other items go on.
    func itemsLeftOut(resuming: Bool) async -> [String: String] {
        var excluded =
            plan.preconditions.contains(where: { $0.item != nil }) ? excludedByPreconditions() : [:]
        guard resuming else { return excluded }
        let rollback = Rollback(executor: self)
        for (identity, item) in rollback.itemsRolledBack().sorted(by: { $0.key < $1.key }) {
            var note = ""
            if !rollback.entries(pastCommit: false, item: item).entries.isEmpty {
                let result = await rollback.run(
                    pastCommit: false, dryRun: false, reason: "resume: item [\(item.key)] was being rolled back",
                    item: item)
                note = result.failed.isEmpty ? "" : "; \(result.failed.count) undo(s) failed again"
            }
            excluded[identity] =
                "item [\(item.key)] left out: it was rolled back in an earlier attempt of this run" + note
        }
        return excluded
    }

    /// The end of a walk in which only items failed (or were left out): each failed item's policy
    /// applied to it alone (those under `rollback` are rolled back), then one line per item.
    func finishItems(_ items: ItemLedger, failures: [StepFailure]) async -> RunOutcome {
        var notes: [String: String] = [:]
        var rollbackFailed: [String] = []
        var rolledBack = false
        for identity in items.order {
            guard let failed = items.failures[identity], failed.policy == .rollback else { continue }
            rolledBack = true
            let result = await Rollback(executor: self).run(
                pastCommit: false, dryRun: false, reason: "step \(failed.nodeID) failed", item: failed.item)
            notes[identity] =
                "rolled back \(result.undone.count) step\(result.undone.count == 1 ? "" : "s")"
                + (result.stoppedAt.map { ", stopping at commit point \($0)" } ?? "")
                + (result.failed.isEmpty ? "" : "; \(result.failed.count) undo(s) failed")
            rollbackFailed.append(contentsOf: result.failed)
        }
        var lines = failures.map(\.line)
        lines.append(
            "per item (on_item_failure: isolate\(rolledBack ? "; only the failed items were rolled back" : "")):")
        lines.append(
            contentsOf: itemSummary(
                failed: items.failures.mapValues { ($0.nodeID, $0.why) }, excluded: items.excluded, notes: notes
            ).map { "  " + $0 })
        let summary = lines.joined(separator: "\n")
        if !rollbackFailed.isEmpty {
            return .rollbackFailed(summary + "\n" + Rollback.incomplete(rollbackFailed))
        }
        // The run as a whole was not rolled back: the other items stand (resume, or roll back the rest).
        return .failed(summary)
    }

    /// Items whose precondition failed in this run (journaled as a failed precondition instance
    /// or a `precondition.failed` event), by `PlanItem.identity`, with why: they are left out.
    func excludedByPreconditions() -> [String: String] {
        var failed: [String: String] = [:]
        for record in (try? journal.steps(runID: runID)) ?? [] where record.state == .failed {
            failed[record.nodeID] = record.error ?? "failed"
        }
        for record in (try? journal.events(runID: runID)) ?? [] {
            if case .preconditionFailed(let payload)? = record.event, let step = payload.step {
                failed[step] = payload.summary
            }
        }
        var excluded: [String: String] = [:]
        for node in plan.preconditions {
            guard let item = node.item, let why = failed[node.id], excluded[item.identity] == nil else { continue }
            excluded[item.identity] =
                "item [\(item.key)] left out: precondition \(node.id) failed: \(why); nothing of it was run"
        }
        return excluded
    }

    /// The end of a walk stopped by a `max_failed`: the run failed as a whole, so a failure whose
    /// policy is `rollback` rolls the whole run back (as without `for_each`); the summary says
    /// which budget and where each item stands.
    func finishOverBudget(_ exceeded: String, items: ItemLedger, failures: [StepFailure]) async -> RunOutcome {
        let rollsBack = failures.contains { $0.policy == .rollback }
        // Read after the rollback, so each item's line says where it stands then.
        func summary() -> String {
            var lines = failures.map(\.line)
            lines.append(exceeded)
            lines.append("per item (on_item_failure: isolate\(rollsBack ? "; the whole run was rolled back" : "")):")
            lines.append(
                contentsOf: itemSummary(
                    failed: items.failures.mapValues { ($0.nodeID, $0.why) }, excluded: items.excluded, notes: [:],
                    unstarted: "the budget was exceeded first"
                ).map { "  " + $0 })
            return lines.joined(separator: "\n")
        }
        guard rollsBack else { return .failed(summary()) }
        return await rollBackWholeRun(reason: exceeded, summary: summary)
    }

    /// The whole run rolled back (never past a commit point) after a failure whose policy asks
    /// for it; `summary` is read once the rollback is done.
    func rollBackWholeRun(reason: String, summary: () -> String) async -> RunOutcome {
        let result = await Rollback(executor: self).run(pastCommit: false, dryRun: false, reason: reason)
        let text = summary()
        return result.failed.isEmpty
            ? .rolledBack(text) : .rollbackFailed(text + "\n" + Rollback.incomplete(result.failed))
    }

    /// An item's key by its identity, for messages.
    func itemKey(_ identity: String) -> String {
        plan.nodes.first { $0.item?.identity == identity }?.item?.key ?? identity
    }

    /// One line per item of the run, in the order of their lists: what happened to it.
    /// `unstarted`: what to say of an item none of whose steps started (why they did not).
    func itemSummary(
        failed: [String: (String, String)], excluded: [String: String], notes: [String: String],
        unstarted: String? = nil
    ) -> [String] {
        let records = Dictionary(
            ((try? journal.steps(runID: runID)) ?? []).map { ($0.nodeID, $0) }, uniquingKeysWith: { $1 })
        var order: [String] = []
        var items: [String: PlanItem] = [:]
        var instances: [String: [PlanNode]] = [:]
        for node in plan.nodes {
            guard let item = node.item else { continue }
            if items[item.identity] == nil {
                order.append(item.identity)
                items[item.identity] = item
            }
            instances[item.identity, default: []].append(node)
        }
        return order.map { identity in
            let item = items[identity]!
            let nodes = instances[identity] ?? []
            let done = nodes.filter { [.succeeded, .alreadyDone].contains(records[$0.id]?.state) }.count
            let progress = "\(done) of \(nodes.count) step\(nodes.count == 1 ? "" : "s") done"
            if let (nodeID, why) = failed[identity] {
                let note = notes[identity].map { "; \($0)" } ?? ""
                return "item [\(item.key)]: failed at \(nodeID) (\(why)); \(progress)\(note)"
            }
            if let why = excluded[identity] { return why }
            if let unstarted, done == 0, nodes.allSatisfy({ records[$0.id]?.startedAt == nil }) {
                return "item [\(item.key)]: not started (\(unstarted)), \(progress)"
            }
            return "item [\(item.key)]: \(done == nodes.count ? "done" : "not finished"), \(progress)"
        }
    }
}
