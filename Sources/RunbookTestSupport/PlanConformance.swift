import Foundation
import RunbookCore
import RunbookExecution

/// Checks the promise "the plan shows exactly what will run" against a real journal: every
/// command any attempt of a run ran must appear in the journaled plan for that step instance
/// (its commands, a `choose` alternative's, or its declared undo), on a host the plan allows.
public enum PlanConformance {
    /// One command that ran without being in the plan, told for a test failure.
    public struct Violation: Sendable, CustomStringConvertible {
        public var nodeID: String
        public var phase: String
        public var host: String
        public var argv: [String]
        public var description: String { "\(nodeID) [\(phase)] on \(host): \(argv)" }
    }

    /// The violations of one run, and how many commands were checked.
    public static func check(journal: Journal, runID: String) throws -> (violations: [Violation], checked: Int) {
        guard let run = try journal.run(id: runID) else { return ([], 0) }
        let document = try PlanDocument.decode(run.planJSON)
        var nodes: [String: PlanNode] = [:]
        for node in document.preconditions + document.steps { nodes[node.id] = node }
        var violations: [Violation] = []
        var checked = 0
        for attempt in try journal.attempts(runID: runID) {
            for ran in attempt.commands {
                checked += 1
                guard let node = nodes[attempt.nodeID] else {
                    violations.append(
                        Violation(nodeID: attempt.nodeID, phase: attempt.phase.rawValue, host: ran.host, argv: ran.argv)
                    )
                    continue
                }
                if !allowed(ran, phase: attempt.phase, in: node) {
                    violations.append(
                        Violation(nodeID: attempt.nodeID, phase: attempt.phase.rawValue, host: ran.host, argv: ran.argv)
                    )
                }
            }
        }
        return (violations, checked)
    }

    /// Whether a command that ran is one the node's plan shows.
    public static func allowed(_ ran: RanCommand, phase: AttemptPhase, in node: PlanNode) -> Bool {
        var planned = node.commands
        for alternative in node.choice?.alternatives ?? [] { planned += alternative.commands }
        var undo: [UndoPlan] = [node.undo]
        for alternative in node.choice?.alternatives ?? [] { undo.append(alternative.undo) }
        for plan in undo {
            switch plan {
            case .commands(let commands): planned += commands
            case .derived: if phase == .undo { return true }  // decided at run time, as the plan says
            default: break
            }
        }
        // A host chosen at run time (`any(role)`) may be any candidate.
        let hosts = Set([node.host] + node.candidates)
        return planned.contains { command in
            (hosts.contains(command.host) || command.host == ran.host)
                && (hosts.contains(ran.host) || command.host == ran.host)
                && matches(command.command.argv, ran.argv)
        }
    }

    /// Planned argv against what ran: `<placeholder>`s, and values the plan could only show as
    /// `${{ ... }}` (known once earlier steps ran), match any text.
    public static func matches(_ planned: [String], _ actual: [String]) -> Bool {
        let templates = planned.map { element -> String in
            var text = element
            while let open = text.range(of: "${{"),
                let close = text.range(of: "}}", range: open.upperBound..<text.endIndex)
            {
                text.replaceSubrange(open.lowerBound..<close.upperBound, with: "<value>")
            }
            return text
        }
        return CommandSpec(argv: templates).matches(actual)
    }
}
