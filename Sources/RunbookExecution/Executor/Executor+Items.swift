import Foundation
import RunbookCore

// The items of `for_each` steps in a run: which ones a precondition left out, and where each stands.
extension Executor {
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

    /// One line per item of the run, in the order of their lists: what happened to it.
    func itemSummary(failed: [String: (String, String)], excluded: [String: String], notes: [String: String])
        -> [String]
    {
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
            return "item [\(item.key)]: \(done == nodes.count ? "done" : "not finished"), \(progress)"
        }
    }
}

extension Plan {
    /// Whether a failed precondition refuses the whole run: not one of a `for_each` item under
    /// `on_item_failure: isolate` (that item is left out, the others run).
    public func preconditionFailureStopsRun(_ nodeID: String) -> Bool {
        guard runbook.onItemFailure == .isolate else { return true }
        return preconditions.first { $0.id == nodeID }?.item == nil
    }
}
