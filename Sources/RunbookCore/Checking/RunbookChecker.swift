/// Cross-reference checks of a loaded runbook: ids, needs, cycles, targets, types, `with`
/// keys, expressions, modes, undo and commit points. Pure: no host is contacted.
public struct RunbookChecker {
    public var registry: ActionRegistry
    public var inventory: Inventory?

    public init(registry: ActionRegistry, inventory: Inventory? = nil) {
        self.registry = registry
        self.inventory = inventory
    }

    static let expressionRoots = ["params", "vars", "hosts", "mode", "run", "steps", "host"]

    public func check(_ runbook: Runbook) -> Diagnostics {
        var diagnostics = Diagnostics()
        let all = runbook.everyStep

        // Unique ids.
        var firstByID: [String: Step] = [:]
        for step in all where !step.id.isEmpty {
            if let first = firstByID[step.id] {
                diagnostics.error(
                    "duplicate step id '\(step.id)' (first used at line \(first.location.line), column \(first.location.column)); ids must be unique",
                    at: step.location)
            } else {
                firstByID[step.id] = step
            }
        }
        let ids = Array(firstByID.keys).sorted()

        // needs.
        var edges: [String: [String]] = [:]
        for step in all {
            for need in step.needs {
                if firstByID[need.value] == nil {
                    diagnostics.error(
                        "step '\(step.id)' needs unknown step '\(need.value)'\(Suggestions.hint(for: need.value, in: ids))",
                        at: need.location)
                } else if step.isPrecondition {
                    diagnostics.error(
                        "precondition '\(step.id)' cannot use needs: preconditions all run first, in parallel",
                        at: need.location)
                } else if firstByID[need.value]!.isPrecondition {
                    diagnostics.error(
                        "'\(need.value)' is a precondition: every step already runs after all preconditions",
                        at: need.location)
                } else {
                    edges[step.id, default: []].append(need.value)
                }
            }
        }
        for cycle in StepGraph.cycles(nodes: runbook.steps.map(\.id), edges: edges) {
            let start = firstByID[cycle[0]]!
            let location = start.needs.first { $0.value == cycle[1] }?.location ?? start.location
            diagnostics.error(
                "dependency cycle: \(cycle.joined(separator: " -> ")); remove one of these needs", at: location)
        }

        // Modes.
        let declaredModes = runbook.modes.map(\.value)
        for step in all {
            for mode in step.modes ?? [] where !declaredModes.contains(mode.value) {
                let declared =
                    declaredModes.isEmpty
                    ? "the runbook declares no modes" : "declared modes: \(declaredModes.joined(separator: ", "))"
                diagnostics.error(
                    "step '\(step.id)' lists mode '\(mode.value)' that the runbook does not declare\(Suggestions.hint(for: mode.value, in: declaredModes)); \(declared)",
                    at: mode.location)
            }
        }

        // The run's budgets over items.
        let iterates = all.contains { $0.forEach != nil }
        for (key, budget) in [("max_concurrency", runbook.maxConcurrency), ("max_failed", runbook.maxFailed)] {
            guard let budget else { continue }
            if !iterates {
                diagnostics.error(
                    "\(key) counts the items of for_each steps, and this runbook has none; remove it "
                        + "(concurrency limits how many steps run at once)",
                    at: budget.location)
            } else if key == "max_failed", runbook.onItemFailure == .wholeRun {
                diagnostics.error(
                    "max_failed counts failed items, but on_item_failure: whole_run stops the run at the first "
                        + "failure; remove max_failed, or use on_item_failure: isolate",
                    at: budget.location)
            }
        }

        // Params: defaults and declared names.
        for param in runbook.params {
            if let allowed = param.allowed, let node = param.defaultValue, let text = node.scalar,
                !allowed.contains(text)
            {
                diagnostics.error(
                    "default '\(text)' of param '\(param.name)' is not one of \(allowed.joined(separator: ", "))",
                    at: node.location)
            }
            if param.type == .duration, let node = param.defaultValue, let text = node.scalar,
                Value.parseBoundedDuration(text) == nil
            {
                diagnostics.error(
                    "default of param '\(param.name)' must be a duration like 90s, 15m, 2h or 1h30m, "
                        + "at most \(Value.maxDurationText), got '\(text)'",
                    at: node.location)
            }
            if param.type == .int, let node = param.defaultValue, let text = node.scalar, Int(text) == nil {
                diagnostics.error(
                    "default of param '\(param.name)' must be a whole number, got '\(text)'", at: node.location)
            }
        }

        // Per step: target, type, with, expressions, undo.
        let scope = Scope(runbook: runbook, registry: registry, steps: firstByID, inventory: inventory)
        // With an inventory, the elements each for_each step iterates (what `item.F` must find).
        let known = inventory == nil ? nil : staticContext(runbook)
        for step in all {
            var stepScope = scope
            stepScope.iterating = step.forEach != nil
            if let known, step.forEach != nil, step.key != nil {
                var reported = Diagnostics()  // said by checkValues
                stepScope.items = ForEachExpansion.items(of: step, in: known, diagnostics: &reported)
            }
            checkForEach(step, scope: stepScope, diagnostics: &diagnostics)
            checkStep(step, scope: stepScope, diagnostics: &diagnostics)
        }
        checkValues(runbook, diagnostics: &diagnostics)
        checkObjectives(runbook, scope: scope, diagnostics: &diagnostics)

        // Commit points: an irreversible step must come after one.
        let commitAncestors = Self.stepsBehindCommit(runbook.steps, edges: edges)
        var markNotNeeded = Set<String>()
        for step in runbook.steps {
            for (irreversible, location, derived) in irreversibleParts(of: step) where irreversible {
                guard !commitAncestors.contains(step.id) else { continue }
                if let derived {
                    markNotNeeded.insert(step.id)
                    // Past a commit point the mark keeps a `--past-commit` rollback off the step;
                    // before one it only stands in the way of a rollback.
                    diagnostics.error(
                        "step '\(step.id)' is undoable: '\(derived)' derives its undo, so `irreversible: true` is not needed (remove it; a rollback then undoes the step)",
                        at: location)
                } else {
                    diagnostics.error(
                        "step '\(step.id)' is irreversible but no commit point precedes it; add `commit: true` to a gate it needs (directly or through other steps)",
                        at: location)
                }
            }
        }
        checkRollbackStopsAtIrreversible(
            runbook, steps: firstByID, edges: edges, skipping: markNotNeeded, diagnostics: &diagnostics)
        return diagnostics
    }

