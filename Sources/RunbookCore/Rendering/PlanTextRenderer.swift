/// Renders a plan as the text an operator reads before saying go.
public struct PlanTextRenderer {
    public var plan: Plan
    public var color: Bool

    public init(plan: Plan, color: Bool = false) {
        self.plan = plan
        self.color = color
    }

    public func render() -> String {
        var out: [String] = []
        let runbook = plan.runbook
        out.append(
            "Plan: runbook '\(runbook.name.value)' (\(runbook.file)), mode \(plan.mode), inventory '\(plan.inventory.name.value)' (\(plan.inventory.file))"
        )
        if plan.offline {
            out.append("Offline: no host was contacted; what is already done is known only with a live plan.")
        }
        if !plan.params.isEmpty {
            out.append("")
            out.append("Params:")
            let width = plan.params.map(\.name.count).max() ?? 0
            for param in plan.params {
                out.append("  \(param.name.padding(to: width)) = \(param.display)  (\(param.source.rawValue))")
            }
        }
        let sinks = NotifySink.effective(inventory: plan.inventory.notify, runbook: runbook.notify)
        if !sinks.isEmpty {
            out.append("")
            out.append("Notifies (beside the run; a failed delivery changes nothing):")
            let width = sinks.map(\.name.count).max() ?? 0
            for sink in sinks {
                out.append(
                    "  \(sink.name.padding(to: width))  \(sink.target)  of \(sink.events.map(\.rawValue).joined(separator: ", "))"
                )
            }
        }
        if !plan.preconditions.isEmpty {
            out.append("")
            out.append("Preconditions (all must hold before anything changes; they run in parallel):")
            for group in Self.groupedByItem(plan.preconditions) {
                if let header = group.header { out.append(paint(header, "1")) }
                for node in group.nodes { out.append(contentsOf: lines(for: node)) }
            }
        }
        out.append("")
        out.append(
            "Steps (in order; steps whose needs are done run in parallel, up to \(runbook.concurrency) at once):")
        if let policy = itemPolicyLine { out.append(policy) }
        // The budgets over items, said up front (what a run will hold back, and when it stops).
        let rollsBack = plan.nodes.contains { $0.item != nil && $0.onFailure == .rollback }
        for line in ItemBudgets(plan: plan).lines(onFailureRollsBack: rollsBack) { out.append("  " + line) }
        for group in Self.groupedByItem(plan.nodes) {
            if let header = group.header { out.append(paint(header, "1")) }
            for node in group.nodes { out.append(contentsOf: lines(for: node)) }
        }

        out.append("")
        if plan.rollback.isEmpty {
            out.append("Rollback order: nothing to undo (no step with an undo would have changed anything).")
        } else {
            out.append(
                "Rollback order (on failure with on_failure: rollback; newest first, stopping at the last commit point):"
            )
            // `plan.node(id)` is a linear search; once per rollback entry it was quadratic.
            // Same lookup order: the first step instance with the id, else the first precondition.
            var positions: [String: (precondition: Bool, index: Int)] = [:]
            for (index, node) in plan.preconditions.enumerated().reversed() { positions[node.id] = (true, index) }
            for (index, node) in plan.nodes.enumerated().reversed() { positions[node.id] = (false, index) }
            func node(_ id: String) -> PlanNode? {
                guard let position = positions[id] else { return nil }
                return position.precondition ? plan.preconditions[position.index] : plan.nodes[position.index]
            }
            var number = 0
            for entry in plan.rollback {
                switch entry {
                case .undo(let id):
                    number += 1
                    out.append("  \(number). \(id)\(undoSummary(node(id)).map { ": \($0)" } ?? "")")
                case .commitPoint(let id):
                    out.append(
                        "  -- commit point '\(id)': automatic rollback stops here; `runbook rollback RUN --past-commit` goes further"
                    )
                }
            }
        }
        let irreversible = plan.nodes.filter { $0.undo == .irreversible && !$0.effect.isSkipped }.map(\.id)
        if !irreversible.isEmpty {
            out.append("  irreversible (never undone): \(irreversible.joined(separator: ", "))")
        }
        out.append("")
        out.append(countLine)
        for name in plan.unreachableHosts.keys.sorted() {
            out.append("  \(paint("!", "31")) \(name) did not answer: \(plan.unreachableHosts[name]!)")
        }
        return plan.redactor.redact(out.joined(separator: "\n")) + "\n"
    }

