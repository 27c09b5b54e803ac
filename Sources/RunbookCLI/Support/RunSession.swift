import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports
import RunbookRuntime

/// What `run`, `resume` and `rollback` give the run controller and how they show what it returns:
/// the state directory's journal and lock file, the standard packs' transports, the progress
/// reporter and `--events`, the report and metrics (`--report-dir`, `--metrics`) as end-of-run
/// sinks; the controller's notices, refusals and ends as the terminal shows them.
struct RunSession {
    var inputs: RunInputs
    var runID: String
    var state: StateContext
    var reporter: ProgressReporter
    var controller: RunController

    init(
        inputs: RunInputs, runID: String, events: String?, outputs: RunOutputs = RunOutputs(),
        heartbeat: Double? = nil
    ) throws {
        self.inputs = inputs
        self.runID = runID
        let state = try StateContext.open(redactor: inputs.plan.redactor)
        self.state = state
        reporter = ProgressReporter(
            tty: Terminal.stderrIsTTY, color: Terminal.colorEnabled(forStderr: true), redactor: inputs.plan.redactor,
            heartbeat: heartbeat)
        var observers: [any RunObserver] = [reporter]
        if let events {
            do {
                observers.append(
                    try JSONLinesEventWriter(path: events, redactor: inputs.plan.redactor, items: inputs.plan.itemKeys))
            } catch {
                Terminal.writeError("runbook: error: \(error)\n")
                throw RunbookExit.usage
            }
        }
        let directory = state.directory
        let end = EndRenderer(
            journal: state.journal, plan: inputs.plan, runbookPath: inputs.runbookPath,
            inventoryPath: inputs.inventoryPath)
        controller = RunController(
            RunEnvironment(
                registry: .standard, connect: { HostPool(inventory: $0, state: directory) }, journal: state.journal,
                coordination: LocalLockCoordination(directory: directory.lockDirectory), observers: observers,
                sinks: outputs.isEmpty ? [] : [RunOutputsSink(outputs: outputs)],
                notices: Self.show, ended: end.render,
                prompter: Terminal.stdinIsTTY && Terminal.stderrIsTTY ? Prompter() : nil))
    }

    /// The documents the controller journals and runs.
    var documents: RunDocuments { inputs.runDocuments }

    /// What the controller says while it works.
    @Sendable static func show(_ notice: RunNotice) {
        switch notice {
        case .tookOverLock(let previous):
            Terminal.writeError(
                "runbook: warning: took over the lock of run \(previous.runID) (pid \(previous.pid) on \(previous.hostname), started \(JournalTimestamp.format(previous.startedAt))): that process is gone\n"
            )
        case .waitingForLeftovers(let runID, let left, let seconds):
            Terminal.writeError(
                "runbook: waiting (at most \(Int(seconds)) s) for commands run \(runID) left running:\n"
                    + left.map { "  \($0)" }.joined(separator: "\n") + "\n")
        case .notJournaled(let events, let error):
            Terminal.writeError("runbook: warning: could not journal \(events): \(error)\n")
        case .stopping(let signal):
            Terminal.writeError(
                "\nrunbook: received \(SignalTrap.name(signal)): stopping after running commands (Ctrl-C again does the same)\n"
            )
        case .finishingRollback(let runID):
            Terminal.writeError(
                "runbook: run \(runID) was being rolled back when it stopped: finishing the rollback.\n")
        }
    }