    /// After an irreversible step, an automatic rollback of a later failure would still walk back
    /// past it and run the undos of the steps before it (back to the last commit point), over
    /// what it destroyed. A warning, not an error: an irreversible step often changes nothing
    /// those undos touch, which the checker cannot tell. `commit: true` on the irreversible step
    /// (or on a step between) makes the rollback stop there. `skipping`: steps told already that
    /// their mark is not needed (their type derives the undo), whose fix is to drop it.
    func checkRollbackStopsAtIrreversible(
        _ runbook: Runbook, steps: [String: Step], edges: [String: [String]], skipping: Set<String>,
        diagnostics: inout Diagnostics
    ) {
        for step in runbook.steps where !step.commit && !skipping.contains(step.id) {
            guard let location = irreversibleParts(of: step).first(where: \.0)?.1,
                // Only a later step's failure finds it done and walks back past it.
                runbook.steps.contains(where: { edges[$0.id]?.contains(step.id) == true })
            else { continue }
            let before = Self.ancestors(of: step.id, edges: edges)
            // What a commit point before it already protects: the commit point and its needs.
            // A commit point that `when` or `modes` may skip guards nothing: a skipped gate is no
            // commit point, and the rollback goes on past it.
            var guarded = Set<String>()
            var mayBeSkipped: [String] = []
            for id in before where steps[id]?.commit == true {
                guard let commit = steps[id], !mayBeSkippedInSomeRun(commit, runbook: runbook) else {
                    mayBeSkipped.append(id)
                    continue
                }
                guarded.insert(id)
                guarded.formUnion(Self.ancestors(of: id, edges: edges))
            }
            let exposed = before.subtracting(guarded).filter { steps[$0].map(hasRollbackUndo) ?? false }.sorted()
            guard !exposed.isEmpty else { continue }
            let names = exposed.map { "'\($0)'" }.joined(separator: ", ")
            let skippable = mayBeSkipped.filter { id in
                exposed.contains { Self.ancestors(of: id, edges: edges).contains($0) }
            }
            let skippedNote =
                skippable.isEmpty
                ? ""
                : " (" + skippable.sorted().map { "'\($0)'" }.joined(separator: ", ")
                    + " stops it only in a run where its `when`/`modes` let it run)"
            diagnostics.warning(
                "step '\(step.id)' is irreversible, but a rollback of a later failure would go on past it and undo "
                    + "\(names) before it, after it changed the world they set up\(skippedNote); add `commit: true` to '\(step.id)' "
                    + "so that the automatic rollback stops there (`runbook rollback RUN --past-commit` still goes on)",
                at: location)
        }
    }

    /// Whether a `when` or `modes` may skip the step in some run.
    func mayBeSkippedInSomeRun(_ step: Step, runbook: Runbook) -> Bool {
        if step.when != nil { return true }
        guard let modes = step.modes else { return false }
        return !Set(runbook.modes.map(\.value)).isSubset(of: Set(modes.map(\.value)))
    }

    /// Whether a rollback runs an undo for the step (a declared undo, or a derived one).
    func hasRollbackUndo(_ step: Step) -> Bool {
        switch step.body {
        case .action(let name):
            guard !step.irreversible, let type = registry[name.value], type.descriptor.changes else { return false }
            if step.undo != nil { return true }
            if case .derived = type.descriptor.undo { return true }
            return false
        case .choose(let alternatives):
            return alternatives.contains { hasRollbackUndo($0.step) }
        case .probe, .gate:
            return false
        }
    }

    /// Every step `id` needs, directly or through other steps.
    static func ancestors(of id: String, edges: [String: [String]]) -> Set<String> {
        var result = Set<String>()
        var frontier = edges[id] ?? []
        while let next = frontier.popLast() {
            guard result.insert(next).inserted else { continue }
            frontier.append(contentsOf: edges[next] ?? [])
        }
        return result
    }