    /// What one item's failure does, said once when the plan has `for_each` instances.
    var itemPolicyLine: String? {
        guard plan.nodes.contains(where: { $0.item != nil }) || plan.preconditions.contains(where: { $0.item != nil })
        else { return nil }
        switch plan.runbook.onItemFailure {
        case .isolate:
            return "  (on_item_failure: isolate) a failing item stops only itself: its later steps do not start, "
                + "with on_failure: rollback its own changes are undone newest first, the other items go on to their "
                + "end, and a step that needs every item does not run; an item whose precondition fails is left out."
        case .wholeRun:
            return "  (on_item_failure: whole_run) one item's failure is the run's: the run stops, "
                + "and with on_failure: rollback every item's changes are undone."
        }
    }

    /// The nodes in order, with each run of `for_each` instances of one list regrouped by item
    /// (in the order of the list), under a header naming the item.
    static func groupedByItem(_ nodes: [PlanNode]) -> [(header: String?, nodes: [PlanNode])] {
        var groups: [(header: String?, nodes: [PlanNode])] = []
        var index = 0
        while index < nodes.count {
            guard let list = nodes[index].item?.list else {
                if groups.last?.header == nil, !groups.isEmpty {
                    groups[groups.count - 1].nodes.append(nodes[index])
                } else {
                    groups.append((nil, [nodes[index]]))
                }
                index += 1
                continue
            }
            var end = index
            while end < nodes.count, nodes[end].item?.list == list { end += 1 }
            var byKey: [String: [PlanNode]] = [:]
            var keys: [(index: Int, key: String)] = []
            for node in nodes[index..<end] {
                let item = node.item!
                if byKey[item.key] == nil { keys.append((item.index, item.key)) }
                byKey[item.key, default: []].append(node)
            }
            for (position, key) in keys.sorted(by: { $0.index < $1.index }) {
                groups.append(("  [\(key)] (\(list)[\(position)]):", byKey[key] ?? []))
            }
            index = end
        }
        return groups
    }

    public var countLine: String {
        let counts = plan.counts
        let total = plan.nodes.count
        var line =
            "\(total) step instance\(total == 1 ? "" : "s"): \(counts.willChange) will change, \(counts.alreadyDone) already done, \(counts.unknown) unknown until run, \(counts.skipped) skipped"
        if !plan.preconditions.isEmpty {
            line += "; \(plan.preconditions.count) precondition\(plan.preconditions.count == 1 ? "" : "s")"
        }
        if !plan.unreachableHosts.isEmpty {
            let names = plan.unreachableHosts.keys.sorted()
            line += "; \(names.count) host\(names.count == 1 ? "" : "s") UNREACHABLE: \(names.joined(separator: ", "))"
        }
        return line
    }

