import Foundation
import RunbookCore

extension RunEvent {
    /// `objective.measured`: one of the runbook's objectives as the run measured it when it ended.
    public struct ObjectiveMeasured: RunEventPayload {
        public var name: String
        /// The objective as written: `15m`, `100`.
        public var max: String
        /// `seconds` (a duration objective: `max_value`, `value` and `excess` are seconds) or `number`.
        public var unit: String
        public var maxValue: Double
        /// The expression it was measured with.
        public var measure: String
        /// What was measured, as text (`4m12s`); nil when it could not be measured.
        public var measured: String?
        public var value: Double?
        public var met: Bool?
        /// `value - max_value`: positive when missed, by that much.
        public var excess: Double?
        /// Why it could not be measured.
        public var note: String?

        enum CodingKeys: String, CodingKey {
            case name, max, unit, measure, measured, value, met, excess, note
            case maxValue = "max_value"
        }

        public init(_ m: ObjectiveMeasurement) {
            name = m.name
            max = m.max.renderedForText
            unit = m.max.isDuration ? "seconds" : "number"
            maxValue = Self.number(m.max) ?? 0
            measure = m.measure
            measured = m.measured.map(ObjectiveMeasurement.text)
            value = m.measured.flatMap(Self.number)
            met = m.met
            excess = m.excess.map { ($0 * 1000).rounded() / 1000 }
            note = m.note
        }

        static func number(_ value: Value) -> Double? {
            switch value {
            case .duration(let d), .double(let d): return d
            case .int(let n): return Double(n)
            default: return nil
            }
        }

        /// How much over or under, in the objective's unit.
        public var excessText: String? {
            guard let excess else { return nil }
            let magnitude = Swift.abs(excess)
            if unit == "seconds" { return ObjectiveMeasurement.durationText(magnitude) }
            return magnitude == magnitude.rounded() && magnitude < 1e15 ? String(Int(magnitude)) : String(magnitude)
        }

        /// One line for people: `rto: 4m12s, objective 15m: met (10m48s to spare)`.
        public var summary: String {
            guard let measured, let met else { return "\(name) (at most \(max)): \(note ?? "not measured")" }
            if met { return "\(name): \(measured), objective \(max): met (\(excessText ?? "0") to spare)" }
            return "\(name): \(measured), objective \(max): MISSED by \(excessText ?? "?")"
        }
    }
}

/// Measures a runbook's objectives from what the journal holds about a run.
public enum ObjectiveMeasurer {
    /// The wait for the plan's confirmation ("Run this plan?"): from the run's `startedAt` (taken
    /// when the plan has been shown) for its `run.started` event's `confirmed_after` seconds. Nil
    /// when nobody was asked (`--yes`), for a run refused before (a precondition), and for runs
    /// journaled before it was recorded.
    public static func confirmation(startedAt: Date, events: [EventRecord]) -> (Date, Date)? {
        for record in events where record.type == "run.started" {
            guard case .runStarted(let started)? = record.event, let after = started.confirmedAfter, after > 0 else {
                return nil
            }
            return (startedAt, startedAt.addingTimeInterval(after))
        }
        return nil
    }

    /// The time spent waiting for people: the plan's confirmation (`confirmation`) and each
    /// approval gate's span from when it was first reached to when it was answered (or `end`, if
    /// it was not), counted once where they overlap.
    public static func waited(
        steps: [StepRecord], approvalGates: Set<String>, end: Date, confirmation: (Date, Date)? = nil
    ) -> Double {
        var spans: [(Date, Date)] = confirmation.map { [$0] } ?? []
        for step in steps where approvalGates.contains(step.nodeID) {
            guard let from = step.firstReachedAt ?? step.startedAt else { continue }
            let to = step.finishedAt ?? end
            if to > from { spans.append((from, to)) }
        }
        spans.sort { $0.0 < $1.0 }
        var total = 0.0
        var current: (Date, Date)?
        for span in spans {
            if let open = current, span.0 <= open.1 {
                current = (open.0, max(open.1, span.1))
            } else {
                if let open = current { total += open.1.timeIntervalSince(open.0) }
                current = span
            }
        }
        if let open = current { total += open.1.timeIntervalSince(open.0) }
        return total
    }

    /// The approval gates of a plan, by node id.
    public static func approvalGates(_ plan: Plan) -> Set<String> {
        Set(plan.nodes.filter { $0.kind == .gate && $0.gate?.type == .approval }.map(\.id))
    }

    /// What a measure reads: the plan's names, the done steps' outputs, and `run.*`.
    public static func context(
        plan: Plan, runID: String, steps: [StepRecord], startedAt: Date, end: Date, confirmation: (Date, Date)? = nil
    ) -> EvaluationContext {
        var context = plan.context
        if case .map(var values)? = context.roots["steps"] {
            for (id, value) in NodeRunner.stepValues(steps, onlyDone: true) { values[id] = value }
            context.roots["steps"] = .map(values)
        }
        let elapsed = (end.timeIntervalSince(startedAt) * 1000).rounded() / 1000
        let waited =
            (waited(steps: steps, approvalGates: approvalGates(plan), end: end, confirmation: confirmation) * 1000)
            .rounded() / 1000
        context.roots["run"] = .map([
            "id": .string(runID), "elapsed": .duration(max(0, elapsed)), "waited": .duration(max(0, waited)),
            "started": .timestamp(startedAt),
        ])
        context.now = end
        return context
    }

    /// Every objective of the plan's runbook, measured.
    public static func measure(
        plan: Plan, runID: String, steps: [StepRecord], startedAt: Date, end: Date, confirmation: (Date, Date)? = nil
    ) -> [ObjectiveMeasurement] {
        let objectives = plan.runbook.objectives
        guard !objectives.isEmpty else { return [] }
        let context = context(
            plan: plan, runID: runID, steps: steps, startedAt: startedAt, end: end, confirmation: confirmation)
        return objectives.map { $0.measured(in: context) }
    }
}