    // MARK: - Steps

    struct Scope {
        var runbook: Runbook
        var registry: ActionRegistry
        var steps: [String: Step]
        var inventory: Inventory?
        /// What `run.X` may read: `id` in steps; the timings too in an objective's `measure`.
        var runNames: [String] = ["id"]
        /// Whether the step being checked has a `for_each` (so `item` names its element).
        var iterating = false
        /// Its elements, when the inventory gives them.
        var items: [PlanItem]?
    }

    /// `for_each` and `key` go together; the list reads only what is known before the run.
    func checkForEach(_ step: Step, scope: Scope, diagnostics: inout Diagnostics) {
        for (key, budget) in [("max_concurrency", step.maxConcurrency), ("max_failed", step.maxFailed)] {
            guard let budget else { continue }
            if step.forEach == nil {
                diagnostics.error(
                    "step '\(step.id)': \(key) counts the items of a for_each, and this step has no for_each; "
                        + "put it on the for_each step, or at the top of the runbook for the whole run",
                    at: budget.location)
            }
        }
        if let budget = step.maxFailed, scope.runbook.onItemFailure == .wholeRun {
            diagnostics.error(
                "step '\(step.id)': max_failed counts failed items, but on_item_failure: whole_run stops the run at the "
                    + "first failure; remove max_failed, or use on_item_failure: isolate",
                at: budget.location)
        }
        switch (step.forEach, step.key) {
        case (nil, let key?):
            diagnostics.error(
                "step '\(step.id)' has a `key` but no `for_each`: a key names the instances of a for_each",
                at: key.location)
        case (_?, nil) where step.keyLocation != nil:
            return  // a key was written but did not load: the loader said why, at the key
        case (let forEach?, nil):
            diagnostics.error(
                "step '\(step.id)': for_each needs a `key` that names each instance (for example `key: item.name`, which makes \(step.id)[NAME])",
                at: forEach.location)
        case (let forEach?, _):
            for reference in forEach.expression.references {
                guard case .member(let root)? = reference.path.first else { continue }
                if !ForEachExpansion.roots.contains(root) {
                    diagnostics.error(
                        "for_each may read only \(ForEachExpansion.roots.sorted().joined(separator: ", ")) (the instances are made when the plan is), not '\(root)'",
                        at: forEach.location(ofOffset: reference.offset))
                }
            }
            var outer = scope
            outer.iterating = false
            checkExpression(forEach, outputs: nil, scope: outer, diagnostics: &diagnostics)
            if let key = step.key { checkExpression(key, outputs: nil, scope: scope, diagnostics: &diagnostics) }
        case (nil, nil):
            return
        }
    }

    func checkStep(_ step: Step, scope: Scope, diagnostics: inout Diagnostics) {
        if let target = step.target { checkTarget(target, stepID: step.id, scope: scope, diagnostics: &diagnostics) }
        if let when = step.when {
            checkExpression(when, outputs: nil, scope: scope, diagnostics: &diagnostics)
        }
        switch step.body {
        case .action, .probe:
            checkTyped(step, scope: scope, diagnostics: &diagnostics)
        case .gate(let gate):
            if step.with != nil {
                diagnostics.error("a gate takes its settings inside `gate:`, not in `with`", at: step.with!.location)
            }
            let timeout: LocatedExpression?
            switch gate.kind {
            case .approval(let approval): timeout = approval.timeoutExpression
            case .until(let until): timeout = until.timeoutExpression
            }
            if let timeout { checkExpression(timeout, outputs: nil, scope: scope, diagnostics: &diagnostics) }
            switch gate.kind {
            case .approval(let approval):
                if let prompt = approval.prompt { checkTemplate(prompt, scope: scope, diagnostics: &diagnostics) }
                checkSignedApproval(approval, stepID: step.id, diagnostics: &diagnostics)
            case .until(let until):
                if let target = until.target {
                    checkTarget(target, stepID: step.id, scope: scope, diagnostics: &diagnostics)
                }
                let outputs = checkTypeName(until.probe, expected: .probe, diagnostics: &diagnostics).map {
                    $0.descriptor.outputs.map(\.name)
                }
                if let probe = registry[until.probe.value], probe.descriptor.kind == .probe {
                    checkWith(
                        until.with, type: probe, stepID: step.id, ownerLocation: until.probe.location, scope: scope,
                        diagnostics: &diagnostics)
                }
                checkExpression(until.condition, outputs: outputs ?? ["*"], scope: scope, diagnostics: &diagnostics)
            }
        case .choose(let alternatives):
            for alternative in alternatives {
                if let when = alternative.when {
                    checkExpression(when, outputs: nil, scope: scope, diagnostics: &diagnostics)
                }
                var inner = alternative.step
                inner.id = step.id
                if inner.target == nil { inner.target = step.target }
                if case .choose = inner.body { continue }
                if case .gate = inner.body {
                    diagnostics.error("a choose alternative must be an action or a probe", at: alternative.location)
                    continue
                }
                checkTyped(inner, scope: scope, diagnostics: &diagnostics)
            }
        }
        if step.expect != nil {
            if case .probe = step.body {
            } else {
                diagnostics.error("`expect` applies to probes; step '\(step.id)' is not one", at: step.expect!.location)
            }
        }
        if step.commit, case .probe = step.body {
            diagnostics.warning(
                "a probe as commit point: commit points are usually the gate where a person says go", at: step.location)
        }
    }

