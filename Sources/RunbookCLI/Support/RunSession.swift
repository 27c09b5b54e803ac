import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports

/// What `run`, `resume` and `rollback` share: the state directory, the lock, the connections,
/// the executor, and how a run's end is journaled and told.
struct RunSession {
    var inputs: RunInputs
    var runID: String
    var state: StateContext
    var hosts: HostPool
    var reporter: ProgressReporter
    var observers: ObserverList
    var lock: RunLock?
    let stop = StopController()
    /// The report and metrics written when the run ends (`--report-dir`, `--metrics`).
    var outputs = RunOutputs()

    init(
        inputs: RunInputs, runID: String, events: String?, outputs: RunOutputs = RunOutputs(),
        heartbeat: Double? = nil
    ) throws {
        self.inputs = inputs
        self.runID = runID
        self.outputs = outputs
        state = try StateContext.open(redactor: inputs.plan.redactor)
        hosts = HostPool(inventory: inputs.plan.inventory, state: state.directory)
        reporter = ProgressReporter(
            tty: Terminal.stderrIsTTY, color: Terminal.colorEnabled(forStderr: true), redactor: inputs.plan.redactor,
            heartbeat: heartbeat)
        var list: [any RunObserver] = [reporter]
        if let events {
            do {
                list.append(
                    try JSONLinesEventWriter(path: events, redactor: inputs.plan.redactor, items: inputs.plan.itemKeys))
            } catch {
                Terminal.writeError("runbook: error: \(error)\n")
                throw RunbookExit.usage
            }
        }
        observers = ObserverList(list)
    }

    /// How long a run waits for commands a killed run left running before giving up (exit 5).
    static let leftoverWaitSeconds: Double = 30

    var runbookName: String { inputs.plan.runbook.name.value }
    var inventoryName: String { inputs.plan.inventory.name.value }

    /// Whether a run keeps the inventory's lock after its process ended: it parked or was
    /// interrupted, and only its resume (or rollback) may go on.
    static func keepsLock(_ status: RunStatus?) -> Bool {
        status == .parked || status == .interrupted
    }

    /// One run at a time per inventory (site pair), a parked or interrupted one included: exit 5
    /// naming the holder.
    mutating func acquireLock() throws {
        do {
            let journal = state.journal
            let lock = try RunLock.acquire(
                directory: state.directory.lockDirectory, runbook: runbookName, inventory: inventoryName, runID: runID,
                stillHeld: { Self.keepsLock((try? journal.run(id: $0.runID))?.status) })
            if let previous = lock.tookOverFrom, previous.runID == runID,
                Self.keepsLock((try? journal.run(id: runID))?.status)
            {
                // This run's own lock, kept while it was parked or interrupted: it keeps it until it ends.
                lock.keep(true)
            } else if let previous = lock.tookOverFrom {
                Terminal.writeError(
                    "runbook: warning: took over the lock of run \(previous.runID) (pid \(previous.pid) on \(previous.hostname), started \(JournalTimestamp.format(previous.startedAt))): that process is gone\n"
                )
                // The command it was running when it died may still be running (each command has
                // its own session): probing before it ends would see "not done" and apply twice.
                if !((try? state.journal.inFlightAttempts(runID: previous.runID)) ?? []).isEmpty {
                    let left = LeftoverCommands.waitForExit(runID: previous.runID, timeout: Self.leftoverWaitSeconds) {
                        left in
                        Terminal.writeError(
                            "runbook: waiting (at most \(Int(Self.leftoverWaitSeconds)) s) for commands run \(previous.runID) left running:\n"
                                + left.map { "  \($0)" }.joined(separator: "\n") + "\n")
                    }
                    if !left.isEmpty {
                        lock.release()
                        reportNotStarted(
                            why: "commands of run \(previous.runID) are still running: "
                                + left.map { "\($0)" }.joined(separator: "; "))
                        Terminal.writeError(
                            "runbook: error: commands of run \(previous.runID) are still running; nothing was done:\n"
                                + left.map { "  \($0)" }.joined(separator: "\n")
                                + "\nWait for them to finish (or kill them), then try again.\n")
                        throw RunbookExit.locked
                    }
                }
            }
            self.lock = lock
            LeftoverCommands.mark(runID: runID)
        } catch let held as LockHeldError {
            let holder = held.holder?.runID ?? "RUN"
            Terminal.writeError(
                held.kept
                    ? "runbook: error: \(held)\nOne run at a time per inventory: continue that run with `runbook resume \(holder)`, or undo it with `runbook rollback \(holder)` (`runbook status \(holder)` shows where it stopped).\n"
                    : "runbook: error: \(held)\nWait for it to finish, or look at it with `runbook status \(holder)`; once it parks or stops, `runbook resume \(holder)` continues it and `runbook rollback \(holder)` undoes it.\n"
            )
            reportNotStarted(why: "\(held)")
            throw RunbookExit.locked
        }
    }

