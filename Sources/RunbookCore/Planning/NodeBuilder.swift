/// Expands one step into its instances (one per target host) and resolves each.
struct NodeBuilder {
    let compiler: Compiler
    let runbook: Runbook
    let inventory: Inventory
    let mode: String
    let context: EvaluationContext
    var diagnostics = Diagnostics()
    /// For a `choose`: the alternative to take whatever the conditions say now (the one it took
    /// when it ran, as journaled); nil to decide by the conditions.
    var takenAlternative: Int?

    init(compiler: Compiler, runbook: Runbook, inventory: Inventory, mode: String, context: EvaluationContext) {
        self.compiler = compiler
        self.runbook = runbook
        self.inventory = inventory
        self.mode = mode
        self.context = context
    }

    var registry: ActionRegistry { compiler.registry }

    /// The hosts a target names, whether it fans out, and the candidates of `any(role)`.
    mutating func resolveTarget(_ target: Located<String>?, stepID: String) -> (
        hosts: [String], fanOut: Bool, candidates: [String]
    )? {
        guard let target else { return (["localhost"], false, []) }
        switch TargetSpec.parse(target.value) {
        case .localhost:
            return (["localhost"], false, [])
        case .named(let name):
            if runbook.role(named: name) != nil {
                return (inventory.hosts(inRole: name), true, [])
            }
            if inventory.host(named: name) != nil { return ([name], false, []) }
            diagnostics.error(
                "step '\(stepID)' targets '\(name)', which inventory '\(inventory.name.value)' does not have",
                at: target.location)
            return nil
        case .indexed(let role, let index):
            let hosts = inventory.hosts(inRole: role)
            guard index < hosts.count else {
                diagnostics.error(
                    "step '\(stepID)' targets \(role)[\(index)] but inventory '\(inventory.name.value)' has \(hosts.count) host\(hosts.count == 1 ? "" : "s") with role '\(role)'",
                    at: target.location)
                return nil
            }
            return ([hosts[index]], false, [])
        case .any(let role):
            let hosts = inventory.hosts(inRole: role)
            guard let first = hosts.first else {
                diagnostics.error(
                    "step '\(stepID)' targets any(\(role)) but inventory '\(inventory.name.value)' has no host with role '\(role)'",
                    at: target.location)
                return nil
            }
            return ([first], false, hosts)
        case .invalid(let reason):
            diagnostics.error("step '\(stepID)': bad target '\(target.value)': \(reason)", at: target.location)
            return nil
        }
    }

    func hostContext(_ host: String) -> EvaluationContext {
        var context = context
        let settings = inventory.settings(for: host)
        let roles = inventory.host(named: host)?.roles.map { Value.string($0.value) } ?? []
        context.roots["host"] = .map([
            "name": .string(host),
            "address": .string(settings.address ?? host),
            "roles": .list(roles),
        ])
        return context
    }

    mutating func instances(of step: Step) -> [PlanNode] {
        guard let (hosts, fanOut, candidates) = resolveTarget(step.target, stepID: step.id) else { return [] }
        // One instance per item (per host, with a role): `step[KEY]`, `step[KEY]@host`.
        var items: [PlanItem?] = [nil]
        if step.forEach != nil {
            var found = Diagnostics()
            guard
                let expanded = ForEachExpansion.items(
                    of: step, in: context, inventory: inventory, diagnostics: &found)
            else {
                diagnostics.append(contentsOf: found)
                if !found.hasErrors, let forEach = step.forEach {
                    diagnostics.error(
                        "step '\(step.id)': for_each: \(forEach.source) must be known when the plan is made (it may read params, vars, hosts and mode)",
                        at: forEach.location)
                }
                return []
            }
            items = expanded
        }
        var result: [PlanNode] = []
        for item in items {
            let base = NodeID(stepID: step.id, itemKey: item?.key).text
            for host in hosts {
                let id = NodeID(stepID: step.id, itemKey: item?.key, host: fanOut ? host : nil).text
                if let node = instance(of: step, id: id, host: host, candidates: candidates, item: item) {
                    result.append(node)
                }
            }
            if hosts.isEmpty {
                // A role with no hosts (min: 0): the step exists but has nothing to do.
                var node = instance(of: step, id: base, host: "localhost", candidates: [], item: item)
                node?.effect = .skipped("no host has role '\(step.target?.value ?? "")'")
                if let node { result.append(node) }
            }
        }
        return result
    }