    func checkTyped(_ step: Step, scope: Scope, diagnostics: inout Diagnostics) {
        guard let name = step.body.typeName, !name.value.isEmpty else { return }
        let expected: ActionDescriptor.Kind
        if case .probe = step.body { expected = .probe } else { expected = .action }
        guard let type = checkTypeName(name, expected: expected, diagnostics: &diagnostics) else { return }
        let descriptor = type.descriptor

        var with = step.with
        // Step-level check/verify are the shell's `check`/`verify`.
        for (key, node) in [("check", step.check), ("verify", step.verify)] {
            guard let node else { continue }
            if descriptor.takesStepCheck {
                if with?[key] != nil {
                    diagnostics.error(
                        "step '\(step.id)' gives `\(key)` twice (in the step and in `with`); keep one",
                        at: node.location)
                } else {
                    with = Self.adding(key: key, value: node, to: with, at: step.location)
                }
            } else if key == "check" {
                diagnostics.error(
                    "`check` applies to shell actions; '\(descriptor.name)' knows whether it is already done by itself",
                    at: node.location)
            } else {
                checkCommandShape(node, what: "verify", diagnostics: &diagnostics)
                checkShellText(node, name: "verify", script: false, command: true, diagnostics: &diagnostics)
                checkTemplate(node, scope: scope, diagnostics: &diagnostics)
            }
        }
        checkWith(
            with, type: type, stepID: step.id, ownerLocation: name.location, scope: scope, diagnostics: &diagnostics)

        if let expect = step.expect {
            checkExpression(expect, outputs: descriptor.outputs.map(\.name), scope: scope, diagnostics: &diagnostics)
        }

        // Undo.
        if let none = step.undoNone {
            if step.irreversible {
                diagnostics.error(
                    "step '\(step.id)' is marked irreversible but says `undo: none` (nothing to undo); keep one",
                    at: none.location)
            } else if !descriptor.changes {
                diagnostics.warning(
                    "step '\(step.id)': `undo: none` is not needed, '\(descriptor.name)' changes nothing",
                    at: none.location)
            }
        } else if let undo = step.undo {
            if step.irreversible {
                diagnostics.error(
                    "step '\(step.id)' is marked irreversible but declares an undo; keep one", at: undo.location)
            }
            if let undoType = checkTypeName(undo.action, expected: .action, diagnostics: &diagnostics) {
                checkWith(
                    undo.with, type: undoType, stepID: step.id, ownerLocation: undo.action.location, scope: scope,
                    diagnostics: &diagnostics)
            }
            if !descriptor.changes {
                diagnostics.warning(
                    "step '\(step.id)' declares an undo but '\(descriptor.name)' changes nothing", at: undo.location)
            }
        } else if descriptor.changes, descriptor.undo == .declared, !step.irreversible {
            diagnostics.warning(
                "step '\(step.id)' changes the world but has neither `undo` nor `irreversible: true`; a rollback could not reverse it",
                at: step.location)
        }
    }

    @discardableResult
    func checkTypeName(_ name: Located<String>, expected: ActionDescriptor.Kind, diagnostics: inout Diagnostics) -> (
        any ActionType
    )? {
        guard let type = registry[name.value] else {
            let candidates = registry.names(of: expected)
            diagnostics.error(
                "unknown \(expected.rawValue) type '\(name.value)'\(Suggestions.hint(for: name.value, in: candidates)); `runbook actions` lists them",
                at: name.location)
            return nil
        }
        if type.descriptor.kind == .gate {
            let form = Gate.Kind.Name(rawValue: name.value) == .until ? Gate.untilForm : Gate.approvalForm
            diagnostics.error(
                "'\(name.value)' is a gate, not \(expected == .action ? "an" : "a") \(expected.rawValue): write the step as \(form) (`runbook actions \(name.value)` lists its settings)",
                at: name.location)
            return nil
        }
        if type.descriptor.kind != expected {
            diagnostics.error(
                "'\(name.value)' is \(type.descriptor.kind == .action ? "an" : "a") \(type.descriptor.kind.rawValue), not \(expected == .action ? "an" : "a") \(expected.rawValue); write `\(type.descriptor.kind.rawValue): \(name.value)`",
                at: name.location)
            return nil
        }
        return type
    }

