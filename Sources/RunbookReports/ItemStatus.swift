import Foundation
import RunbookCore
import RunbookExecution

/// Where each item of a run's `for_each` steps stands (one line per item, e.g. per geo-rep
/// session): for the closing summary and `runbook status`.
public enum ItemStatus {
    /// One line per item, in the order of its list; empty when the plan has no `for_each`.
    ///
    /// - Parameter failures: the error of each instance that failed, by node id (from the
    ///   `step.finished` events: a rollback clears the step record's error).
    public static func lines(_ steps: [StepRecord], nodes: [PlanNode], failures: [String: String] = [:]) -> [String] {
        let records = Dictionary(steps.map { ($0.nodeID, $0) }, uniquingKeysWith: { $1 })
        var order: [String] = []
        var keys: [String: String] = [:]
        var instances: [String: [PlanNode]] = [:]
        for node in nodes {
            guard let item = node.item else { continue }
            if keys[item.identity] == nil {
                order.append(item.identity)
                keys[item.identity] = item.key
            }
            instances[item.identity, default: []].append(node)
        }
        guard !order.isEmpty else { return [] }
        let width = keys.values.map(\.count).max() ?? 0
        return order.map { identity in
            let nodes = instances[identity] ?? []
            let states = nodes.map { records[$0.id]?.state ?? .pending }
            let done = states.filter { $0 == .succeeded || $0 == .alreadyDone }.count
            let changed = nodes.filter { records[$0.id]?.changed == true }.count
            func first(_ wanted: Set<StepState>) -> PlanNode? {
                nodes.first { wanted.contains(records[$0.id]?.state ?? .pending) }
            }
            let stands: String
            let undone = states.filter { $0 == .undone }.count
            // The instance that failed: still failed, or undone since (its record keeps the error).
            let failedNode =
                first([.failed, .undoFailed])
                ?? nodes.first { records[$0.id]?.state == .undone && failures[$0.id] != nil }
            if let node = failedNode {
                // Whole: what failed may end in the paths that differ (issue 19, defect 13).
                let error = ReportText.firstLine(records[node.id]?.error ?? failures[node.id]).map { ": \($0)" } ?? ""
                stands = "FAILED at \(node.id)\(error)" + (undone > 0 ? "; rolled back (\(undone) undone)" : "")
            } else if states.contains(.undone) || states.contains(.undoing) {
                stands = "rolled back (\(states.filter { $0 == .undone }.count) undone)"
            } else if let node = first([.waiting]) {
                stands = "waiting at \(node.id)"
            } else if let node = first([.running, .undoing]) {
                stands = "running \(node.id)"
            } else if done == nodes.count {
                stands = "done"
            } else if let node = first([.skipped]), done == 0 || states.allSatisfy({ $0 != .pending }) {
                let why = ReportText.firstLine(records[node.id]?.error).map { ": \($0.prefix(80))" } ?? ""
                stands = "stopped\(why)"
            } else if let node = first([.pending, .cancelled]) {
                stands = "next: \(node.id)"
            } else {
                stands = "not finished"
            }
            let key = "[\(keys[identity] ?? "")]".padding(toLength: width + 2, withPad: " ", startingAt: 0)
            return "  \(key)  \(done)/\(nodes.count) done, \(changed) changed  \(stands)"
        }
    }

    /// The block `status` and the summary print: a title and the lines, or "" without items.
    public static func block(_ steps: [StepRecord], nodes: [PlanNode], events: [EventRecord] = []) -> String {
        var failures: [String: String] = [:]
        for record in events where record.type == "step.finished" {
            if case .stepFinished(let finished)? = record.event, finished.state == .failed, let step = finished.step {
                failures[step] = failures[step] ?? finished.error ?? "failed"
            }
        }
        let lines = lines(steps, nodes: nodes, failures: failures)
        guard !lines.isEmpty else { return "" }
        return "per item (for_each):\n" + lines.joined(separator: "\n") + "\n"
    }
}