    mutating func instance(of step: Step, id: String, host: String, candidates: [String], item: PlanItem? = nil)
        -> PlanNode?
    {
        var context = hostContext(host)
        if let item { context.roots["item"] = item.value }
        let renderHost = RenderHost(name: host, settings: inventory.settings(for: host))
        var node = PlanNode(
            id: id, stepID: step.id, host: host, target: step.target?.value ?? "localhost", candidates: candidates,
            kind: .action, typeName: "", isPrecondition: step.isPrecondition, needs: [],
            effect: .unknown("not probed (--offline)"),
            arguments: ResolvedArguments(), commands: [], undo: .none, changes: false, commit: step.commit,
            retries: step.retries, retryDelay: step.retryDelay, timeout: step.timeout,
            onFailure: step.onFailure ?? runbook.onFailure, expect: step.expect?.source, message: step.message,
            description: step.description, when: nil, gate: nil, choice: nil, item: item, location: step.location)

        switch step.body {
        case .action(let name), .probe(let name):
            node.kind = step.body.isProbe ? .probe : .action
            node.typeName = name.value
            if let resolved = resolveTyped(step, typeName: name.value, host: renderHost, context: context) {
                node.arguments = resolved.arguments
                node.commands = resolved.commands
                node.undo = resolved.undo
                node.changes = resolved.changes
                if node.kind == .probe, node.expect == nil {
                    node.expect = registry[name.value]?.descriptor.defaultExpectation
                }
                node.effect = offlineEffect(kind: node.kind, typeName: name.value, arguments: resolved.arguments)
            }
        case .gate(let gate):
            node.kind = .gate
            node.typeName = gate.typeName
            node.gate = resolveGate(gate, step: step, host: host, context: context)
            node.effect = .unknown(
                gate.kind.name == .approval ? "waits for approval" : "waits until the condition holds")
            if case .until(let until) = gate.kind, let probe = registry[until.probe.value] {
                // The polled probe's arguments and commands, so the executor can run it.
                let probeHost = RenderHost(
                    name: node.gate?.probeHost ?? host, settings: inventory.settings(for: node.gate?.probeHost ?? host))
                if let arguments = resolveArguments(
                    until.with, type: probe, stepID: step.id, host: probeHost.name, context: context)
                {
                    node.arguments = arguments
                    node.commands = probe.commands(for: arguments, on: probeHost)
                }
            }
        case .choose(let alternatives):
            node.kind = .choose
            var plans: [ChoicePlan.Alternative] = []
            var chosen: Int?
            var undecided = false
            for (index, alternative) in alternatives.enumerated() {
                var inner = alternative.step
                inner.id = step.id
                let report = alternative.when.map { evaluateCondition($0, context: context, stepID: step.id) }
                let typeName = inner.body.typeName?.value ?? ""
                let resolved = resolveTyped(inner, typeName: typeName, host: renderHost, context: context)
                plans.append(
                    ChoicePlan.Alternative(
                        condition: report, typeName: typeName, commands: resolved?.commands ?? [],
                        undo: resolved?.undo ?? .none))
                if chosen == nil, !undecided {
                    if let report {
                        switch report.result {
                        case true?: chosen = index
                        case false?: break
                        case nil: undecided = true  // known at run time: so is everything after it
                        }
                    } else {
                        chosen = index  // otherwise
                    }
                }
            }
            if let taken = takenAlternative, plans.indices.contains(taken) { chosen = taken }
            node.choice = ChoicePlan(alternatives: plans, chosen: chosen)
            if let chosen {
                let alternative = plans[chosen]
                node.typeName = alternative.typeName
                node.commands = alternative.commands
                node.undo = alternative.undo
                node.changes = registry[alternative.typeName]?.descriptor.changes ?? false
                node.irreversibleFallback(alternatives[chosen].step.irreversible)
                var inner = alternatives[chosen].step
                inner.id = step.id
                if let resolved = resolveTyped(
                    inner, typeName: alternative.typeName, host: renderHost, context: context)
                {
                    node.arguments = resolved.arguments
                    node.effect = offlineEffect(
                        kind: .action, typeName: alternative.typeName, arguments: resolved.arguments)
                }
            } else if undecided {
                node.typeName = "choose"
                node.changes = plans.contains { registry[$0.typeName]?.descriptor.changes ?? false }
                node.effect = .unknown("the alternative is chosen at run time")
            } else {
                node.effect = .skipped("no alternative's condition holds and there is no `otherwise`")
            }
        }

        // Mode and when come last so a skipped step still shows what it would have run.
        if let modes = step.modes, !modes.map(\.value).contains(mode) {
            node.effect = .skipped("mode '\(mode)' is not one of \(modes.map(\.value).joined(separator: ", "))")
        } else if let when = step.when {
            let report = evaluateCondition(when, context: context, stepID: step.id)
            node.when = report
            switch report.result {
            case .some(false): node.effect = .skipped("when: \(when.source) is false")
            case .none: node.effect = .unknown("when: \(when.source) is known at run time")
            case .some(true): break
            }
        }
        return node
    }