    func checkWith(
        _ with: YAMLNode?, type: any ActionType, stepID: String, ownerLocation: SourceLocation, scope: Scope,
        diagnostics: inout Diagnostics
    ) {
        let descriptor = type.descriptor
        let pairs = with?.pairs ?? []
        let names = descriptor.parameters.map(\.name)
        var given = Set<String>()
        for pair in pairs where !YAMLParser.isDuplicateSentinel(pair.key) {
            guard let parameter = descriptor.parameter(named: pair.key) else {
                let takes = names.isEmpty ? "it takes no parameters" : "it takes \(names.joined(separator: ", "))"
                diagnostics.error(
                    "'\(descriptor.name)' does not take '\(pair.key)'\(Suggestions.hint(for: pair.key, in: names)); \(takes)",
                    at: pair.keyLocation)
                continue
            }
            given.insert(pair.key)
            checkLiteral(pair.value, parameter: parameter, diagnostics: &diagnostics)
            checkShellText(
                pair.value, name: pair.key, script: parameter.isShellText, command: parameter.type == .command,
                diagnostics: &diagnostics)
            checkTemplate(pair.value, scope: scope, diagnostics: &diagnostics)
            if parameter.isHostReference {
                checkHostReference(
                    pair.value, parameter: parameter, stepID: stepID, scope: scope, diagnostics: &diagnostics)
            }
        }
        let location = with?.location ?? ownerLocation
        for parameter in descriptor.parameters where parameter.required && !given.contains(parameter.name) {
            diagnostics.error(
                "step '\(stepID)': '\(descriptor.name)' needs '\(parameter.name)' in `with` (\(parameter.description))",
                at: location)
        }
        for group in descriptor.exactlyOneOf {
            let present = group.filter(given.contains)
            if present.isEmpty {
                diagnostics.error(
                    "step '\(stepID)': '\(descriptor.name)' needs one of \(group.map { "'\($0)'" }.joined(separator: " or ")) in `with`",
                    at: location)
            } else if present.count > 1 {
                diagnostics.error(
                    "step '\(stepID)': give only one of \(present.map { "'\($0)'" }.joined(separator: " and "))",
                    at: pairs.first { $0.key == present[1] }?.keyLocation ?? location)
            }
        }
    }

    /// Type checks a value that has no expression in it.
    func checkLiteral(_ node: YAMLNode, parameter: ParameterSpec, diagnostics: inout Diagnostics) {
        if let text = node.scalar, TemplateResolver.containsInterpolation(text), node.isSingleInterpolation { return }
        let what = "'\(parameter.name)'"
        switch parameter.type {
        case .any, .string:
            if parameter.type == .string, node.scalar == nil {
                diagnostics.error("\(what) must be a string, got \(node.kindDescription)", at: node.location)
            }
        case .int:
            if let text = node.scalar, !TemplateResolver.containsInterpolation(text), Int(text) == nil {
                diagnostics.error("\(what) must be a whole number, got \(node.kindDescription)", at: node.location)
            } else if node.scalar == nil {
                diagnostics.error("\(what) must be a whole number, got \(node.kindDescription)", at: node.location)
            }
        case .bool:
            if let text = node.scalar, !TemplateResolver.containsInterpolation(text),
                !["true", "false", "yes", "no", "on", "off"].contains(text.lowercased())
            {
                diagnostics.error("\(what) must be true or false, got \(node.kindDescription)", at: node.location)
            } else if node.scalar == nil {
                diagnostics.error("\(what) must be true or false, got \(node.kindDescription)", at: node.location)
            }
        case .duration:
            if let text = node.scalar, !TemplateResolver.containsInterpolation(text),
                Value.parseBoundedDuration(text) == nil
            {
                diagnostics.error(
                    "\(what) must be a duration like 90s, 15m, 2h or 1h30m, at most \(Value.maxDurationText), "
                        + "got \(node.kindDescription)",
                    at: node.location)
            } else if node.scalar == nil {
                diagnostics.error("\(what) must be a duration, got \(node.kindDescription)", at: node.location)
            }
        case .argv, .stringList:
            guard let items = node.items else {
                let hint =
                    parameter.type == .argv
                    ? " (write the command as a list: [cmd, arg1, arg2]; use `script` for shell text)" : ""
                diagnostics.error("\(what) must be a list, got \(node.kindDescription)\(hint)", at: node.location)
                return
            }
            if parameter.type == .argv, items.isEmpty {
                diagnostics.error("\(what) is an empty command", at: node.location)
            }
            for item in items where item.scalar == nil {
                diagnostics.error(
                    "each element of \(what) must be a string, got \(item.kindDescription)", at: item.location)
            }
        case .command:
            checkCommandShape(node, what: parameter.name, diagnostics: &diagnostics)
        case .stringMap:
            guard let pairs = node.pairs else {
                diagnostics.error("\(what) must be a mapping, got \(node.kindDescription)", at: node.location)
                return
            }
            for pair in pairs where pair.value.scalar == nil {
                diagnostics.error(
                    "each value of \(what) must be a string, got \(pair.value.kindDescription)", at: pair.value.location
                )
            }
        }
    }

    /// Refuses `${{ }}` in text a shell runs: a `script`, or a command given as a string (which
    /// runs with `sh -c`). A command that is one `${{ }}` is allowed: it may be an argv list.
    func checkShellText(_ node: YAMLNode, name: String, script: Bool, command: Bool, diagnostics: inout Diagnostics) {
        guard script || command, let text = node.scalar, TemplateResolver.containsInterpolation(text) else { return }
        if !script, node.isSingleInterpolation { return }
        let characters = Array(text)
        let offset = characters.indices.first { characters[$0...].starts(with: ["$", "{", "{"]) } ?? 0
        diagnostics.error(
            "'\(name)' runs with `sh -c`, and a value put into it with ${{ }} is not quoted, "
                + "so it could run as a command; pass the value in `env` "
                + "(`env: {DIR: \"${{ ... }}\"}`, then \"$DIR\" in the script), "
                + "or use `run` with an argv list",
            at: node.textLocation.advanced(by: offset))
    }