    func makeExecutor(options: ExecutionOptions, planHash: String, plan: Plan) -> Executor {
        Executor(
            plan: plan, runID: runID, planHash: planHash, journal: state.journal, hosts: hosts,
            compiler: Compiler(registry: .standard), options: options, observer: observers, stop: stop,
            prompter: options.interactive ? Prompter() : nil)
    }

    /// Commits a batch of the run (a warning if the journal refuses), then shows its events.
    func commit(_ batch: JournalBatch) {
        do {
            try state.journal.commit(batch)
        } catch {
            let what = batch.events.map(\.type).joined(separator: ", ")
            Terminal.writeError("runbook: warning: could not journal \(what): \(error)\n")
        }
        for event in batch.events { observers.record(event, runID: runID) }
    }

    /// Runs the executor with SIGINT/SIGTERM trapped, then journals and prints the end.
    func execute(_ executor: Executor) async -> RunOutcome {
        let trap = SignalTrap(controller: stop) { signal in
            Terminal.writeError(
                "\nrunbook: received \(SignalTrap.name(signal)): stopping after running commands (Ctrl-C again does the same)\n"
            )
        }
        let outcome = await executor.run()
        trap.remove()
        return outcome
    }

    /// Journals how the run ended, prints the summary and what to do next; returns the exit code.
    func finish(_ outcome: RunOutcome) async -> Int32 {
        // A parked or interrupted run keeps the inventory's lock when this process ends.
        lock?.keep(Self.keepsLock(outcome.status))
        reporter.stop()
        await hosts.closeAll()
        let finished: Date? = outcome.status == .parked ? nil : Date()
        let measured = measureObjectives(outcome, end: finished ?? Date())
        let missed = measured.filter { $0.met != true }
        let exitCode =
            outcome == .succeeded && !missed.isEmpty ? RunbookExit.objectiveMissed.rawValue : outcome.exitCode
        var batch = JournalBatch(runID: runID)
        batch.runStatus = RunStatusChange(status: outcome.status, exitCode: Int(exitCode), finishedAt: finished)
        let ended = RunEvent.RunEnded(status: outcome.status, exitCode: exitCode)
        batch.events =
            measured.map { .objectiveMeasured($0) } + [
                outcome.status == .parked ? .runParked(ended) : .runFinished(ended)
            ]
        commit(batch)
        let steps = (try? state.journal.steps(runID: runID)) ?? []
        let redactor = inputs.plan.redactor
        let idle = ReportText.idleIntervals((try? state.journal.events(runID: runID)) ?? [])
        Terminal.writeError("\n" + redactor.redact(summaryTable(steps, color: false, run: outcome.status, idle: idle)))
        let items =
            inputs.plan.itemKeys.isEmpty
            ? ""
            : ItemStatus.block(
                steps, nodes: inputs.plan.nodes, events: (try? state.journal.events(runID: runID)) ?? [])
        if !items.isEmpty { Terminal.writeError("\n" + redactor.redact(items)) }
        let message: String
        let secrets = SuggestedCommand.secrets(inputs.plan.params)
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
                + GateDeadline.waiting(steps, nodes: inputs.plan.nodes).map {
                    "gate \($0.gate) \($0.describe(now: Date()))\n"
                }.joined()
                + "Approve with `runbook approve \(runID) \(ShellQuoting.quote(gate)) --by NAME --reason TEXT`, then `\(resume)` (or `\(resume) --approve \(ShellQuoting.quote(gate))`)."
        case .interrupted(let signal):
            message =
                "run \(runID) was interrupted (\(SignalTrap.name(signal))); everything is journaled. Continue with `\(resume)`."
        case .rolledBack(let why):
            message =
                "run \(runID) FAILED and was rolled back:\n\(why)\nSee `runbook show \(runID)`; once the cause is fixed, start a new run with `runbook run \(ShellQuoting.quote(inputs.runbookPath)) -i \(ShellQuoting.quote(inputs.inventoryPath))\(SuggestedCommand.inputs(mode: inputs.plan.mode, params: inputs.plan.params))`."
        case .rollbackFailed(let why):
            message =
                "run \(runID) FAILED and its ROLLBACK INCOMPLETE (exit \(RunbookExit.rollbackIncomplete.rawValue)):\n\(why)\nInspect the hosts, then `\(rollback)` again (undone steps are skipped)."
        }
        Terminal.writeError(redactor.redact(message) + "\n")
        outputs.write(runID: runID, journal: state.journal)
        if outcome == .succeeded, !missed.isEmpty {
            Terminal.writeError(
                redactor.redact(
                    "run \(runID) MISSED \(missed.count == 1 ? "an objective" : "\(missed.count) objectives") (exit \(exitCode)):\n"
                        + missed.map { "  \($0.summary)" }.joined(separator: "\n")
                        + "\nSee `runbook report \(runID)` for what took the time.\n"))
        }
        return exitCode
    }

    /// The report and metrics of a run that could not start (exit 5): nothing of it is journaled,
    /// so the report says why, with the trend of the runs before it.
    func reportNotStarted(why: String) {
        guard !outputs.isEmpty else { return }
        let rehearsal = Rehearsal.notStarted(
            runID: runID, runbook: runbookName, runbookPath: RunInputs.absolute(inputs.plan.runbook.file),
            inventory: inventoryName,
            inventoryPath: RunInputs.absolute(inputs.plan.inventory.file), mode: inputs.plan.mode, why: why,
            exitCode: Int(RunbookExit.locked.rawValue), journal: state.journal)
        outputs.write(rehearsal)
    }

    /// The runbook's objectives measured from the journal, once the run has ended (not while it
    /// is parked or interrupted: it has not ended).
    func measureObjectives(_ outcome: RunOutcome, end: Date) -> [RunEvent.ObjectiveMeasured] {
        switch outcome {
        case .parked, .interrupted: return []
        default: break
        }
        guard !inputs.plan.runbook.objectives.isEmpty else { return [] }
        guard outcome == .succeeded else {
            // A run that did not get to its end recovered nothing: its times prove nothing.
            return inputs.plan.runbook.objectives.map {
                RunEvent.ObjectiveMeasured(
                    ObjectiveMeasurement(
                        name: $0.name, max: $0.max.value, measure: $0.measure.source, measured: nil, met: nil,
                        excess: nil, note: "not measured: the run \(outcome.status.rawValue) before its end"))
            }
        }
        guard let record = try? state.journal.run(id: runID), let steps = try? state.journal.steps(runID: runID)
        else { return [] }
        return ObjectiveMeasurer.measure(
            plan: inputs.plan, runID: runID, steps: steps, startedAt: record.startedAt, end: end
        ).map(RunEvent.ObjectiveMeasured.init)
    }
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
    static func reload(_ record: RunRecord, extraParams: [(name: String, value: String)]) throws -> RunInputs {
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
            runID: record.id)
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