    func offlineEffect(kind: PlanNode.Kind, typeName: String, arguments: ResolvedArguments) -> PlanEffect {
        if kind == .probe { return .unknown("probe: runs at run time (offline plan)") }
        if let type = registry[typeName], type.descriptor.changes, let reason = type.runsEveryTime(arguments) {
            return .willChange(reason)
        }
        if arguments.hasUnknowns { return .unknown("depends on values known at run time") }
        return .unknown("not probed (--offline)")
    }

    struct Resolved {
        var arguments: ResolvedArguments
        var commands: [PlannedCommand]
        var undo: UndoPlan
        var changes: Bool
    }

    /// Arguments, commands and undo of an action or probe step on one host.
    mutating func resolveTyped(_ step: Step, typeName: String, host: RenderHost, context: EvaluationContext)
        -> Resolved?
    {
        guard let type = registry[typeName] else { return nil }
        var with = step.with
        if type.descriptor.takesStepCheck {
            if let check = step.check {
                with = RunbookChecker.adding(key: "check", value: check, to: with, at: step.location)
            }
            if let verify = step.verify {
                with = RunbookChecker.adding(key: "verify", value: verify, to: with, at: step.location)
            }
        }
        guard let arguments = resolveArguments(with, type: type, stepID: step.id, host: host.name, context: context)
        else { return nil }
        var commands = type.commands(for: arguments, on: host)
        if !type.descriptor.takesStepCheck, let verify = step.verify {
            if let value = try? TemplateResolver.value(of: verify, in: context),
                let argv = TemplateResolver.coerce(
                    TemplateResolver.displayValue(value, node: verify), node: verify, to: .command)
            {
                let command = ResolvedArguments(["v": argv]).command("v") ?? []
                commands.append(PlannedCommand(.verify, on: host.name, CommandSpec(argv: command)))
            }
        }
        for message in type.check(arguments) {
            diagnostics.error("step '\(step.id)' on \(host.name): \(message)", at: step.location)
        }

        let undo: UndoPlan
        if step.irreversible {
            undo = .irreversible
        } else if step.undoNone != nil {
            undo = .none
        } else if let spec = step.undo, let undoType = registry[spec.action.value],
            let undoArguments = resolveArguments(
                spec.with, type: undoType, stepID: step.id, host: host.name, context: context)
        {
            // The undo's own commands, and for a type whose `check`/`verify` are commands (the
            // shell's) those too: a rollback runs the check first and skips an undo already done.
            let keeps: Set<PlannedCommand.Purpose> = undoType.descriptor.takesStepCheck ? [.probe, .verify] : []
            undo = .commands(
                undoType.commands(for: undoArguments, on: host).compactMap { command in
                    if command.purpose == .apply { return PlannedCommand(.undo, on: command.host, command.command) }
                    return keeps.contains(command.purpose) ? command : nil
                })
        } else {
            switch type.descriptor.undo {
            case .derived(let text): undo = .derived(text)
            case .none: undo = .none
            case .declared: undo = type.descriptor.changes ? .missing : .none
            }
        }
        return Resolved(arguments: arguments, commands: commands, undo: undo, changes: type.descriptor.changes)
    }

