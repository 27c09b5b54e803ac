import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime

/// Options `run` and `resume` share.
struct ExecutionFlags: ParsableArguments {
    @Option(
        name: .customLong("approve"),
        help: ArgumentHelp("Approve this gate in advance (repeatable).", valueName: "GATE"))
    var approvals: [String] = []

    @Option(
        name: .customLong("events"),
        help: ArgumentHelp("Write one JSON object per event to FILE (- for stdout).", valueName: "FILE"))
    var events: String?

    @Option(help: "Seconds running commands get after SIGINT/SIGTERM/SIGHUP before they are killed (0 to 3600).")
    var grace: Double = 10

    @Option(
        name: .customLong("report-dir"),
        help: ArgumentHelp(
            "When the run ends, whatever the outcome (a held lock and a failed precondition included), write its rehearsal report to DIR/RUN.html and DIR/RUN.json (and latest.html, latest.json).",
            valueName: "DIR"))
    var reportDirectory: String?

    @Option(
        name: .customLong("metrics"),
        help: ArgumentHelp(
            "When the run ends, write a Prometheus textfile-collector file (atomically): success, exit code, start time, RTO, RPO, objectives.",
            valueName: "FILE"))
    var metrics: String?

    @Option(
        help: ArgumentHelp(
            "Seconds between the lines saying which steps still run (default 10 on a terminal, 60 without one, as under systemd; 0: none).",
            valueName: "SECONDS"))
    var heartbeat: Double?

    var outputs: RunOutputs { RunOutputs(reportDirectory: reportDirectory, metricsPath: metrics) }

    func validate() throws {
        guard grace >= 0, grace <= 3600 else {
            throw ValidationError("--grace must be from 0 to 3600 seconds, got \(grace)")
        }
        if let heartbeat, !(0...86400).contains(heartbeat) {
            throw ValidationError("--heartbeat must be from 0 to 86400 seconds, got \(heartbeat)")
        }
    }

    func options() -> ExecutionOptions {
        var options = ExecutionOptions()
        options.approvals = Set(approvals)
        options.interactive = Terminal.stdinIsTTY && Terminal.stderrIsTTY
        options.graceSeconds = grace
        return options
    }
}

