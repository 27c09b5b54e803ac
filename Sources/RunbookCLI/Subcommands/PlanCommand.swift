import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution

/// Options shared by `plan` and `run`: which runbook, against which inventory, with what.
struct PlanOptions: ParsableArguments {
    @Argument(help: "The runbook file.", completion: Completions.files)
    var file: String

    @Option(
        name: [.customShort("i"), .long], help: "The inventory file (hosts, roles, vars).",
        completion: Completions.files)
    var inventory: String

    @Option(
        name: [.customShort("p"), .customLong("param")],
        help: ArgumentHelp("Set a param (repeatable).", valueName: "name=value"))
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
    struct PlanCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show what a runbook would do against an inventory (the dry run).",
            discussion: """
                Prints each step instance with its host, the exact commands, its needs, why it is \
                skipped if it is, and its undo, then the rollback order and a count line:
                  + will change   = already done   ? unknown until run   - skipped (mode/when)
                Without --offline it connects to the hosts and runs every precondition and every \
                action's read-only probe (nothing is changed). With --offline no host is contacted. \
                Exit 0; 2 when the runbook, inventory or params are invalid; 3 when a precondition fails.
                """)

        @OptionGroup var options: PlanOptions

        @Flag(help: "Do not contact any host: compile and show the plan only.")
        var offline = false

        @Option(
            name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("Save the plan (JSON with its SHA-256) to this file.", valueName: "PLAN"))
        var output: String?

        @Option(help: "Output format: text, json, dot (Graphviz) or mermaid.")
        var format: PlanFormat = .text

        mutating func run() async throws {
            let params = try options.parsedParams()
            let inputs = try RunInputs.load(
                runbook: options.file, inventory: options.inventory, mode: options.mode, params: params, runID: nil)
            var plan = inputs.plan
            var facts: [String: String] = [:]
            var preconditionsFailed = false
            var leftOut: [String] = []  // what a run would do with the items whose precondition fails
            var budgetStop: Plan.PreconditionStop?  // why the failed preconditions would refuse the whole run
            if !offline {
                let state = try StateContext.open(redactor: plan.redactor)
                let hosts = HostPool(inventory: plan.inventory, state: state.directory)
                // On a terminal, what is being probed meanwhile (a slow host leaves nothing blank).
                let progress =
                    Terminal.stderrIsTTY
                    ? ProgressReporter.probeProgress(tty: true, color: Terminal.colorEnabled(forStderr: true)) : nil
                let live = await LivePlanner(hosts: hosts, compiler: Compiler(registry: .standard), progress: progress)
                    .run(plan)
                await hosts.closeAll()
                plan = live.plan
                facts = live.facts
                preconditionsFailed = live.preconditionsFailed
                budgetStop = plan.preconditionsStopRun(failed: live.preconditions.filter { !$0.passed }.map(\.nodeID))
                if budgetStop == nil {
                    leftOut = live.leftOut.map { key, result in
                        "runbook: item [\(key)] would be left out (on_item_failure: isolate): precondition "
                            + "\(result.nodeID) on \(result.host) fails: \(result.summary); nothing of it would run\n"
                    }
                }
            }

            switch format {
            case .text:
                Terminal.write(PlanTextRenderer(plan: plan, color: Terminal.colorEnabled(forStderr: false)).render())
            case .json: PlanJSONRenderer(plan: plan).write { StandardStream.standardOutput.write(Data($0)) }
            case .dot: Terminal.write(PlanGraphRenderer(plan: plan).dot())
            case .mermaid: Terminal.write(PlanGraphRenderer(plan: plan).mermaid())
            }

            if let output {
                let hash = inputs.planHash(facts: facts)
                var document = PlanDocument(plan: plan)
                document.planHash = hash
                document.facts = facts
                document.inputs = inputs.documentInputs
                document.createdAt = ISO8601DateFormatter().string(from: Date())
                let text =
                    String(decoding: document.encoded(redactor: plan.redactor, pretty: true), as: UTF8.self) + "\n"
                do {
                    try PrivateFile.write(text, to: output)
                } catch {
                    Terminal.writeError(
                        "runbook: error: cannot write the plan to '\(output)': \(error); "
                            + "check that its directory exists and is writable\n")
                    throw RunbookExit.failed
                }
                Terminal.writeError(
                    "runbook: plan saved to \(output) (sha256 \(hash.prefix(16))…); run it with `runbook run \(output) -i \(options.inventory)`\n"
                )
            }
            if preconditionsFailed, !leftOut.isEmpty {
                Terminal.writeError(
                    leftOut.joined()
                        + "runbook: the other items would run to their end; a step that needs every item would not "
                        + "run, and the run would end failed (exit 1). Fix what the precondition says and run the "
                        + "left-out items again (exit 3)\n")
                throw RunbookExit.preconditionFailed
            }
            if preconditionsFailed {
                if let budget = budgetStop?.budget {
                    Terminal.writeError(
                        "runbook: \(budget); nothing would be started\n"
                    )
                }
                Terminal.writeError(
                    "runbook: a precondition fails: a run would stop before changing anything (exit 3)\n")
                throw RunbookExit.preconditionFailed
            }
        }
    }
}