    mutating func resolveArguments(
        _ with: YAMLNode?, type: any ActionType, stepID: String, host: String, context: EvaluationContext
    ) -> ResolvedArguments? {
        var arguments = ResolvedArguments()
        var ok = true
        for pair in with?.pairs ?? [] where !YAMLParser.isDuplicateSentinel(pair.key) {
            guard let parameter = type.descriptor.parameter(named: pair.key) else { continue }
            let value: Value
            do {
                value = try TemplateResolver.value(of: pair.value, in: context)
            } catch {
                diagnostics.error("step '\(stepID)' on \(host): \(error.message)", at: error.location)
                ok = false
                continue
            }
            guard let coerced = TemplateResolver.coerce(value, node: pair.value, to: parameter.type) else {
                diagnostics.error(
                    "step '\(stepID)' on \(host): '\(pair.key)' must be \(parameter.type.rawValue), got \(value.typeName) \(value.renderedForText.prefix(60))",
                    at: pair.value.location)
                ok = false
                continue
            }
            if TemplateResolver.containsUnknown(coerced) {
                arguments.hasUnknowns = true
                arguments.values[pair.key] = TemplateResolver.displayValue(coerced, node: pair.value)
            } else if parameter.isHostReference {
                guard
                    let hosts = resolveHosts(
                        coerced, node: pair.value, parameter: parameter, stepID: stepID, host: host)
                else {
                    ok = false
                    continue
                }
                arguments.values[pair.key] = hosts
            } else {
                arguments.values[pair.key] = coerced
            }
        }
        return ok ? arguments : nil
    }

    /// The host names a host-reference parameter's value names (`role[N]` resolved), or nil
    /// after reporting a value that names no host of the inventory, at the value.
    mutating func resolveHosts(
        _ value: Value, node: YAMLNode, parameter: ParameterSpec, stepID: String, host: String
    ) -> Value? {
        let list = parameter.type == .stringList
        let texts: [(String, YAMLNode)]
        switch value {
        case .string(let text): texts = [(text, node)]
        case .list(let items):
            // A list written element by element points at the element; one expression at itself.
            let nodes = node.items?.count == items.count ? node.items! : Array(repeating: node, count: items.count)
            texts = zip(items, nodes).compactMap { item, node in
                if case .string(let text) = item { return (text, node) }
                return nil
            }
        default: return value
        }
        var hosts: [String] = []
        var ok = true
        for (text, node) in texts {
            switch HostReference.resolve(text, list: list, runbook: runbook, inventory: inventory) {
            case .success(let names): hosts += names
            case .failure(let problem):
                diagnostics.error(
                    "step '\(stepID)' on \(host): '\(parameter.name)': \(problem.message)", at: node.location)
                ok = false
            }
        }
        guard ok else { return nil }
        return list ? .list(hosts.map(Value.string)) : hosts.first.map(Value.string) ?? value
    }

    mutating func resolveGate(_ gate: Gate, step: Step, host: String, context: EvaluationContext) -> GatePlan {
        switch gate.kind {
        case .approval(let approval):
            var prompt: String?
            if let node = approval.prompt {
                do {
                    let value = try TemplateResolver.value(of: node, in: context)
                    prompt = TemplateResolver.containsUnknown(value) ? node.scalar : value.renderedForText
                } catch {
                    diagnostics.error("gate '\(step.id)': \(error.message)", at: error.location)
                }
            }
            return GatePlan(
                type: .approval, prompt: prompt ?? "Continue past '\(step.id)'?", approvers: approval.approvers,
                timeout: gateTimeout(approval.timeout, approval.timeoutExpression, stepID: step.id, context: context),
                onTimeout: approval.onTimeout,
                allowedSigners: approval.allowedSigners.map {
                    SignedApproval.resolve($0.value, from: $0.location.file)
                },
                quorum: approval.quorum?.value, notByLauncher: approval.notByLauncher?.value ?? false)
        case .until(let until):
            var probeHost = host
            if let (hosts, _, _) = resolveTarget(until.target, stepID: step.id), let first = hosts.first,
                until.target != nil
            {
                probeHost = first
            }
            return GatePlan(
                type: .until, prompt: nil, approvers: [],
                timeout: gateTimeout(until.timeout, until.timeoutExpression, stepID: step.id, context: context),
                onTimeout: until.onTimeout,
                probe: until.probe.value, condition: until.condition.source, every: until.every, probeHost: probeHost)
        }
    }

