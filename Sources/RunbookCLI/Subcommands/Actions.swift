import ArgumentParser
import Foundation
import RunbookCore

extension RunbookCommand {
    /// `runbook actions [NAME]`.
    struct Actions: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the action, probe and gate types; `runbook actions NAME` shows one in detail.",
            discussion: """
                Without NAME: every type, one line each, and the inventory host keys the packs \
                read. With NAME: that type's parameters (where a step writes them: in `with:` for \
                an action or probe, directly inside `gate: {NAME: {...}}` for a gate), its outputs \
                (what `steps.ID.outputs.X`, a probe's `expect` or an until gate's `condition` \
                read), whether it changes the world, and how it is undone.
                """)

        @Argument(help: "Show one type in detail.")
        var name: String?

        mutating func run() throws {
            let registry = ActionRegistry.standard
            if let name {
                guard let type = registry[name] else {
                    Terminal.writeError(
                        "runbook: error: unknown type '\(name)'\(Suggestions.hint(for: name, in: registry.order)); `runbook actions` lists them\n"
                    )
                    throw RunbookExit.usage
                }
                Terminal.write(Self.detail(type.descriptor))
                return
            }
            for kind in [ActionDescriptor.Kind.action, .probe, .gate] {
                Terminal.write("\(kind.rawValue)s:\n")
                let names = registry.names(of: kind)
                let width = names.map(\.count).max() ?? 0
                for name in names {
                    let descriptor = registry[name]!.descriptor
                    Terminal.write(
                        "  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(descriptor.summary)\n")
                }
            }
            if !registry.hostKeys.isEmpty {
                Terminal.write("inventory host keys the packs read (in `defaults` or per host):\n")
                let width = registry.hostKeys.map(\.name.count).max() ?? 0
                for key in registry.hostKeys {
                    let name = key.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    Terminal.write("  \(name)  \(key.type.rawValue): \(key.description)\n")
                }
            }
            Terminal.write("\n`runbook actions NAME` shows one type's parameters and outputs.\n")
        }

        static func detail(_ descriptor: ActionDescriptor) -> String {
            var out = "\(descriptor.name) (\(descriptor.kind.rawValue))\n  \(descriptor.summary)\n"
            if descriptor.kind == .gate {
                let form = Gate.Kind.Name(rawValue: descriptor.name) == .until ? Gate.untilForm : Gate.approvalForm
                out += "\nsettings (directly under `gate: {\(descriptor.name): {...}}`, not in `with`; \(form)):\n"
            } else {
                out += "\nparameters (in `with`):\n"
            }
            if descriptor.parameters.isEmpty { out += "  none\n" }
            for parameter in descriptor.parameters {
                // A host parameter: what its values may be (checked like `on:`).
                let hosts =
                    !parameter.isHostReference
                    ? ""
                    : parameter.type == .stringList
                        ? ", hosts (host names, localhost, ROLE[N] or a role)"
                        : ", host (a host name, localhost or ROLE[N])"
                out +=
                    "  \(parameter.name): \(parameter.type.rawValue)\(hosts)\(parameter.required ? ", required" : "")\n      \(parameter.description)\n"
            }
            for group in descriptor.exactlyOneOf {
                out += "  (exactly one of \(group.joined(separator: ", ")))\n"
            }
            out += "\noutputs:\n"
            for output in descriptor.outputs { out += "  \(output.name): \(output.type)  \(output.description)\n" }
            if descriptor.outputs.isEmpty { out += "  none\n" }
            out += "\nchanges the world: \(descriptor.changes ? "yes" : "no")\n"
            switch descriptor.undo {
            case .declared: out += "undo: declared by the step (`undo:` or `irreversible: true`)\n"
            case .derived(let text): out += "undo: derived: \(text)\n"
            case .none: out += "undo: nothing to undo\n"
            }
            if let idempotency = descriptor.idempotency { out += "already done when: \(idempotency)\n" }
            if let expectation = descriptor.defaultExpectation { out += "default expect: \(expectation)\n" }
            return out
        }
    }
}
