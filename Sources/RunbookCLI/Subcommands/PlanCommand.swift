import ArgumentParser
import Foundation
import RunbookCore

/// Options shared by `plan` and `run`: which runbook, against which inventory, with what.
struct PlanOptions: ParsableArguments {
    @Argument(help: "The runbook file.")
    var file: String

    @Option(name: [.customShort("i"), .long], help: "The inventory file (hosts, roles, vars).")
    var inventory: String

    @Option(name: [.customShort("p"), .customLong("param")], help: ArgumentHelp("Set a param (repeatable).", valueName: "name=value"))
    var params: [String] = []

    @Option(help: "The mode to run in (default: the runbook's first mode).")
    var mode: String?

    /// `-p name=value` pairs, or a usage error.
    func parsedParams() throws -> [(name: String, value: String)] {
        try params.map { text in
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw ValidationError("-p expects name=value, got '\(text)'")
            }
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
    }
}

enum PlanFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, dot, mermaid
}

extension RunbookCommand {
    /// `runbook plan FILE -i INV [--offline] [-o PLAN] [--format ...]`.
    struct PlanCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show what a runbook would do against an inventory (the dry run).",
            discussion: """
                Prints each step instance with its host, the exact commands, its needs, why it is \
                skipped if it is, and its undo, then the rollback order and a count line:
                  + will change   = already done   ? unknown until run   - skipped (mode/when)
                With --offline no host is contacted: preconditions and probes are listed, not run. \
                Exit 0, 2 when the runbook, inventory or params are invalid.
                """)

        @OptionGroup var options: PlanOptions

        @Flag(help: "Do not contact any host: compile and show the plan only.")
        var offline = false

        @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Save the plan (JSON with its SHA-256) to this file.", valueName: "PLAN"))
        var output: String?

        @Option(help: "Output format: text, json, dot (Graphviz) or mermaid.")
        var format: PlanFormat = .text

        mutating func run() throws {
            guard offline else {
                Terminal.writeError("""
                    runbook: error: a live plan (probing the hosts) needs the executor, which this build does not have yet.
                    Run `runbook plan \(options.file) -i \(options.inventory) --offline` to see the compiled plan without contacting any host.

                    """)
                throw RunbookExit.usage
            }
            var documents = Documents()
            let runbook = documents.loadRunbook(options.file)
            let inventory = documents.loadInventory(options.inventory)
            let params = try options.parsedParams()
            guard let runbook, let inventory, !documents.diagnostics.hasErrors else {
                documents.printDiagnostics()
                Terminal.writeError("runbook: \(DiagnosticPrinter.summary(documents.diagnostics)); no plan was made\n")
                throw RunbookExit.invalid
            }
            let request = Compiler.Request(
                runbook: runbook, inventory: inventory, mode: options.mode, params: params,
                environment: ProcessInfo.processInfo.environment)
            guard let plan = Compiler(registry: .standard).compile(request, diagnostics: &documents.diagnostics) else {
                documents.printDiagnostics()
                Terminal.writeError("runbook: \(DiagnosticPrinter.summary(documents.diagnostics)); no plan was made\n")
                throw RunbookExit.invalid
            }
            documents.printDiagnostics()  // warnings

            switch format {
            case .text: Terminal.write(PlanTextRenderer(plan: plan, color: Terminal.colorEnabled(forStderr: false)).render())
            case .json: Terminal.write(PlanJSONRenderer(plan: plan).render())
            case .dot: Terminal.write(PlanGraphRenderer(plan: plan).dot())
            case .mermaid: Terminal.write(PlanGraphRenderer(plan: plan).mermaid())
            }

            if let output {
                var object = PlanJSONRenderer(plan: plan).object()
                let hash = PlanHash.compute(
                    runbookText: documents.printer.sources[options.file] ?? "",
                    inventoryText: documents.printer.sources[options.inventory] ?? "",
                    mode: plan.mode, params: plan.params, facts: [:])
                object["plan_hash"] = hash
                object["created_at"] = ISO8601DateFormatter().string(from: Date())
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                let text = plan.redactor.redact(String(decoding: data, as: UTF8.self)) + "\n"
                do {
                    try text.write(toFile: output, atomically: true, encoding: .utf8)
                } catch {
                    Terminal.writeError("runbook: error: cannot write the plan to '\(output)': \(error.localizedDescription)\n")
                    throw RunbookExit.failed
                }
                Terminal.writeError("runbook: plan saved to \(output) (sha256 \(hash.prefix(16))…)\n")
            }
        }
    }
}
