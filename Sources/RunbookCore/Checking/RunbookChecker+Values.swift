/// Expressions evaluated at `validate` time, so that what `plan --offline` would refuse without
/// any value known only at run time is refused here already, at the same position.
///
/// `validate` knows the params' declared types but not their values (`-p` may change them), so
/// each param stands for its default, or for a value of its type. An error is reported when the
/// operands' types alone decide it (`1 + 'a'`, a string as a `when`, a list put into text), or
/// when the expression reads no name at all (`9223372036854775807 + 1`); an error that depends
/// on a value (an index out of range, a field missing from a map) is left to `plan`.
extension RunbookChecker {
    func checkValues(_ runbook: Runbook, diagnostics: inout Diagnostics) {
        let context = staticContext(runbook)
        var evaluation = StaticEvaluation(registry: registry, context: context)
        for step in runbook.everyStep {
            // The list and its keys, as far as they are known (the inventory's vars, the params'
            // defaults): what `plan` would refuse is refused here, at the for_each or the key.
            var items: [PlanItem]?
            if step.forEach != nil, step.key != nil {
                items = ForEachExpansion.items(of: step, in: context, inventory: inventory, diagnostics: &diagnostics)
            }
            // `item` stands for the first element when it is known, for any value otherwise.
            evaluation.item = step.forEach == nil ? nil : (items?.first?.value ?? .unknown)
            evaluation.check(step)
        }
        diagnostics.append(contentsOf: evaluation.diagnostics)
    }

    /// The names an expression reads, with what `validate` knows of them.
    func staticContext(_ runbook: Runbook) -> EvaluationContext {
        let compiler = Compiler(registry: registry)
        var params: [String: Value] = [:]
        for param in runbook.params {
            params[param.name] =
                param.defaultValue.flatMap { compiler.coerceNode($0, to: param.type) } ?? Self.standIn(for: param.type)
        }
        var steps: [String: Value] = [:]
        for step in runbook.everyStep {
            steps[step.id] = .map(
                step.forEach == nil
                    ? ["outputs": .unknown, "status": .unknown]
                    : ["outputs": .unknown, "status": .unknown, "items": .unknown])
        }
        var roots: [String: Value] = [
            "params": .map(params),
            "mode": .string(runbook.modes.first?.value ?? "default"),
            "run": .map(["id": .unknown]),
            "steps": .map(steps),
            "host": .map(["name": .string("host"), "address": .string("host"), "roles": .list([])]),
        ]
        if let inventory {
            let base = compiler.baseContext(runbook: runbook, inventory: inventory, params: [], mode: "", runID: nil)
            roots["vars"] = base.roots["vars"]
            roots["hosts"] = base.roots["hosts"]
        } else {
            roots["vars"] = .unknown
            var hosts: [String: Value] = [:]
            for role in runbook.roles { hosts[role.name] = .list([.string("host")]) }
            roots["hosts"] = .map(hosts)
        }
        return EvaluationContext(roots: roots)
    }

    /// A value of a param's type, for a param without a default.
    static func standIn(for type: ParamSpec.ParamType) -> Value {
        switch type {
        case .string: return .string("")
        case .int: return .int(0)
        case .bool: return .bool(true)
        case .duration: return .duration(0)
        case .list: return .list([])
        }
    }
}

/// One pass over the steps, evaluating what can be evaluated.
struct StaticEvaluation {
    let registry: ActionRegistry
    let baseContext: EvaluationContext
    /// The element `item` stands for in the step being checked (nil: the step does not iterate).
    var item: Value? {
        didSet {
            context = baseContext
            if let item { context.roots["item"] = item }
        }
    }
    var diagnostics = Diagnostics()
    /// The base context with `item` (made once per step, not for every value evaluated).
    private(set) var context: EvaluationContext

    init(registry: ActionRegistry, context: EvaluationContext) {
        self.registry = registry
        self.baseContext = context
        self.context = context
    }

    mutating func check(_ step: Step) {
        if let when = step.when { condition(when, stepID: step.id, outputs: false) }
        switch step.body {
        case .action, .probe:
            typed(step)
        case .gate(let gate):
            switch gate.kind {
            case .approval(let approval):
                if let prompt = approval.prompt, Self.containsInterpolation(prompt) {
                    _ = value(of: prompt, stepID: step.id)
                }
                if let timeout = approval.timeoutExpression { duration(timeout, stepID: step.id) }
            case .until(let until):
                if let probe = registry[until.probe.value] { with(until.with, type: probe, stepID: step.id) }
                condition(until.condition, stepID: step.id, outputs: true)
                if let timeout = until.timeoutExpression { duration(timeout, stepID: step.id) }
            }
        case .choose(let alternatives):
            for alternative in alternatives {
                if let when = alternative.when { condition(when, stepID: step.id, outputs: false) }
                var inner = alternative.step
                inner.id = step.id
                if case .choose = inner.body { continue }
                if case .gate = inner.body { continue }
                typed(inner)
            }
        }
    }