    /// Shows why the controller did not start or go on, and returns the exit code to throw
    /// (`cancelled`: `notDone`, e.g. "not run", is said).
    static func exit(for refusal: RunRefusal, notDone: String) -> ExitCode {
        switch refusal {
        case .locked(let held):
            let holder = held.holder?.runID ?? "RUN"
            Terminal.writeError(
                held.kept
                    ? "runbook: error: \(held)\nOne run at a time per inventory: continue that run with `runbook resume \(holder)`, or undo it with `runbook rollback \(holder)` (`runbook status \(holder)` shows where it stopped).\n"
                    : "runbook: error: \(held)\nWait for it to finish, or look at it with `runbook status \(holder)`; once it parks or stops, `runbook resume \(holder)` continues it and `runbook rollback \(holder)` undoes it.\n"
            )
            return RunbookExit.locked
        case .leftoversRunning(let runID, let left):
            Terminal.writeError(
                "runbook: error: commands of run \(runID) are still running; nothing was done:\n"
                    + left.map { "  \($0)" }.joined(separator: "\n")
                    + "\nWait for them to finish (or kill them), then try again.\n")
            return RunbookExit.locked
        case .cancelled:
            Terminal.writeError("runbook: \(notDone): nothing was changed.\n")
            return RunbookExit.failed
        case .alreadySucceeded(let record):
            Terminal.writeError("runbook: run \(record.id) already finished successfully: nothing to resume.\n")
            return ExitCode.success
        case .splitBrain(let refusal):
            Terminal.writeError("runbook: error: \(refusal.message)\n")
            return RunbookExit.locked
        case .rolledBack(let record):
            Terminal.writeError(
                "runbook: error: run \(record.id) was rolled back; start a new run with `runbook run \(ShellQuoting.quote(record.runbookPath)) -i \(ShellQuoting.quote(record.inventoryPath))\(SuggestedCommand.inputs(of: record))`.\n"
            )
            return RunbookExit.failed
        }
    }

    /// After the sinks: an objective missed by a run that succeeded. Returns the exit code.
    static func exitCode(of end: RunEnd) -> Int32 {
        if !end.missed.isEmpty {
            Terminal.writeError(
                end.plan.redactor.redact(
                    "run \(end.runID) MISSED \(end.missed.count == 1 ? "an objective" : "\(end.missed.count) objectives") (exit \(end.exitCode)):\n"
                        + end.missed.map { "  \($0.summary)" }.joined(separator: "\n")
                        + "\nSee `runbook report \(end.runID)` for what took the time.\n"))
        }
        return end.exitCode
    }
}

/// The end of a run as the terminal shows it: the summary table, the items, what happened and
/// what to do next.
struct EndRenderer: Sendable {
    var journal: Journal
    var plan: Plan
    var runbookPath: String
    var inventoryPath: String

    func render(_ end: RunEnd) {
        let runID = end.runID
        let outcome = end.outcome
        let steps = (try? journal.steps(runID: runID)) ?? []
        let redactor = plan.redactor
        let idle = ReportText.idleIntervals((try? journal.events(runID: runID)) ?? [])
        Terminal.writeError("\n" + redactor.redact(summaryTable(steps, color: false, run: outcome.status, idle: idle)))
        let items =
            plan.itemKeys.isEmpty
            ? "" : ItemStatus.block(steps, nodes: plan.nodes, events: (try? journal.events(runID: runID)) ?? [])
        if !items.isEmpty { Terminal.writeError("\n" + redactor.redact(items)) }
        let message: String
        let secrets = SuggestedCommand.secrets(plan.params)
        let resume = "runbook resume \(runID)\(secrets)"
        let rollback = "runbook rollback \(runID)\(secrets)"
        switch outcome {
        case .succeeded:
            message = "run \(runID) succeeded."
        case .failed(let why):
            message =
                "run \(runID) FAILED:\n\(why)\nFix the cause, then `\(resume)`; or undo its changes with `\(rollback)`."
        case .preconditionFailed(let why):
            message = "run \(runID) stopped before changing anything: a precondition failed:\n\(why)"
        case .parked(let gates):
            let gate = gates.first ?? "GATE"
            message =
                "run \(runID) is parked at gate \(gates.joined(separator: ", ")): nobody could answer it here.\n"
                + GateDeadline.waiting(steps, nodes: plan.nodes).map {
                    "gate \($0.gate) \($0.describe(now: Date()))\n"
                }.joined()
                + (plan.nodes.first { $0.id == gate }?.gate?.requiresSignatures == true
                    ? "Approve with `runbook approve \(runID) \(ShellQuoting.quote(gate)) --sign KEYFILE --reason TEXT` (signed: the gate takes nothing else), then `\(resume)`."
                    : "Approve with `runbook approve \(runID) \(ShellQuoting.quote(gate)) --by NAME --reason TEXT`, then `\(resume)` (or `\(resume) --approve \(ShellQuoting.quote(gate))`).")
        case .interrupted(let signal):
            message =
                "run \(runID) was interrupted (\(SignalTrap.name(signal))); everything is journaled. Continue with `\(resume)`."
        case .rolledBack(let why):
            message =
                "run \(runID) FAILED and was rolled back:\n\(why)\nSee `runbook show \(runID)`; once the cause is fixed, start a new run with `runbook run \(ShellQuoting.quote(runbookPath)) -i \(ShellQuoting.quote(inventoryPath))\(SuggestedCommand.inputs(mode: plan.mode, params: plan.params))`."
        case .rollbackFailed(let why):
            message =
                "run \(runID) FAILED and its ROLLBACK INCOMPLETE (exit \(RunbookExit.rollbackIncomplete.rawValue)):\n\(why)\nInspect the hosts, then `\(rollback)` again (undone steps are skipped)."
        }
        Terminal.writeError(redactor.redact(message) + "\n")
    }
}

