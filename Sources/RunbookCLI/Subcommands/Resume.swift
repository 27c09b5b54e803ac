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
                A run stopped while rolling back finishes its rollback instead. \
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
                    "runbook: error: run \(runID) was rolled back; start a new run with `runbook run \(record.runbookPath) -i \(record.inventoryPath)`.\n"
                )
                throw RunbookExit.failed
            default:
                break
            }
            let inputs = try RunSession.reload(record, extraParams: extra)
            var session = try RunSession(
                inputs: inputs, runID: runID, events: flags.events, outputs: flags.outputs, heartbeat: flags.heartbeat)
            try session.acquireLock()
            var resumed = JournalBatch(runID: runID)
            resumed.runStatus = RunStatusChange(status: .running)
            resumed.runOwner = (getpid(), RunLock.currentHostname())
            resumed.events = [.runResumed(.init(previousStatus: record.status))]
            try session.state.journal.commit(resumed)
            for event in resumed.events { session.observers.record(event, runID: runID) }

            let executor = session.makeExecutor(options: flags.options(), planHash: record.planHash, plan: inputs.plan)
            // A run killed while rolling back finishes its rollback: going forward again would
            // apply the steps already undone a second time.
            let rollback = Rollback(executor: executor)
            if let began = rollback.began() {
                Terminal.writeError(
                    "runbook: run \(runID) was being rolled back when it stopped: finishing the rollback.\n")
                let result = await rollback.run(
                    pastCommit: began.pastCommit, dryRun: false, reason: "resume of an unfinished rollback")
                let summary = "the rollback begun before run \(runID) stopped"
                let outcome: RunOutcome =
                    result.failed.isEmpty
                    ? .rolledBack(summary) : .rollbackFailed(summary + "\n" + result.failed.joined(separator: "\n"))
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
    }
}
