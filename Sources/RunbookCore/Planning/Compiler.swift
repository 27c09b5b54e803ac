import Foundation

/// Compiles a checked runbook and an inventory into a `Plan`: params resolved, modes and
/// `when` applied, targets fanned out into step instances, commands rendered. Pure.
public struct Compiler: Sendable {
    public var registry: ActionRegistry

    public init(registry: ActionRegistry) {
        self.registry = registry
    }

    /// What `plan` and `run` were asked for.
    public struct Request: Sendable {
        public var runbook: Runbook
        public var inventory: Inventory
        public var mode: String?
        /// `-p name=value`, in the order given.
        public var params: [(name: String, value: String)]
        public var environment: [String: String]
        /// The run id when running; unknown when planning.
        public var runID: String?

        public init(
            runbook: Runbook, inventory: Inventory, mode: String? = nil, params: [(name: String, value: String)] = [],
            environment: [String: String] = [:], runID: String? = nil
        ) {
            self.runbook = runbook
            self.inventory = inventory
            self.mode = mode
            self.params = params
            self.environment = environment
            self.runID = runID
        }
    }

    /// The plan, or nil with errors in `diagnostics`. Checks the runbook against the inventory first.
    public func compile(_ request: Request, diagnostics: inout Diagnostics) -> Plan? {
        let runbook = request.runbook
        let inventory = request.inventory
        diagnostics.append(contentsOf: RunbookChecker(registry: registry, inventory: inventory).check(runbook))
        if diagnostics.hasErrors { return nil }

        // Mode.
        let modes = runbook.modes.map(\.value)
        var mode = modes.first ?? "default"
        if let asked = request.mode {
            if modes.isEmpty, asked == "default" {
                // A runbook without modes runs in mode "default" (what the journal records).
            } else if modes.isEmpty {
                diagnostics.error("--mode \(asked): runbook '\(runbook.name.value)' declares no modes", at: nil)
            } else if !modes.contains(asked) {
                diagnostics.error(
                    "--mode \(asked): not a mode of runbook '\(runbook.name.value)'\(Suggestions.hint(for: asked, in: modes)); its modes are \(modes.joined(separator: ", "))",
                    at: runbook.modes.first?.location)
            }
            mode = asked
        }

        // Roles.
        for role in runbook.roles {
            let count = inventory.hosts(inRole: role.name).count
            if count < role.min {
                diagnostics.error(
                    "inventory '\(inventory.name.value)' has \(count) host\(count == 1 ? "" : "s") with role '\(role.name)'; runbook '\(runbook.name.value)' needs at least \(role.min) (\(role.location)); add `roles: [\(role.name)]` to a host",
                    at: inventory.location)
                RoleTypos.report(
                    role: role, count: count, runbook: runbook, inventory: inventory, diagnostics: &diagnostics)
            } else if let max = role.max, count > max {
                diagnostics.error(
                    "inventory '\(inventory.name.value)' has \(count) hosts with role '\(role.name)'; runbook '\(runbook.name.value)' allows at most \(max) (\(role.location))",
                    at: inventory.location)
            }
        }

        let params = resolveParams(request, diagnostics: &diagnostics)
        if diagnostics.hasErrors { return nil }
        let redactor = Redactor(secrets: params.filter(\.secret).flatMap { Self.secretTexts($0.value) })

        var context = baseContext(
            runbook: runbook, inventory: inventory, params: params, mode: mode, runID: request.runID)
        var steps: [String: Value] = [:]
        for step in runbook.allSteps {
            steps[step.id] = .map(
                step.forEach == nil
                    ? ["outputs": .unknown, "status": .unknown]
                    : ["outputs": .unknown, "status": .unknown, "items": .unknown])
        }
        context.roots["steps"] = .map(steps)

        var builder = NodeBuilder(compiler: self, runbook: runbook, inventory: inventory, mode: mode, context: context)
        let preconditions = runbook.preconditions.flatMap { builder.instances(of: $0) }
        var nodes = runbook.steps.flatMap { builder.instances(of: $0) }
        diagnostics.append(contentsOf: builder.diagnostics)
        if diagnostics.hasErrors { return nil }

        // Edges between instances, then a stable order. A step that iterates the same list as a
        // step it needs waits only for that step's instances of the same item.
        var instancesByStep: [String: [Int]] = [:]
        var instancesByItem: [String: [Int]] = [:]  // "stepID\0list\0key"
        for (index, node) in nodes.enumerated() {
            instancesByStep[node.stepID, default: []].append(index)
            if let item = node.item {
                instancesByItem[node.stepID + "\u{0}" + item.identity, default: []].append(index)
            }
        }
        let listByStep = Dictionary(
            runbook.steps.map { ($0.id, $0.forEach?.normalizedSource) }, uniquingKeysWith: { first, _ in first })
        // Each step's needs by id (first step with an id wins, as a linear search would): one
        // lookup per instance instead of a scan of all steps, which was quadratic.
        let needsByStep = Dictionary(runbook.steps.map { ($0.id, $0.needs) }, uniquingKeysWith: { first, _ in first })
        var dependencies = [[Int]](repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() {
            for need in needsByStep[node.stepID] ?? [] {
                if let item = node.item, let list = listByStep[need.value] ?? nil, list == item.list {
                    dependencies[index].append(contentsOf: instancesByItem[need.value + "\u{0}" + item.identity] ?? [])
                } else {
                    dependencies[index].append(contentsOf: instancesByStep[need.value] ?? [])
                }
            }
            nodes[index].needs = dependencies[index].map { nodes[$0].id }
        }
        guard let order = StepGraph.topologicalOrder(count: nodes.count, dependencies: dependencies) else {
            diagnostics.error("the steps form a dependency cycle", at: runbook.location)
            return nil
        }
        let ordered = order.map { nodes[$0] }

        return Plan(
            runbook: runbook, inventory: inventory, mode: mode, params: params, redactor: redactor,
            preconditions: preconditions, nodes: ordered, rollback: Self.rollbackOrder(ordered),
            context: context, offline: true)
    }

    /// A step instance resolved again at run time, with what earlier steps produced.
    ///
    /// - Parameters:
    ///   - stepValues: for each step id that has run, `{outputs: {...}, status: "..."}` (for an
    ///     item's instance, the values of the same item's instances of the steps that iterate its list).
    ///   - host: the host chosen at run time (for `any(role)`), or nil to keep the planned one.
    /// - Returns: the node, or nil with errors (a type error only visible with real values).
    public func resolve(
        _ node: PlanNode, in plan: Plan, stepValues: [String: Value], host: String? = nil, runID: String? = nil,
        diagnostics: inout Diagnostics
    ) -> PlanNode? {
        guard let step = plan.runbook.allSteps.first(where: { $0.id == node.stepID }) else { return nil }
        return resolve(
            node, step: step, in: plan, stepValues: stepValues, host: host, runID: runID, diagnostics: &diagnostics)
    }

    /// ``resolve(_:in:stepValues:host:runID:diagnostics:)`` with the node's step already found
    /// (the executor indexes the steps by id once). A `choose` takes `alternative` when it is
    /// given (the one journaled when it ran), whatever its conditions say now.
    public func resolve(
        _ node: PlanNode, step: Step, in plan: Plan, stepValues: [String: Value], host: String? = nil,
        runID: String? = nil, alternative: Int? = nil, diagnostics: inout Diagnostics
    ) -> PlanNode? {
        var context = plan.context
        if case .map(var steps)? = context.roots["steps"] {
            for (id, value) in stepValues { steps[id] = value }
            context.roots["steps"] = .map(steps)
        }
        if let runID { context.roots["run"] = .map(["id": .string(runID)]) }
        var builder = NodeBuilder(
            compiler: self, runbook: plan.runbook, inventory: plan.inventory, mode: plan.mode, context: context)
        builder.takenAlternative = alternative
        var resolved = builder.instance(
            of: step, id: node.id, host: host ?? node.host, candidates: node.candidates, item: node.item)
        resolved?.needs = node.needs
        // A step its `when` (or mode) skips runs nothing: what its arguments or a gate's prompt
        // could not resolve (an output of a step that was itself skipped) is no error then.
        if builder.diagnostics.hasErrors, let skipped = resolved, case .skipped = skipped.effect,
            step.modes.map({ $0.map(\.value).contains(plan.mode) == false }) == true
                || skipped.when?.result == false
        {
            return skipped
        }
        diagnostics.append(contentsOf: builder.diagnostics)
        return builder.diagnostics.hasErrors ? nil : resolved
    }

    /// The predicted rollback: undoable changing instances, newest first, commit points marked.
    static func rollbackOrder(_ nodes: [PlanNode]) -> [RollbackEntry] {
        var entries: [RollbackEntry] = []
        for node in nodes.reversed() {
            if case .skipped = node.effect { continue }
            if node.commit {
                entries.append(.commitPoint(nodeID: node.id))
                continue
            }
            if node.undecidedChoice {
                // Chosen at run time: the rollback undoes the alternative taken (`Rollback.entries`).
                if node.choice?.alternatives.contains(where: \.undo.undoes) == true {
                    entries.append(.undo(nodeID: node.id))
                }
                continue
            }
            if node.undo.undoes { entries.append(.undo(nodeID: node.id)) }
        }
        return entries
    }

    // MARK: - Context

    /// The names expressions can read, before any step has run.
    public func baseContext(
        runbook: Runbook, inventory: Inventory, params: [ResolvedParam], mode: String, runID: String?
    ) -> EvaluationContext {
        var paramValues: [String: Value] = [:]
        for param in params { paramValues[param.name] = param.value }
        var vars: [String: Value] = [:]
        let empty = EvaluationContext(roots: [:])
        for pair in inventory.vars {
            vars[pair.key] = (try? TemplateResolver.value(of: pair.value, in: empty)) ?? .null
        }
        var hosts: [String: Value] = [:]
        for role in runbook.roles { hosts[role.name] = .list([]) }
        for role in inventory.declaredRoles {
            hosts[role] = .list(inventory.hosts(inRole: role).map(Value.string))
        }
        return EvaluationContext(roots: [
            "params": .map(paramValues),
            "vars": .map(vars),
            "hosts": .map(hosts),
            "mode": .string(mode),
            "run": .map(["id": runID.map(Value.string) ?? .unknown]),
            "steps": .map([:]),
        ])
    }

    static func secretTexts(_ value: Value) -> [String] {
        switch value {
        case .string(let text): return [text]
        case .list(let items): return items.flatMap(secretTexts)
        case .null, .unknown: return []
        default: return [value.renderedForText]
        }
    }

    // MARK: - Params

    func resolveParams(_ request: Request, diagnostics: inout Diagnostics) -> [ResolvedParam] {
        let runbook = request.runbook
        let declared = runbook.params.map(\.name)
        var given: [String: String] = [:]
        for (name, value) in request.params {
            if runbook.param(named: name) == nil {
                diagnostics.error(
                    "--param \(name): runbook '\(runbook.name.value)' has no param '\(name)'\(Suggestions.hint(for: name, in: declared)); its params are \(declared.isEmpty ? "none" : declared.joined(separator: ", "))",
                    at: nil)
            }
            given[name] = value
        }
        var result: [ResolvedParam] = []
        for spec in runbook.params {
            var value: Value?
            var source = ResolvedParam.Source.defaultValue
            var origin = "the default"
            var location: SourceLocation? = spec.location
            if let text = given[spec.name] {
                source = .commandLine
                origin = "--param \(spec.name)"
                location = nil
                value = coerceText(text, to: spec.type)
                if value == nil {
                    diagnostics.error("\(origin): \(typeMessage(spec, spec.secret ? "***" : text))", at: nil)
                }
            } else if let env = spec.fromEnv, let text = request.environment[env] {
                source = .environment
                origin = "$\(env)"
                location = nil
                value = coerceText(text, to: spec.type)
                if value == nil {
                    diagnostics.error(
                        "param '\(spec.name)' from $\(env): \(typeMessage(spec, spec.secret ? "***" : text))", at: nil)
                }
            } else if let pair = request.inventory.vars.first(where: { $0.key == spec.name }) {
                source = .inventory
                origin = "inventory vars"
                location = pair.value.location
                value = coerceNode(pair.value, to: spec.type)
                if value == nil {
                    diagnostics.error(
                        "param '\(spec.name)': \(typeMessage(spec, pair.value.kindDescription))",
                        at: pair.value.location)
                }
            } else if let node = spec.defaultValue {
                location = node.location
                value = coerceNode(node, to: spec.type)
                if value == nil {
                    diagnostics.error(
                        "default of param '\(spec.name)': \(typeMessage(spec, node.kindDescription))", at: node.location
                    )
                }
            } else {
                var ways = ["-p \(spec.name)=VALUE", "`\(spec.name):` in the inventory's vars"]
                if let env = spec.fromEnv { ways.append("the environment variable \(env)") }
                diagnostics.error(
                    "param '\(spec.name)' has no value; give it with \(ways.joined(separator: ", or ")), or declare a default",
                    at: spec.location)
                continue
            }
            guard let value else { continue }
            let shown = spec.secret ? "***" : value.renderedForText
            if let allowed = spec.allowed, !allowed.contains(value.renderedForText) {
                diagnostics.error(
                    "param '\(spec.name)' is '\(shown)' (from \(origin)), which is not one of \(allowed.joined(separator: ", "))\(spec.secret ? "" : Suggestions.hint(for: shown, in: allowed))",
                    at: location)
                continue
            }
            if let pattern = spec.pattern, case .string(let text) = value,
                let regex = try? Regex(pattern.value), (try? regex.firstMatch(in: text)) == nil
            {
                diagnostics.error(
                    "param '\(spec.name)' is '\(shown)' (from \(origin)), which does not match its pattern \(pattern.value) (\(pattern.location))",
                    at: location)
                continue
            }
            result.append(ResolvedParam(name: spec.name, value: value, secret: spec.secret, source: source))
        }
        return result
    }

    func typeMessage(_ spec: ParamSpec, _ got: String) -> String {
        switch spec.type {
        case .duration:
            return "param '\(spec.name)' must be a duration like 90s, 15m, 2h or 1h30m, "
                + "at most \(Value.maxDurationText), got '\(got)'"
        case .int: return "param '\(spec.name)' must be a whole number, got '\(got)'"
        case .bool: return "param '\(spec.name)' must be true or false, got '\(got)'"
        case .list: return "param '\(spec.name)' must be a list, got '\(got)'"
        case .string: return "param '\(spec.name)' must be a string, got \(got)"
        }
    }

    func coerceText(_ text: String, to type: ParamSpec.ParamType) -> Value? {
        switch type {
        case .string: return .string(text)
        case .int: return Int(text).map(Value.int)
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "on", "1": return .bool(true)
            case "false", "no", "off", "0": return .bool(false)
            default: return nil
            }
        case .duration: return Value.parseBoundedDuration(text).map(Value.duration)
        case .list:
            if text.hasPrefix("[") {
                var ignored = Diagnostics()
                guard let node = YAMLParser.parse(text, file: "--param", diagnostics: &ignored) else { return nil }
                return coerceNode(node, to: .list)
            }
            return .list(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
        }
    }

    func coerceNode(_ node: YAMLNode, to type: ParamSpec.ParamType) -> Value? {
        switch type {
        case .list:
            guard let items = node.items else { return nil }
            var values: [Value] = []
            for item in items {
                guard let text = item.scalar else { return nil }
                values.append(.string(text))
            }
            return .list(values)
        default:
            guard let text = node.scalar, !node.isNull else { return nil }
            return coerceText(text, to: type)
        }
    }
}