    func checkCommandShape(_ node: YAMLNode, what: String, diagnostics: inout Diagnostics) {
        if node.scalar != nil { return }
        guard let items = node.items else {
            diagnostics.error(
                "'\(what)' must be a command: a list of arguments or a script string, got \(node.kindDescription)",
                at: node.location)
            return
        }
        if items.isEmpty { diagnostics.error("'\(what)' is an empty command", at: node.location) }
        for item in items where item.scalar == nil {
            diagnostics.error(
                "each element of '\(what)' must be a string, got \(item.kindDescription)", at: item.location)
        }
    }

    // MARK: - Targets

    func checkTarget(_ target: Located<String>, stepID: String, scope: Scope, diagnostics: inout Diagnostics) {
        let roles = scope.runbook.roles.map(\.name)
        switch TargetSpec.parse(target.value) {
        case .localhost:
            return
        case .named(let name):
            if roles.contains(name) { return }
            if let inventory = scope.inventory {
                if inventory.host(named: name) != nil { return }
                diagnostics.error(
                    "step '\(stepID)' targets '\(name)', which is neither a role of this runbook nor a host of inventory '\(inventory.name.value)'\(Suggestions.hint(for: name, in: roles + inventory.hosts.map(\.name)))",
                    at: target.location)
            } else if let close = Suggestions.closest(to: name, in: roles) {
                diagnostics.error(
                    "step '\(stepID)' targets undeclared role '\(name)' (did you mean '\(close)'?)", at: target.location
                )
            } else if roles.isEmpty || name.contains("(") || name.contains("[") {
                // A host name: checked against the inventory when one is given.
            }
        case .indexed(let role, _), .any(let role):
            if !roles.contains(role) {
                let declared =
                    roles.isEmpty ? "the runbook declares no roles" : "declared roles: \(roles.joined(separator: ", "))"
                diagnostics.error(
                    "step '\(stepID)' targets undeclared role '\(role)'\(Suggestions.hint(for: role, in: roles)); \(declared)",
                    at: target.location)
            } else if case .indexed(_, let index) = TargetSpec.parse(target.value), let inventory = scope.inventory,
                let declared = scope.runbook.roles.first(where: { $0.name == role })
            {
                // As the plan refuses it (NodeBuilder); too few hosts for the role's `min` is told
                // at the role already.
                let hosts = inventory.hosts(inRole: role)
                if index >= hosts.count, hosts.count >= declared.min {
                    diagnostics.error(
                        "step '\(stepID)' targets \(role)[\(index)] but inventory '\(inventory.name.value)' has \(hosts.count) host\(hosts.count == 1 ? "" : "s") with role '\(role)'",
                        at: target.location)
                }
            }
        case .invalid(let reason):
            diagnostics.error("step '\(stepID)': bad target '\(target.value)': \(reason)", at: target.location)
        }
    }

    /// A literal value of a parameter that names hosts, checked like `on:` (an expression's
    /// value is checked by the compiler): each at its position, with "did you mean".
    func checkHostReference(
        _ node: YAMLNode, parameter: ParameterSpec, stepID: String, scope: Scope, diagnostics: inout Diagnostics
    ) {
        let list = parameter.type == .stringList
        let values = list ? (node.items ?? []) : [node]
        for value in values {
            guard let text = value.scalar, !TemplateResolver.containsInterpolation(text) else { continue }
            if case .failure(let problem) = HostReference.resolve(
                text, list: list, runbook: scope.runbook, inventory: scope.inventory)
            {
                diagnostics.error("step '\(stepID)': '\(parameter.name)': \(problem.message)", at: value.location)
            }
        }
    }

    // MARK: - Expressions

    func checkTemplate(_ node: YAMLNode, scope: Scope, diagnostics: inout Diagnostics) {
        for (reference, location) in TemplateResolver.references(in: node, diagnostics: &diagnostics) {
            checkReference(reference, at: location, outputs: nil, scope: scope, diagnostics: &diagnostics)
        }
    }

    func checkExpression(
        _ expression: LocatedExpression, outputs: [String]?, scope: Scope, diagnostics: inout Diagnostics
    ) {
        for reference in expression.expression.references {
            checkReference(
                reference, at: expression.location(ofOffset: reference.offset), outputs: outputs, scope: scope,
                diagnostics: &diagnostics)
        }
    }