extension RunbookCommand {
    /// `runbook run FILE|PLAN -i INV [--yes] [--approve GATE]... [--events FILE]`.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Plan, show, confirm and execute a runbook against an inventory.",
            discussion: """
                Probes the hosts and shows the plan (as `runbook plan` does), asks for confirmation \
                (a terminal asks; without one, --yes is required), runs the preconditions, then the \
                steps: each step's intent is journaled before it acts. A saved plan (`plan -o PLAN`) \
                runs only if the runbook, inventory, params and probed facts are unchanged.
                Exit: 0 done, 1 failed, 3 precondition failed, 4 parked at a gate, 5 locked, 6 an objective missed, \
                7 rollback incomplete (an undo failed), 64 usage.
                """)

        @Argument(help: "The runbook file, or a plan saved with `runbook plan -o`.", completion: Completions.files)
        var file: String

        @Option(name: [.customShort("i"), .long], help: "The inventory file.", completion: Completions.files)
        var inventory: String

        @Option(
            name: [.customShort("p"), .customLong("param")],
            help: ArgumentHelp("Set a param (repeatable).", valueName: "name=value"))
        var params: [String] = []

        @Option(help: "The mode (default: the runbook's first).")
        var mode: String?

        @Flag(help: "Run without asking (required when no terminal can confirm).")
        var yes = false

        @OptionGroup var flags: ExecutionFlags

        mutating func run() async throws {
            let planOptions = try PlanOptions.parse(
                [file, "-i", inventory] + params.flatMap { ["-p", $0] } + (mode.map { ["--mode", $0] } ?? []))
            var parsed = try planOptions.parsedParams()
            var runbookFile = file
            var saved: SavedPlan?
            if SavedPlan.looksLikeSavedPlan(file) {
                saved = try SavedPlan.load(file)
                runbookFile = saved!.runbookPath
                parsed =
                    saved!.params.map { ($0.key, $0.value) }.filter { p in !parsed.contains { $0.name == p.0 } }
                    + parsed
                if mode == nil { mode = saved!.mode }
            }
            let runID = RunID.generate(now: Date())
            let inputs = try RunInputs.load(
                runbook: runbookFile, inventory: inventory, mode: mode, params: parsed, runID: runID)
            let session = try RunSession(
                inputs: inputs, runID: runID, events: flags.events, outputs: flags.outputs, heartbeat: flags.heartbeat)
            let events = flags.events
            let end: RunEnd
            do {
                end = try await session.controller.start(
                    session.documents, runID: runID, options: flags.options(),
                    probeProgress: ProgressReporter.probeProgress(
                        tty: Terminal.stderrIsTTY, color: Terminal.colorEnabled(forStderr: true)),
                    shown: { shown in
                        // The dry run for real, shown before anything changes. With `--events -`,
                        // stdout carries the events alone (for `jq`): the plan goes to stderr.
                        if events == "-" {
                            Terminal.writeError(
                                PlanTextRenderer(plan: shown.plan, color: Terminal.colorEnabled(forStderr: true))
                                    .render())
                        } else {
                            Terminal.write(
                                PlanTextRenderer(plan: shown.plan, color: Terminal.colorEnabled(forStderr: false))
                                    .render())
                        }
                        if let epoch = shown.epoch {
                            Terminal.writeError(
                                "Epoch fence: the marked volumes hold epoch \(epoch.basis) at most; this run writes epoch \(epoch.epoch)\n"
                                    + shown.fenceReadings.map { "  \($0.line)\n" }.joined())
                        }
                        if let saved { try refuseDrift(saved, inputs: inputs, shown: shown, runbookFile: runbookFile) }
                    },
                    confirm: { try confirm(runID: runID, unreachable: $0.plan.unreachableHosts) })
            } catch let refusal as RunRefusal {
                throw RunSession.exit(for: refusal, notDone: "not run")
            }
            let code = RunSession.exitCode(of: end)
            if code != 0 { throw ExitCode(code) }
        }

        /// A saved plan runs only if the world is as it was planned.
        func refuseDrift(_ saved: SavedPlan, inputs: RunInputs, shown: ShownPlan, runbookFile: String) throws {
            let drift = saved.drift(against: inputs, facts: shown.live.facts, planHash: shown.planHash)
            guard !drift.isEmpty else { return }
            Terminal.writeError(
                "runbook: error: the saved plan \(file) no longer matches the world; nothing was run. What changed:\n"
                    + drift.map { "  - \($0)" }.joined(separator: "\n")
                    + "\nMake a new plan with `runbook plan \(ShellQuoting.quote(runbookFile)) -i \(ShellQuoting.quote(inventory))\(SuggestedCommand.inputs(mode: inputs.plan.mode, params: inputs.plan.params)) -o \(ShellQuoting.quote(file))`.\n"
            )
            throw RunbookExit.failed
        }

        func confirm(runID: String, unreachable: [String: String]) throws -> Bool {
            let dead = unreachable.keys.sorted().map { "  \($0): \(unreachable[$0]!)" }
            let warning =
                dead.isEmpty
                ? ""
                : "\(dead.count) host\(dead.count == 1 ? " is" : "s are") UNREACHABLE; \(dead.count == 1 ? "its" : "their") steps will fail, after the others' changes:\n"
                    + dead.joined(separator: "\n") + "\n"
            if yes, !warning.isEmpty { Terminal.writeError("runbook: warning: " + warning) }
            return try Confirmation.ask(
                warning + "Run this plan as run \(runID)?", yes: yes,
                unattended:
                    "pass --yes to run run \(runID) unattended (gates still wait for --approve or `runbook approve`)")
        }
    }
}
