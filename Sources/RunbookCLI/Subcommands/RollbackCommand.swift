import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution

extension RunbookCommand {
    /// `runbook rollback RUN [--dry-run] [--past-commit]`.
    struct RollbackCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Undo a run's changes, newest first.",
            discussion: """
                Runs the undo of every step the run changed, in reverse order of completion, and \
                stops at the last commit point unless --past-commit. Each undo is journaled; steps \
                already undone are left alone, so rolling back twice is harmless. An undo's check \
                runs first: exit 0 means already undone, and the undo is not run. Commands a killed \
                run left running are waited for first. Exit 0 when every undo succeeded, 1 otherwise.
                """)

        @Argument(
            help: "The run id (a unique prefix or its random suffix is enough, `last` the newest).",
            completion: Completions.runs)
        var run: String

        @Flag(help: "Show what would be undone, and change nothing.")
        var dryRun = false

        @Flag(help: "Also undo the steps before the last commit point.")
        var pastCommit = false

        @Option(
            name: [.customShort("p"), .customLong("param")],
            help: ArgumentHelp("Give a param again, e.g. a secret (repeatable).", valueName: "name=value"))
        var params: [String] = []

        @Option(
            name: .customLong("events"),
            help: ArgumentHelp("Write events as JSON lines to FILE (- for stdout).", valueName: "FILE"))
        var events: String?

        mutating func run() async throws {
            let extra = try PlanOptions.parse(["x", "-i", "x"] + params.flatMap { ["-p", $0] }).parsedParams()
            let lookup = try StateContext.open(redactor: Redactor(secrets: []))
            let record = try lookup.intactRun(prefix: run, for: "roll back")
            let runID = record.id
            let inputs = try RunSession.reload(record, extraParams: extra)
            var session = try RunSession(inputs: inputs, runID: runID, events: events)
            if !dryRun { try session.acquireLock() }
            let executor = session.makeExecutor(
                options: ExecutionOptions(), planHash: record.planHash, plan: inputs.plan)
            let rollback = Rollback(executor: executor)
            let (entries, stoppedAt) = rollback.entries(pastCommit: pastCommit)

            var lines = entries.enumerated().map {
                "  \($0.offset + 1). \($0.element.nodeID) on \($0.element.host): \($0.element.action)"
            }
            if let stoppedAt {
                lines.append("  -- stops at commit point '\(stoppedAt)' (add --past-commit to go further)")
            }
            let header = entries.isEmpty ? "Nothing to undo in run \(runID)" : "Rollback of run \(runID), newest first:"
            Terminal.write(inputs.plan.redactor.redact(([header] + lines).joined(separator: "\n")) + "\n")
            if dryRun {
                Terminal.writeError("runbook: dry run: nothing was changed.\n")
                return
            }
            let result = await rollback.run(pastCommit: pastCommit, dryRun: false, reason: "runbook rollback")
            await session.hosts.closeAll()
            session.reporter.stop()
            let status: RunStatus = result.failed.isEmpty ? .rolledBack : .rollbackFailed
            let exitCode = result.failed.isEmpty ? 0 : 1
            try session.state.journal.write { tx in
                try tx.updateRun(id: runID, status: status, exitCode: exitCode, finishedAt: Date())
            }
            if !result.failed.isEmpty {
                Terminal.writeError(
                    "runbook: rollback of \(runID) did not complete:\n"
                        + result.failed.map { "  \($0)" }.joined(separator: "\n")
                        + "\nFix the cause on the host, then run `runbook rollback \(runID)` again (undone steps are skipped).\n"
                )
                throw RunbookExit.failed
            }
            if !result.skipped.isEmpty {
                Terminal.writeError(
                    "runbook: warning: not undone (no undo):\n"
                        + result.skipped.map { "  \($0)" }.joined(separator: "\n") + "\n")
            }
            Terminal.writeError(
                "runbook: run \(runID) rolled back: \(result.undone.count) step\(result.undone.count == 1 ? "" : "s") undone.\n"
            )
        }
    }
}