extension ProgressReporter: RunEndingObserver {
    func runEnding() { stop() }
}

/// The plan `run` and `resume` journal and compare: hashes of the inputs and non-secret params.
struct JournaledPlan {
    var runbookSHA: String
    var inventorySHA: String
    var mode: String
    /// Non-secret params as `-p` would give them.
    var params: [String: String]
    var secretParams: [String]

    init?(json: String) {
        guard let document = try? PlanDocument.decode(json) else { return nil }
        runbookSHA = document.inputs?.runbookSHA256 ?? ""
        inventorySHA = document.inputs?.inventorySHA256 ?? ""
        mode = document.mode
        params = document.commandLineParams
        secretParams = document.params.filter(\.secret).map(\.name)
    }
}

extension RunSession {
    /// Reloads the runbook and inventory of a journaled run, refusing if they changed since.
    static func reload(
        _ record: RunRecord, extraParams: [(name: String, value: String)],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> RunInputs {
        guard let journaled = JournaledPlan(json: record.planJSON) else {
            Terminal.writeError(
                "runbook: error: run \(record.id) has no readable plan in the journal; it cannot be resumed\n")
            throw RunbookExit.failed
        }
        var params = journaled.params.map { (name: $0.key, value: $0.value) }.filter { param in
            !extraParams.contains { $0.name == param.name }
        }
        params.append(contentsOf: extraParams)
        let inputs = try RunInputs.load(
            runbook: record.runbookPath, inventory: record.inventoryPath, mode: journaled.mode, params: params,
            runID: record.id, environment: environment)
        var changed: [String] = []
        if RunInputs.sha256(inputs.runbookText) != journaled.runbookSHA {
            changed.append("the runbook \(record.runbookPath)")
        }
        if RunInputs.sha256(inputs.inventoryText) != journaled.inventorySHA {
            changed.append("the inventory \(record.inventoryPath)")
        }
        if !changed.isEmpty {
            Terminal.writeError(
                """
                runbook: error: \(changed.joined(separator: " and ")) changed since run \(record.id) started; \
                continuing would run a different procedure than the one journaled.
                Restore the files as they were (the journal keeps their SHA-256), or start a new run.

                """)
            throw RunbookExit.failed
        }
        return inputs
    }
}

/// Today's report and metrics writers (`--report-dir`, `--metrics`) as an end-of-run sink, over
/// the journal the controller writes.
struct RunOutputsSink: RunSink {
    var outputs: RunOutputs

    func runEnded(runID: String, journal: any RunJournal) {
        outputs.write(runID: runID, journal: journal)
    }

    /// The report and metrics of a run that could not start (exit 5): nothing of it is journaled,
    /// so the report says why, with the trend of the runs before it.
    func runNotStarted(_ run: NotStartedRun, journal: any RunJournal) {
        outputs.write(
            Rehearsal.notStarted(
                runID: run.runID, runbook: run.runbook, runbookPath: run.runbookPath, inventory: run.inventory,
                inventoryPath: run.inventoryPath, mode: run.mode, why: run.why, exitCode: run.exitCode,
                journal: journal))
    }
}
