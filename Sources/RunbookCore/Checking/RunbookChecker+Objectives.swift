import Foundation

/// `objectives:`: each measure reads names that exist, and can give a value comparable with its `max`.
extension RunbookChecker {
    func checkObjectives(_ runbook: Runbook, scope: Scope, diagnostics: inout Diagnostics) {
        guard !runbook.objectives.isEmpty else { return }
        var seen: [String: SourceLocation] = [:]
        var scope = scope
        scope.runNames = ["id"] + Objective.runTimings
        var context = staticContext(runbook)
        context.roots["run"] = Self.staticRunTimings
        for objective in runbook.objectives {
            if let first = seen[objective.name] {
                diagnostics.error(
                    "objective '\(objective.name)' is declared twice (first at line \(first.line), column \(first.column))",
                    at: objective.location)
                continue
            }
            seen[objective.name] = objective.location
            let before = diagnostics.all.count
            for reference in objective.measure.expression.references {
                guard case .member("outputs")? = reference.path.first else { continue }
                diagnostics.error(
                    "objective '\(objective.name)': `outputs` is not available in an objective's measure; read a step's as `steps.ID.outputs.NAME`",
                    at: objective.measure.location(ofOffset: reference.offset))
            }
            checkExpression(objective.measure, outputs: nil, scope: scope, diagnostics: &diagnostics)
            if diagnostics.all.count > before { continue }
            let value: Value
            do {
                value = try objective.measure.expression.evaluate(in: context)
            } catch {
                if error.isTypeError || objective.measure.expression.references.isEmpty {
                    diagnostics.error(
                        "objective '\(objective.name)': \(error.message)",
                        at: objective.measure.location(ofOffset: error.offset))
                }
                continue
            }
            switch value {
            case .unknown, .int, .double: continue
            case .duration where objective.max.value.isDuration: continue
            default:
                diagnostics.error(
                    "objective '\(objective.name)': the measure is \(value.typeName), but its max \(objective.max.value.renderedForText) needs \(Objective.kind(of: objective.max.value))",
                    at: objective.measure.location)
            }
        }
    }

    /// `run` as an objective's measure sees it at `validate` time.
    static let staticRunTimings: Value = .map([
        "id": .unknown, "elapsed": .duration(0), "waited": .duration(0),
        "started": .timestamp(Date(timeIntervalSince1970: 0)),
    ])
}
