import Foundation
import RunbookCore

/// When a waiting gate times out and what happens then (`on_timeout`): for the prompt, the park
/// message, `status`, the report, and a `resume` that would roll back because the deadline passed.
public struct GateDeadline: Sendable, Equatable {
    /// The gate's node id (`go-ahead`, `differences[gv0]`).
    public var nodeID: String
    /// Its name for `runbook approve` (`differences[gv0]`).
    public var gate: String
    /// When it times out: first reached (across resumes) plus its `timeout`.
    public var at: Date
    public var timeout: Double
    public var onTimeout: GateTimeoutPolicy

    public init(nodeID: String, gate: String, at: Date, timeout: Double, onTimeout: GateTimeoutPolicy) {
        self.nodeID = nodeID
        self.gate = gate
        self.at = at
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    /// The deadline of a gate first reached at `firstReached`, or nil when it has no `timeout`.
    public init?(node: PlanNode, firstReached: Date?) {
        guard let gate = node.gate, let timeout = gate.timeout, let firstReached else { return nil }
        self.init(
            nodeID: node.id, gate: node.gateName, at: firstReached.addingTimeInterval(timeout), timeout: timeout,
            onTimeout: gate.onTimeout)
    }

    /// The deadlines of the gates that are waiting (the journal's `waiting` steps), in their order.
    public static func waiting(_ steps: [StepRecord], nodes: [PlanNode]) -> [GateDeadline] {
        let byID = Dictionary(nodes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return steps.filter { $0.state == .waiting }.compactMap { step in
            byID[step.nodeID].flatMap { GateDeadline(node: $0, firstReached: step.firstReachedAt ?? step.startedAt) }
        }
    }

    /// The first waiting gate whose deadline passed with `on_timeout: rollback` and that nobody
    /// answered (`answered`: the gates with a journaled approval): a `resume` rolls the run back.
    public static func rollsBack(_ steps: [StepRecord], nodes: [PlanNode], answered: Set<String>, now: Date)
        -> GateDeadline?
    {
        waiting(steps, nodes: nodes).first {
            $0.onTimeout == .rollback && $0.passed(now: now) && !answered.contains($0.gate)
        }
    }

    public func passed(now: Date) -> Bool { now >= at }

    /// What `on_timeout` does, in words.
    public var consequence: String {
        switch onTimeout {
        case .rollback: return "the gate fails and the run is rolled back (on_timeout: rollback)"
        case .abort: return "the gate fails and the run stops, nothing undone (on_timeout: abort)"
        case .proceed: return "the run proceeds as if approved (on_timeout: proceed)"
        }
    }

    /// `times out at 2026-12-06T22:10:00Z (in 9m12s): then the gate fails and ...`, or, once
    /// passed, `timed out at ... (3m ago): `runbook resume` will ..., unless the gate is answered
    /// before it` (a journaled answer is read before the deadline is).
    public func describe(now: Date) -> String {
        let when = time
        if passed(now: now) {
            let resume: String
            switch onTimeout {
            case .rollback: resume = "`runbook resume` will roll the run back (on_timeout: rollback)"
            case .abort: resume = "`runbook resume` will fail the gate and stop the run (on_timeout: abort)"
            case .proceed: resume = "`runbook resume` will proceed as if approved (on_timeout: proceed)"
            }
            return
                "timed out at \(when) (\(Self.span(now.timeIntervalSince(at))) ago): \(resume), unless the gate is answered before it"

        }
        return "times out at \(when) (in \(Self.span(at.timeIntervalSince(now)))): then \(consequence)"
    }

    /// The deadline, `2026-12-06T22:10:00Z`.
    public var time: String { JournalTimestamp.seconds(at) }

    /// Whole seconds, as `Value.formatDuration` writes them (`9m12s`).
    static func span(_ seconds: Double) -> String {
        Value.formatDuration(max(0, seconds.rounded()))
    }
}