    mutating func typed(_ step: Step) {
        guard let name = step.body.typeName, let type = registry[name.value] else { return }
        var with = step.with
        if type.descriptor.takesStepCheck {
            for (key, node) in [("check", step.check), ("verify", step.verify)] {
                guard let node, with?[key] == nil else { continue }
                with = RunbookChecker.adding(key: key, value: node, to: with, at: step.location)
            }
        }
        self.with(with, type: type, stepID: step.id)
        if let expect = step.expect { condition(expect, stepID: step.id, outputs: true) }
        if let undo = step.undo, let undoType = registry[undo.action.value] {
            self.with(undo.with, type: undoType, stepID: step.id)
        }
    }

    /// A `when`, `expect` or `condition`: it must be true or false.
    mutating func condition(_ condition: LocatedExpression, stepID: String, outputs: Bool) {
        var context = context
        if outputs { context.roots["outputs"] = .unknown }
        do {
            let value = try condition.expression.evaluate(in: context)
            switch value {
            case .bool, .unknown: return
            default:
                diagnostics.error(
                    "step '\(stepID)': the condition is \(value.typeName), not true or false", at: condition.location)
            }
        } catch {
            if error.isTypeError || condition.expression.references.isEmpty {
                diagnostics.error("step '\(stepID)': \(error.message)", at: condition.location(ofOffset: error.offset))
            }
        }
    }

    /// A gate's `timeout` written as an expression: it must give a duration (a param of type
    /// duration), within the bounds of a duration.
    mutating func duration(_ expression: LocatedExpression, stepID: String) {
        do {
            let value = try expression.expression.evaluate(in: context)
            if let why = NodeBuilder.durationProblem(value) {
                diagnostics.error("step '\(stepID)': timeout \(why)", at: expression.location)
            }
        } catch {
            if error.isTypeError || expression.expression.references.isEmpty {
                diagnostics.error("step '\(stepID)': \(error.message)", at: expression.location(ofOffset: error.offset))
            }
        }
    }

    /// Each parameter's value, and whether it can have the parameter's type at all.
    mutating func with(_ with: YAMLNode?, type: any ActionType, stepID: String) {
        for pair in with?.pairs ?? [] {
            // Without an expression there is nothing to evaluate (literals: `checkLiteral`).
            guard Self.containsInterpolation(pair.value), let parameter = type.descriptor.parameter(named: pair.key),
                let value = value(of: pair.value, stepID: stepID)
            else { continue }
            // Only where an expression gives the value: literals are checked by `checkLiteral`.
            if pair.value.isSingleInterpolation, Self.neverCoerces(value, to: parameter.type, node: pair.value) {
                diagnostics.error(
                    "step '\(stepID)': '\(pair.key)' must be \(parameter.type.rawValue), got \(value.typeName)",
                    at: pair.value.location)
            }
            if let items = pair.value.items, case .list(let values) = value, items.count == values.count,
                [.argv, .stringList, .command].contains(parameter.type)
            {
                for (item, element) in zip(items, values) where item.isSingleInterpolation {
                    switch element {
                    case .list, .map, .null:
                        diagnostics.error(
                            "step '\(stepID)': each element of '\(pair.key)' must be a string, got \(element.typeName)",
                            at: item.location)
                    default: break
                    }
                }
            }
        }
    }

    /// The value of a YAML node, or nil after reporting an error that is known now.
    mutating func value(of node: YAMLNode, stepID: String) -> Value? {
        switch node.kind {
        case .scalar(let text, _):
            guard TemplateResolver.containsInterpolation(text) else {
                return (try? TemplateResolver.value(of: node, in: context)) ?? .unknown
            }
            // A syntax error was reported by the checker already.
            guard let interpolated = try? TemplateResolver.parsed(text) else { return nil }
            do {
                return try interpolated.evaluate(in: context)
            } catch {
                if error.isTypeError || interpolated.references.isEmpty {
                    diagnostics.error(
                        "step '\(stepID)': \(error.message)", at: node.textLocation.advanced(by: error.offset))
                }
                return nil
            }
        case .sequence(let items):
            var values: [Value] = []
            for item in items {
                guard let value = value(of: item, stepID: stepID) else { return nil }
                values.append(value)
            }
            return .list(values)
        case .mapping(let pairs):
            var entries: [String: Value] = [:]
            for pair in pairs {
                guard let value = value(of: pair.value, stepID: stepID) else { return nil }
                entries[pair.key] = value
            }
            return .map(entries)
        }
    }

    static func containsInterpolation(_ node: YAMLNode) -> Bool {
        switch node.kind {
        case .scalar(let text, _): return TemplateResolver.containsInterpolation(text)
        case .sequence(let items): return items.contains(where: containsInterpolation)
        case .mapping(let pairs): return pairs.contains { containsInterpolation($0.value) }
        }
    }

    /// Whether no value of this one's type could be coerced to `type` (a string might parse as a
    /// number, a number might be in range: those depend on the value).
    static func neverCoerces(_ value: Value, to type: ValueType, node: YAMLNode) -> Bool {
        guard TemplateResolver.coerce(value, node: node, to: type) == nil else { return false }
        switch (value, type) {
        case (.string, .int), (.string, .bool), (.string, .duration), (.int, .duration), (.duration, .duration):
            return false
        default:
            return true
        }
    }
}
