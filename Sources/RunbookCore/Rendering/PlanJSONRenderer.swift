import Foundation

/// Renders a plan as JSON for tools (and `-o PLAN`).
public struct PlanJSONRenderer {
    public var plan: Plan

    public init(plan: Plan) { self.plan = plan }

    public func object() -> [String: Any] {
        let counts = plan.counts
        return [
            "version": 1,
            "runbook": ["name": plan.runbook.name.value, "file": plan.runbook.file],
            "inventory": ["name": plan.inventory.name.value, "file": plan.inventory.file],
            "mode": plan.mode,
            "offline": plan.offline,
            "params": plan.params.map { ["name": $0.name, "value": $0.secret ? "***" : Self.json($0.value), "secret": $0.secret, "source": $0.source.rawValue] as [String: Any] },
            "preconditions": plan.preconditions.map(node),
            "steps": plan.nodes.map(node),
            "rollback": plan.rollback.map { entry -> [String: Any] in
                switch entry {
                case .undo(let id): return ["undo": id]
                case .commitPoint(let id): return ["commit_point": id]
                }
            },
            "counts": ["will_change": counts.willChange, "already_done": counts.alreadyDone, "unknown": counts.unknown, "skipped": counts.skipped],
        ]
    }

    public func render() -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object(), options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return plan.redactor.redact(String(decoding: data, as: UTF8.self)) + "\n"
    }

    func node(_ node: PlanNode) -> [String: Any] {
        var result: [String: Any] = [
            "id": node.id, "step": node.stepID, "host": node.host, "target": node.target, "kind": node.kind.rawValue,
            "type": node.typeName, "needs": node.needs, "effect": node.effect.label.replacingOccurrences(of: " ", with: "_"),
            "commit": node.commit, "changes": node.changes,
            "location": "\(node.location)",
            "arguments": node.arguments.values.mapValues(Self.json),
            "commands": node.commands.map(command),
        ]
        if let detail = node.effect.detail { result["reason"] = detail }
        if !node.candidates.isEmpty { result["candidates"] = node.candidates }
        switch node.undo {
        case .commands(let commands): result["undo"] = ["kind": "declared", "commands": commands.map(command)] as [String: Any]
        case .derived(let text): result["undo"] = ["kind": "derived", "description": text]
        case .irreversible: result["undo"] = ["kind": "irreversible"]
        case .missing: result["undo"] = ["kind": "missing"]
        case .none: break
        }
        if let expect = node.expect { result["expect"] = expect }
        if let when = node.when { result["when"] = ["source": when.source, "result": when.result as Any, "values": when.values] as [String: Any] }
        if let gate = node.gate {
            var entry: [String: Any] = ["type": gate.type, "on_timeout": gate.onTimeout.rawValue]
            if let prompt = gate.prompt { entry["prompt"] = prompt }
            if !gate.approvers.isEmpty { entry["approvers"] = gate.approvers }
            if let timeout = gate.timeout { entry["timeout_seconds"] = timeout }
            if let condition = gate.condition { entry["condition"] = condition }
            if let probe = gate.probe { entry["probe"] = probe }
            result["gate"] = entry
        }
        if let choice = node.choice {
            result["choose"] = [
                "chosen": choice.chosen as Any,
                "alternatives": choice.alternatives.map { alternative -> [String: Any] in
                    ["type": alternative.typeName, "when": alternative.condition?.source ?? "otherwise",
                     "result": alternative.condition?.result as Any, "values": alternative.condition?.values ?? [],
                     "commands": alternative.commands.map(command)]
                },
            ] as [String: Any]
        }
        return result
    }

    func command(_ command: PlannedCommand) -> [String: Any] {
        var result: [String: Any] = ["purpose": command.purpose.rawValue, "host": command.host, "argv": command.command.argv, "shell": command.command.shellText]
        if !command.command.environment.isEmpty { result["env"] = command.command.environment }
        if let cwd = command.command.workingDirectory { result["cwd"] = cwd }
        return result
    }

    static func json(_ value: Value) -> Any { ValueJSON.object(value) }
}
