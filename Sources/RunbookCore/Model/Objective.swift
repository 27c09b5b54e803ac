import Foundation

/// A recovery objective a runbook promises, and how a run measures it.
///
/// ```yaml
/// objectives:
///   rto: {max: 15m, measure: run.elapsed - run.waited}
///   rpo: {max: 5m, measure: steps.rpo.outputs.lag}
/// ```
///
/// `measure` is an expression evaluated when the run ends, over the step outputs (as
/// `steps.ID.outputs.F`) and the run's timings (`run.elapsed`, `run.waited`, `run.started`).
public struct Objective: Sendable {
    /// The objective's name (`rto`, `rpo`, ...), as written.
    public var name: String
    /// Where the name is.
    public var location: SourceLocation
    /// The largest measured value that meets the objective: a duration or a number.
    public var max: Located<Value>
    /// How the objective is measured.
    public var measure: LocatedExpression
    public var description: String?

    public init(
        name: String, location: SourceLocation, max: Located<Value>, measure: LocatedExpression,
        description: String? = nil
    ) {
        self.name = name
        self.location = location
        self.max = max
        self.measure = measure
        self.description = description
    }

    /// The names `measure` reads under `run.`, besides `run.id`.
    public static let runTimings = ["elapsed", "waited", "started"]

    /// Evaluates `measure` in `context` (the run's step values and timings) and compares it with `max`.
    public func measured(in context: EvaluationContext) -> ObjectiveMeasurement {
        var result = ObjectiveMeasurement(
            name: name, max: max.value, measure: measure.source, measured: nil, met: nil, excess: nil, note: nil)
        let value: Value
        do {
            value = try measure.expression.evaluate(in: context)
        } catch {
            result.note = "could not be measured: \(error.message)"
            return result
        }
        guard let amount = Self.amount(value, against: max.value) else {
            result.note =
                value == .unknown || value == .null
                ? "could not be measured: `\(measure.source)` has no value in this run (did its steps run?)"
                : "could not be measured: `\(measure.source)` is \(value.typeName), not \(Self.kind(of: max.value))"
            return result
        }
        let limit = Self.amount(max.value, against: max.value) ?? 0
        result.measured = max.value.isDuration ? .duration(amount) : value
        result.met = amount <= limit
        result.excess = amount - limit
        return result
    }

    /// A measured value as a number comparable with `max`: durations in seconds, and a number
    /// measured against a duration as seconds; nil when it cannot be compared.
    static func amount(_ value: Value, against max: Value) -> Double? {
        switch (value, max) {
        case (.duration(let seconds), .duration): return seconds
        case (.int(let n), _): return Double(n)
        case (.double(let d), _) where d.isFinite: return d
        default: return nil
        }
    }

    static func kind(of max: Value) -> String {
        max.isDuration ? "a duration (or a number of seconds)" : "a number"
    }
}

extension Value {
    /// Whether this is a duration.
    public var isDuration: Bool {
        if case .duration = self { return true }
        return false
    }
}

/// One objective as a run measured it (journaled as an `objective.measured` event).
public struct ObjectiveMeasurement: Sendable, Equatable {
    public var name: String
    /// The objective: at most this.
    public var max: Value
    /// The expression it was measured with.
    public var measure: String
    /// What was measured; nil when it could not be (`note` says why).
    public var measured: Value?
    /// Whether `measured` is at most `max`; nil when it could not be measured.
    public var met: Bool?
    /// `measured - max`, in seconds for durations: positive when missed, by that much.
    public var excess: Double?
    public var note: String?

    public init(
        name: String, max: Value, measure: String, measured: Value?, met: Bool?, excess: Double?, note: String?
    ) {
        self.name = name
        self.max = max
        self.measure = measure
        self.measured = measured
        self.met = met
        self.excess = excess
        self.note = note
    }

    /// Missed, or not measured (which proves nothing either).
    public var missed: Bool { met != true }

    /// `max` and `excess` as text: `15m`, `+2m30s`.
    public static func text(_ value: Value) -> String { value.renderedForText }

    /// How much over (or under) the objective, in its unit: `2m30s`, `12`.
    public var excessText: String? {
        guard let excess else { return nil }
        let magnitude = Swift.abs(excess)
        if max.isDuration { return Value.formatDuration(magnitude) }
        return magnitude == magnitude.rounded() && magnitude < 1e15 ? String(Int(magnitude)) : String(magnitude)
    }

    /// One line for people: `rto: 4m12s, objective 15m: met (10m48s to spare)`.
    public var summary: String {
        let target = ObjectiveMeasurement.text(max)
        guard let measured, let met else { return "\(name) (at most \(target)): \(note ?? "not measured")" }
        let value = ObjectiveMeasurement.text(measured)
        if met { return "\(name): \(value), objective \(target): met (\(excessText ?? "0") to spare)" }
        return "\(name): \(value), objective \(target): MISSED by \(excessText ?? "?")"
    }
}
