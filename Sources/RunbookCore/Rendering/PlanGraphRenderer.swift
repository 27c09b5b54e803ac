import Foundation

/// Renders a plan's DAG for Graphviz (`dot -Tsvg`) or Mermaid.
public struct PlanGraphRenderer {
    public var plan: Plan

    public init(plan: Plan) { self.plan = plan }

    public func dot() -> String {
        var out = [
            "digraph \"\(escape(plan.runbook.name.value))\" {", "  rankdir=TB;",
            "  node [shape=box, fontname=\"Helvetica\", fontsize=10];",
        ]
        for node in plan.nodes {
            // Each line escaped, then joined with DOT's own line break (`\n`, not an escaped backslash).
            let text = labelLines(node).map(escape).joined(separator: "\\n")
            var attributes = ["label=\"\(text)\""]
            switch node.kind {
            case .gate: attributes.append("shape=hexagon")
            case .probe: attributes.append("shape=ellipse")
            case .choose: attributes.append("shape=diamond")
            case .action: break
            }
            if node.effect.isSkipped {
                attributes.append("style=dashed")
                attributes.append("fontcolor=gray50")
            }
            if node.commit {
                attributes.append("penwidth=3")
                attributes.append("color=purple")
            }
            out.append("  \"\(escape(node.id))\" [\(attributes.joined(separator: ", "))];")
        }
        for node in plan.nodes {
            for need in node.needs { out.append("  \"\(escape(need))\" -> \"\(escape(node.id))\";") }
        }
        out.append("}")
        return plan.redactor.redact(out.joined(separator: "\n")) + "\n"
    }

    public func mermaid() -> String {
        var ids: [String: String] = [:]
        for (index, node) in plan.nodes.enumerated() { ids[node.id] = "n\(index)" }
        var out = ["flowchart TD"]
        for node in plan.nodes {
            let text = label(node, separator: "<br/>").replacingQuotes()
            let id = ids[node.id]!
            switch node.kind {
            case .gate: out.append("  \(id){{\"\(text)\"}}")
            case .choose: out.append("  \(id){\"\(text)\"}")
            case .probe: out.append("  \(id)([\"\(text)\"])")
            case .action: out.append("  \(id)[\"\(text)\"]")
            }
        }
        for node in plan.nodes {
            for need in node.needs { out.append("  \(ids[need]!) --> \(ids[node.id]!)") }
        }
        return plan.redactor.redact(out.joined(separator: "\n")) + "\n"
    }

    func label(_ node: PlanNode, separator: String) -> String {
        labelLines(node).joined(separator: separator)
    }

    func labelLines(_ node: PlanNode) -> [String] {
        var parts = [
            "\(node.effect.marker) \(node.stepID)\(node.item.map { " [\($0.key)]" } ?? "")", "on \(node.host)",
        ]
        switch node.kind {
        case .gate: parts.append("gate \(node.typeName)")
        default: parts.append(node.typeName)
        }
        if node.commit { parts.append("commit point") }
        return parts
    }

    func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result
    }
}

extension String {
    func replacingQuotes() -> String {
        var result = ""
        for character in self { result += character == "\"" ? "#quot;" : String(character) }
        return result
    }
}