    /// - Parameter outputs: the names `outputs.X` may use (`["*"]`: any), or nil where `outputs` is not available.
    func checkReference(
        _ reference: NameReference, at location: SourceLocation, outputs: [String]?, scope: Scope,
        diagnostics: inout Diagnostics
    ) {
        guard case .member(let root)? = reference.path.first else { return }
        var roots = Self.expressionRoots
        if outputs != nil { roots.append("outputs") }
        func member(_ index: Int) -> (String, SourceLocation)? {
            guard index < reference.path.count, case .member(let name) = reference.path[index] else { return nil }
            // Offset of the member: the dotted path up to it.
            var offset = 0
            for component in reference.path.prefix(index) {
                if case .member(let text) = component { offset += text.count + 1 } else { return (name, location) }
            }
            return (name, location.advanced(by: offset))
        }
        switch root {
        case "params":
            guard let (name, at) = member(1) else { return }
            let declared = scope.runbook.params.map(\.name)
            if !declared.contains(name) {
                diagnostics.error(
                    "params.\(name) is not declared\(Suggestions.hint(for: name, in: declared)); declare it under `params:`",
                    at: at)
            }
        case "hosts":
            guard let (name, at) = member(1) else { return }
            let roles = scope.runbook.roles.map(\.name)
            if !roles.contains(name) {
                diagnostics.error(
                    "hosts.\(name): '\(name)' is not a declared role\(Suggestions.hint(for: name, in: roles)); declare it under `roles:`",
                    at: at)
            }
        case "steps":
            guard let (id, at) = member(1) else { return }
            guard let step = scope.steps[id] else {
                diagnostics.error(
                    "steps.\(id): no step has id '\(id)'\(Suggestions.hint(for: id, in: scope.steps.keys.sorted()))",
                    at: at)
                return
            }
            guard let (field, fieldAt) = member(2) else { return }
            // A for_each step also offers `items`: each instance's {key, host, outputs, status}.
            let offered = step.forEach == nil ? ["outputs", "status"] : ["outputs", "status", "items"]
            guard offered.contains(field) else {
                let extra =
                    field == "items"
                    ? " (`items` is each instance of a step with for_each; '\(id)' has none)" : ""
                diagnostics.error(
                    "steps.\(id).\(field): a step offers `outputs` and `status`\(Suggestions.hint(for: field, in: offered))\(extra)",
                    at: fieldAt)
                return
            }
            if field == "items", reference.path.count > 5, reference.path[3] != .member("outputs"),
                case .member("outputs") = reference.path[4], case .member(let output) = reference.path[5]
            {
                let known = outputNames(of: step)
                if !known.contains("*"), !known.contains(output) {
                    diagnostics.error(
                        "steps.\(id).items[*].outputs.\(output): step '\(id)' has no output '\(output)'\(Suggestions.hint(for: output, in: known)); it has \(known.isEmpty ? "none" : known.joined(separator: ", "))",
                        at: location)
                }
            }
            if field == "outputs", let (output, outputAt) = member(3) {
                let known = outputNames(of: step)
                if !known.contains("*"), !known.contains(output) {
                    diagnostics.error(
                        "steps.\(id).outputs.\(output): step '\(id)' has no output '\(output)'\(Suggestions.hint(for: output, in: known)); it has \(known.isEmpty ? "none" : known.joined(separator: ", "))",
                        at: outputAt)
                }
            }
        case "run":
            guard let (name, at) = member(1) else { return }
            if !scope.runNames.contains(name) {
                let offered =
                    scope.runNames.count == 1
                    ? "only `run.id`" : scope.runNames.map { "`run.\($0)`" }.joined(separator: ", ")
                let extra =
                    scope.runNames.count == 1 && Objective.runTimings.contains(name)
                    ? " (the run's timings are for an objective's `measure`)" : ""
                diagnostics.error(
                    "run.\(name): a run offers \(offered)\(Suggestions.hint(for: name, in: scope.runNames))\(extra)",
                    at: at)
            }
        case "host":
            guard let (name, at) = member(1) else { return }
            if !["name", "address", "roles"].contains(name) {
                diagnostics.error(
                    "host.\(name): the current host offers name, address, roles\(Suggestions.hint(for: name, in: ["name", "address", "roles"]))",
                    at: at)
            }
        case "vars":
            guard let (name, at) = member(1), let inventory = scope.inventory else { return }
            let names = inventory.vars.map(\.key)
            // Said once, at its first read: a runbook that reads a var in every step (the shipped
            // ones' `vars.sessions`) would otherwise list the same missing var dozens of times.
            let prefix = "vars.\(name) is not set in inventory"
            if !names.contains(name), !diagnostics.all.contains(where: { $0.message.hasPrefix(prefix) }) {
                let first = inventory.vars.first?.keyLocation
                let place =
                    first.map { "\($0.file) line \($0.line)" } ?? "\(inventory.location.file), under `vars:`"
                diagnostics.error(
                    "\(prefix) '\(inventory.name.value)'\(Suggestions.hint(for: name, in: names)); add `\(name):` to its vars (\(place)); every other read of it is refused the same way",
                    at: at)
            }
        case "outputs":
            guard let outputs, !outputs.contains("*"), let (name, at) = member(1) else { return }
            if !outputs.contains(name) {
                diagnostics.error(
                    "outputs.\(name): this probe has no output '\(name)'\(Suggestions.hint(for: name, in: outputs)); it has \(outputs.joined(separator: ", "))",
                    at: at)
            }
        case "mode":
            return
        case "item" where scope.iterating:
            if let items = scope.items, let (field, at) = member(1) {
                checkItemField(field, at: at, items: items, diagnostics: &diagnostics)
            }
        case "item":
            diagnostics.error(
                "`item` is only known in a step with for_each (the element it is run for); add `for_each:` and `key:` to this step, or read the list itself (vars.NAME)",
                at: location)
        default:
            if scope.iterating { roots.append("item") }
            let hint = Suggestions.hint(for: root, in: roots)
            let extra =
                root == "outputs"
                ? " (`outputs` is only available in a probe's `expect` and an until gate's `condition`)" : ""
            diagnostics.error(
                "unknown name '\(root)'\(hint)\(extra); names are \(roots.joined(separator: ", "))", at: location)
        }
    }