    /// A gate's timeout: the duration written, or the value of its expression (a duration param).
    mutating func gateTimeout(
        _ literal: Double?, _ expression: LocatedExpression?, stepID: String, context: EvaluationContext
    ) -> Double? {
        guard let expression else { return literal }
        do {
            let value = try expression.expression.evaluate(in: context)
            if let why = Self.durationProblem(value) {
                diagnostics.error("gate '\(stepID)': timeout \(why)", at: expression.location)
                return nil
            }
            if case .duration(let seconds) = value { return seconds }
        } catch {
            diagnostics.error("gate '\(stepID)': \(error.message)", at: expression.location(ofOffset: error.offset))
        }
        return nil
    }

    /// Why a value cannot be a gate's timeout (nil: it can, or it is not known yet).
    static func durationProblem(_ value: Value) -> String? {
        switch value {
        case .unknown: return nil
        case .duration(let seconds):
            guard seconds >= 0, seconds <= Value.maxDuration else {
                return "must be from 0s to \(Value.maxDurationText), got \(Value.formatDuration(seconds))"
            }
            return nil
        default:
            return "must be a duration (a param of type duration, like 15m), got \(value.typeName)"
        }
    }

    mutating func evaluateCondition(_ condition: LocatedExpression, context: EvaluationContext, stepID: String)
        -> ConditionReport
    {
        let values = condition.expression.references.map { reference -> String in
            let name = reference.path.dottedName
            let value = ExpressionPaths.value(at: reference.path, in: context)
            return "\(name) = \(value.map(display) ?? "?")"
        }
        do {
            let value = try condition.expression.evaluate(in: context)
            switch value {
            case .bool(let flag): return ConditionReport(source: condition.source, result: flag, values: values)
            case .unknown: return ConditionReport(source: condition.source, result: nil, values: values)
            default:
                diagnostics.error(
                    "step '\(stepID)': the condition is \(value.typeName), not true or false", at: condition.location)
                return ConditionReport(source: condition.source, result: nil, values: values)
            }
        } catch {
            diagnostics.error("step '\(stepID)': \(error.message)", at: condition.location(ofOffset: error.offset))
            return ConditionReport(source: condition.source, result: nil, values: values)
        }
    }

    func display(_ value: Value) -> String {
        switch value {
        case .unknown: return "? (known at run time)"
        case .string(let text): return "'\(text)'"
        default: return value.renderedForText
        }
    }
}

extension PlanNode {
    mutating func irreversibleFallback(_ irreversible: Bool) {
        if irreversible { undo = .irreversible }
    }
}

extension StepBody {
    var isProbe: Bool {
        if case .probe = self { return true }
        return false
    }
}

/// Reading a name path out of a context, for reports of the values a condition read.
public enum ExpressionPaths {
    public static func value(at path: [PathComponent], in context: EvaluationContext) -> Value? {
        guard case .member(let root)? = path.first, var current = context.roots[root] else { return nil }
        for component in path.dropFirst() {
            if current == .unknown { return .unknown }
            switch (component, current) {
            case (.member(let name), .map(let entries)):
                guard let next = entries[name] else { return nil }
                current = next
            case (.index(let index), .list(let items)):
                guard index >= 0, index < items.count else { return nil }
                current = items[index]
            case (.wildcard, _):
                return current
            default:
                return nil
            }
        }
        return current
    }
}

extension Array where Element == PathComponent {
    /// `steps.a.outputs.b`, `hosts.secondary[0]`, `x[*]`.
    public var dottedName: String {
        var text = ""
        for component in self {
            switch component {
            case .member(let name): text += text.isEmpty ? name : ".\(name)"
            case .index(let index): text += "[\(index)]"
            case .wildcard: text += "[*]"
            }
        }
        return text
    }
}