    func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func lines(for node: PlanNode) -> [String] {
        var out: [String] = []
        let marker: String
        switch node.effect {
        case .willChange: marker = paint("+", "32")
        case .alreadyDone: marker = paint("=", "34")
        case .unknown: marker = paint("?", "33")
        case .skipped: marker = paint("-", "90")
        }
        var head = "  \(marker) \(paint(node.id, "1"))  on \(node.host)"
        if !node.candidates.isEmpty {
            head += " [\(node.target): first reachable of \(node.candidates.joined(separator: ", "))]"
        } else if node.target != node.host, node.target != "localhost" {
            head += " [\(node.target)]"
        }
        switch node.kind {
        case .gate: head += "  gate \(node.typeName)"
        case .choose: head += "  choose\(node.typeName == "choose" ? "" : " -> \(node.typeName)")"
        default: head += "  \(node.kind.rawValue) \(node.typeName)"
        }
        if node.commit { head += "  " + paint("COMMIT POINT", "1;35") }
        out.append(head)
        let indent = "      "
        if let description = node.description { out.append(indent + description) }
        switch node.effect {
        case .skipped(let why): out.append(indent + "skipped: \(why)")
        case .unknown(let why), .willChange(.some(let why)), .alreadyDone(.some(let why)):
            out.append(indent + "\(node.effect.label): \(why)")
        default: out.append(indent + node.effect.label)
        }
        if !node.needs.isEmpty { out.append(indent + "needs: \(node.needs.joined(separator: ", "))") }
        if let when = node.when {
            out.append(indent + "when: \(when.source)  [\(when.values.joined(separator: ", "))]")
        }
        if let gate = node.gate {
            if gate.type == .approval {
                out.append(indent + "prompt: \(gate.prompt ?? "")")
                var settings: [String] = []
                if !gate.approvers.isEmpty { settings.append("approvers: \(gate.approvers.joined(separator: ", "))") }
                if let signers = gate.allowedSigners {
                    var signed =
                        "signed by \(gate.quorum ?? 1) distinct key\((gate.quorum ?? 1) == 1 ? "" : "s") of \(signers)"
                    if gate.notByLauncher { signed += ", not the launcher's" }
                    settings.append(signed)
                }
                if let timeout = gate.timeout {
                    settings.append("timeout \(Value.formatDuration(timeout)), then \(gate.onTimeout.rawValue)")
                }
                settings.append(
                    gate.requiresSignatures
                        ? "answer with `runbook approve RUN \(node.gateAnswerName) --sign KEY` or `runbook approve --file FILE`"
                        : "answer with --approve \(node.gateAnswerName) or `runbook approve RUN \(node.gateAnswerName)`"
                )
                out.append(indent + settings.joined(separator: "; "))
            } else {
                out.append(
                    indent
                        + "polls probe \(gate.probe ?? "") on \(gate.probeHost ?? node.host) every \(Value.formatDuration(gate.every ?? 30)) until: \(gate.condition ?? "")"
                )
                if let timeout = gate.timeout {
                    out.append(indent + "timeout \(Value.formatDuration(timeout)), then \(gate.onTimeout.rawValue)")
                }
            }
        }
        if let choice = node.choice {
            for (index, alternative) in choice.alternatives.enumerated() {
                let taken =
                    choice.chosen == index ? paint("taken", "1") : (choice.chosen == nil ? "possible" : "not taken")
                let condition =
                    alternative.condition.map { "when \($0.source)  [\($0.values.joined(separator: ", "))]" }
                    ?? "otherwise"
                out.append(indent + "\(index + 1). \(taken): \(condition) -> \(alternative.typeName)")
                if choice.chosen == nil {
                    for command in alternative.commands {
                        out.append(indent + "     " + commandLine(command, node: node))
                    }
                    for command in alternative.undo.commands(.undo) {
                        out.append(indent + "     " + commandLine(command, node: node))
                    }
                }
            }
        }
        if let expect = node.expect { out.append(indent + "expect: \(expect)") }
        for command in node.commands { out.append(indent + commandLine(command, node: node)) }
        if let summary = undoSummary(node), node.changes || node.undo != .none {
            out.append(indent + "undo: \(summary)")
            if case .commands(let commands) = node.undo {
                for command in commands { out.append(indent + "  " + commandLine(command, node: node)) }
            }
        }
        var settings: [String] = []
        if node.retries > 0 {
            settings.append(
                "retries \(node.retries)" + (node.retryDelay.map { " every \(Value.formatDuration($0))" } ?? ""))
        }
        if let timeout = node.timeout { settings.append("timeout \(Value.formatDuration(timeout))") }
        if node.onFailure != plan.runbook.onFailure { settings.append("on failure: \(node.onFailure.rawValue)") }
        if !settings.isEmpty { out.append(indent + settings.joined(separator: ", ")) }
        return out
    }

    func commandLine(_ command: PlannedCommand, node: PlanNode) -> String {
        let label: String
        switch command.purpose {
        case .probe: label = "check "
        case .apply: label = "run   "
        case .verify: label = "verify"
        case .undo: label = "undo  "
        }
        let host = command.host == node.host ? "" : " (on \(command.host))"
        return "\(label) $ \(command.command.shellText)\(host)"
    }

    func undoSummary(_ node: PlanNode?) -> String? {
        guard let node else { return nil }
        if node.undecidedChoice, let alternatives = node.choice?.alternatives {
            let undos = alternatives.map { undoSummary(undo: $0.undo, changes: true) ?? "nothing to undo" }
            return "the undo of the alternative taken at run time ("
                + undos.enumerated().map { "\($0.offset + 1): \($0.element)" }.joined(separator: "; ") + ")"
        }
        return undoSummary(undo: node.undo, changes: node.changes)
    }

    /// `changes`: whether the step changes the world (`undo: none` is worth saying only then).
    func undoSummary(undo: UndoPlan, changes: Bool) -> String? {
        switch undo {
        case .commands: return "declared"
        case .derived(let text): return text
        case .irreversible: return "irreversible"
        case .none: return changes ? "none: nothing to undo (`undo: none`)" : nil
        case .missing: return "none declared (a rollback cannot reverse this step)"
        }
    }
}

extension PlanEffect {
    public var isSkipped: Bool {
        if case .skipped = self { return true }
        return false
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

extension PlanNode {
    /// The name a gate is answered by, as a shell word: its step id, or its instance id
    /// (`'go[gv0]'`) for a gate of a `for_each`.
    var gateAnswerName: String { item == nil ? stepID : ShellQuoting.quote(id) }
}