    /// `item.FIELD` in a step whose elements are known: each element that is a map must have
    /// the field (`get(item, 'F', DEFAULT)` reads an optional one), or `plan` would refuse it.
    func checkItemField(_ field: String, at location: SourceLocation, items: [PlanItem], diagnostics: inout Diagnostics)
    {
        var lacking: [PlanItem] = []
        var fields: [String] = []
        for item in items {
            guard case .map(let map) = item.value else { continue }
            fields.append(contentsOf: map.keys.filter { !fields.contains($0) })
            if map[field] == nil { lacking.append(item) }
        }
        guard let first = lacking.first else { return }
        let list = first.list
        if lacking.count == items.count {
            diagnostics.error(
                "item.\(field): no element of \(list) has a field '\(field)'\(Suggestions.hint(for: field, in: fields));"
                    + " its fields are \(fields.sorted().joined(separator: ", "))",
                at: location)
            return
        }
        let which = lacking.map { "\(list)[\($0.index)] (\($0.key))" }.joined(separator: ", ")
        diagnostics.error(
            "item.\(field): \(which) \(lacking.count == 1 ? "has" : "have") no field '\(field)'; add it to"
                + " \(lacking.count == 1 ? "that element" : "those elements") in the inventory, or read it with"
                + " get(item, '\(field)', DEFAULT)",
            at: location)
    }

    func outputNames(of step: Step) -> [String] {
        switch step.body {
        case .action(let name), .probe(let name):
            return registry[name.value]?.descriptor.outputs.map(\.name) ?? ["*"]
        case .gate(let gate):
            switch gate.kind {
            case .approval: return registry[Gate.Kind.Name.approval.rawValue]?.descriptor.outputs.map(\.name) ?? []
            case .until(let until): return registry[until.probe.value]?.descriptor.outputs.map(\.name) ?? ["*"]
            }
        case .choose(let alternatives):
            var names: [String] = []
            for alternative in alternatives {
                if let name = alternative.step.body.typeName, let type = registry[name.value] {
                    names.append(contentsOf: type.descriptor.outputs.map(\.name).filter { !names.contains($0) })
                } else {
                    return ["*"]
                }
            }
            return names
        }
    }

    // MARK: - Commit points

    /// Each part of a step that is marked irreversible, where, and the name of its type when that
    /// type derives its undo (so the mark is not needed).
    func irreversibleParts(of step: Step) -> [(Bool, SourceLocation, String?)] {
        func part(_ step: Step, _ fallback: SourceLocation) -> (Bool, SourceLocation, String?) {
            var derived: String?
            if step.irreversible, let name = step.body.typeName?.value,
                let type = registry[name], case .derived = type.descriptor.undo
            {
                derived = name
            }
            return (step.irreversible, step.irreversibleLocation ?? fallback, derived)
        }
        if case .choose(let alternatives) = step.body {
            return alternatives.map { part($0.step, $0.location) } + [part(step, step.location)]
        }
        return [part(step, step.location)]
    }

    /// Ids of steps that have a commit point among their transitive needs.
    static func stepsBehindCommit(_ steps: [Step], edges: [String: [String]]) -> Set<String> {
        let commits = Dictionary(steps.map { ($0.id, $0.commit) }, uniquingKeysWith: { first, _ in first })
        var memo: [String: Bool] = [:]
        var visiting = Set<String>()
        func behind(_ id: String) -> Bool {
            if let known = memo[id] { return known }
            if !visiting.insert(id).inserted { return false }  // cycle: reported elsewhere
            var result = false
            for need in edges[id] ?? [] {
                if commits[need] == true || behind(need) {
                    result = true
                    break
                }
            }
            visiting.remove(id)
            memo[id] = result
            return result
        }
        var result = Set<String>()
        // Iterate in an order that fills memo bottom-up to keep recursion shallow.
        for step in steps where behind(step.id) { result.insert(step.id) }
        return result
    }

    static func adding(key: String, value: YAMLNode, to with: YAMLNode?, at location: SourceLocation) -> YAMLNode {
        var pairs = with?.pairs ?? []
        pairs.append(YAMLNode.Pair(key: key, keyLocation: value.location, value: value))
        return YAMLNode(.mapping(pairs), at: with?.location ?? location)
    }
}

extension YAMLNode {
    /// A scalar that is exactly one `${{ }}`: its type is only known when evaluated.
    var isSingleInterpolation: Bool {
        guard let text = scalar else { return false }
        return NodeReader.unwrapInterpolation(text) != nil
    }
}
