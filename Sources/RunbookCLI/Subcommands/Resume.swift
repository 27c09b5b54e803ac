import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution

extension RunbookCommand {
    /// `runbook resume RUN [--approve GATE]...`.
    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Continue a failed, killed, interrupted or parked run.",
            discussion: """
                Steps the journal says are done are re-verified (their check must still say done) \
                and not applied again; a step that was in flight is probed and then applied or \
                marked done; failed steps are tried again; gates that were approved stay approved. \
                A run stopped while rolling back finishes its rollback instead. A resume that would \
                roll back (that, or a gate past its deadline with on_timeout: rollback) shows what it \
                will undo and asks first; without a terminal it needs --yes. \
                The runbook and inventory must be unchanged since the run started. Secret params are \
                read again from their environment variables (or give them with -p).
                """)

        @Argument(
            help:
                "The run id (a unique prefix or its random suffix is enough, `last` the newest; see `runbook history`).",
            completion: Completions.runs)
        var run: String

        @Option(
            name: [.customShort("p"), .customLong("param")],
            help: ArgumentHelp("Give a param again, e.g. a secret (repeatable).", valueName: "name=value"))
        var params: [String] = []

        @Flag(help: "Resume without asking when the resume would roll the run back (required without a terminal).")
        var yes = false

        @OptionGroup var flags: ExecutionFlags

        mutating func run() async throws {
            let extra = try PlanOptions.parse(["x", "-i", "x"] + params.flatMap { ["-p", $0] }).parsedParams()
            let lookup = try StateContext.open(redactor: Redactor(secrets: []))
            let record = try lookup.intactRun(prefix: run, for: "resume")
            let runID = record.id
            switch record.status {
            case .succeeded:
                Terminal.writeError("runbook: run \(runID) already finished successfully: nothing to resume.\n")
                return
            case .rolledBack:
                Terminal.writeError(
                    "runbook: error: run \(runID) was rolled back; start a new run with `runbook run \(ShellQuoting.quote(record.runbookPath)) -i \(ShellQuoting.quote(record.inventoryPath))\(SuggestedCommand.inputs(of: record))`.\n"
                )
                throw RunbookExit.failed
            default:
                break
            }
            let inputs = try RunSession.reload(record, extraParams: extra)
            var session = try RunSession(
                inputs: inputs, runID: runID, events: flags.events, outputs: flags.outputs, heartbeat: flags.heartbeat)
            try session.acquireLock()
            let executor = session.makeExecutor(options: flags.options(), planHash: record.planHash, plan: inputs.plan)
            let rollback = Rollback(executor: executor)
            let began = rollback.began()
            try confirmRollingBack(runID: runID, rollback: rollback, began: began, session: session)
            var resumed = JournalBatch(runID: runID)
            resumed.runStatus = RunStatusChange(status: .running)
            resumed.runOwner = (getpid(), RunLock.currentHostname())
            resumed.events = [.runResumed(.init(previousStatus: record.status))]
            try session.state.journal.commit(resumed)
            for event in resumed.events { session.observers.record(event, runID: runID) }

            // A run killed while rolling back finishes its rollback: going forward again would
            // apply the steps already undone a second time.
            if let began {
                Terminal.writeError(
                    "runbook: run \(runID) was being rolled back when it stopped: finishing the rollback.\n")
                let result = await rollback.run(
                    pastCommit: began.pastCommit, dryRun: false, reason: "resume of an unfinished rollback")
                let summary = "the rollback begun before run \(runID) stopped"
                let outcome: RunOutcome =
                    result.failed.isEmpty
                    ? .rolledBack(summary) : .rollbackFailed(summary + "\n" + Rollback.incomplete(result.failed))
                throw ExitCode(await session.finish(outcome))
            }
            // Preconditions guard the first change; once steps have run they are not asked again.
            let started = ((try? session.state.journal.steps(runID: runID)) ?? []).contains { step in
                !inputs.plan.preconditions.contains { $0.id == step.nodeID } && step.state != .pending
            }
            if !started, let failure = await executor.runPreconditions() {
                throw ExitCode(await session.finish(.preconditionFailed(failure)))
            }
            let outcome = await session.execute(executor)
            let code = await session.finish(outcome)
            if code != 0 { throw ExitCode(code) }
        }

        /// A resume that would roll back (finishing a rollback begun before, or a gate whose
        /// deadline passed with `on_timeout: rollback`) shows what it will undo and asks, as
        /// `runbook rollback` does; nothing of the run changes before the answer.
        func confirmRollingBack(runID: String, rollback: Rollback, began: Rollback.Began?, session: RunSession) throws {
            let why: String
            if began != nil {
                why = "it was being rolled back when it stopped; resuming finishes the rollback"
            } else {
                let steps = (try? session.state.journal.steps(runID: runID)) ?? []
                let answered = Set(((try? session.state.journal.approvals(runID: runID)) ?? []).map(\.gate))
                guard
                    let gate = GateDeadline.rollsBack(
                        steps, nodes: session.inputs.plan.nodes, answered: answered, now: Date())
                else { return }
                why =
                    "gate \(gate.gate) timed out at \(gate.time) and nobody answered it (on_timeout: rollback); approve or reject it first (`runbook approve`) to keep the run"

            }
            let (entries, stoppedAt) = rollback.entries(pastCommit: began?.pastCommit ?? false)
            Terminal.writeError(
                session.inputs.plan.redactor.redact(
                    "runbook: resuming run \(runID) rolls it back: \(why).\n"
                        + RollbackCommand.listing(runID: runID, entries, stoppedAt: stoppedAt)))
            guard entries.contains(where: \.undoable) else { return }
            let go = try Confirmation.ask(
                "Roll back run \(runID)?", yes: yes,
                unattended: "pass --yes to resume run \(runID), which rolls it back, unattended")
            guard go else {
                Terminal.writeError("runbook: not resumed: nothing was changed.\n")
                throw RunbookExit.failed
            }
        }
    }
}
