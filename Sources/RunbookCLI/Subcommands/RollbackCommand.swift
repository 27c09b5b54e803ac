import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime

extension RunbookCommand {
    /// `runbook rollback RUN [--dry-run] [--past-commit] [--yes]`.
    struct RollbackCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Undo a run's changes, newest first.",
            discussion: """
                Runs the undo of every step the run changed, in reverse order of completion, and \
                stops at the last commit point unless --past-commit. Each undo is journaled; steps \
                already undone are left alone, so rolling back twice is harmless. An undo's check \
                runs first: exit 0 means already undone, and the undo is not run. Commands a killed \
                run left running are waited for first. It shows what it will undo and asks (a \
                terminal asks; without one, --yes is required; undoing a run that succeeded, with \
                --past-commit, asks for its run id); --dry-run never asks. Exit 0 when every undo succeeded, 7 (ROLLBACK \
                INCOMPLETE) when one failed.
                """)

        @Argument(
            help: "The run id (a unique prefix or its random suffix is enough, `last` the newest).",
            completion: Completions.runs)
        var run: String

        @Flag(help: "Show what would be undone, and change nothing.")
        var dryRun = false

        @Flag(help: "Also undo the steps before the last commit point.")
        var pastCommit = false

        @Flag(help: "Roll back without asking (required when no terminal can confirm).")
        var yes = false

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
            let session = try RunSession(inputs: inputs, runID: runID, events: events)
            let (dryRun, pastCommit, yes) = (self.dryRun, self.pastCommit, self.yes)
            let outcome: Rollback.Result?
            do {
                outcome = try await session.controller.rollback(
                    record, documents: session.documents, pastCommit: pastCommit, dryRun: dryRun,
                    confirm: { preview in
                        Terminal.write(
                            inputs.plan.redactor.redact(
                                Self.listing(runID: runID, preview.entries, stoppedAt: preview.stoppedAt)))
                        if dryRun { return false }
                        guard preview.undoable else { return true }
                        // Undoing a run that succeeded, past its commit point, is a failover taken
                        // back: the operator types its id.
                        let succeeded = record.status == .succeeded && pastCommit
                        let count = preview.entries.count
                        return try Confirmation.ask(
                            succeeded
                                ? "Run \(runID) SUCCEEDED; this undoes it past its commit point."
                                : "Roll back run \(runID) (\(count) step\(count == 1 ? "" : "s") above)?",
                            answer: succeeded ? .typed(runID) : .yesOrNo, yes: yes,
                            unattended: "pass --yes to roll back run \(runID) unattended")
                    })
            } catch let refusal as RunRefusal {
                throw RunSession.exit(for: refusal, notDone: "not rolled back")
            }
            guard let result = outcome else {
                Terminal.writeError("runbook: dry run: nothing was changed.\n")
                return
            }
            if !result.failed.isEmpty {
                Terminal.writeError(
                    inputs.plan.redactor.redact(
                        "runbook: rollback of \(runID): \(Rollback.incomplete(result.failed))\n"
                            + "\(result.undone.count) step\(result.undone.count == 1 ? "" : "s") undone. Fix the cause on the host, then run `runbook rollback \(runID)` again (undone steps are skipped).\n"
                    ))
                throw RunbookExit.rollbackIncomplete
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

        /// What a rollback will undo, newest first, and the commit point that stops it.
        static func listing(runID: String, _ entries: [Rollback.Entry], stoppedAt: String?) -> String {
            var lines = entries.enumerated().map {
                "  \($0.offset + 1). \($0.element.nodeID) on \($0.element.host): \($0.element.action)"
            }
            if let stoppedAt {
                lines.append("  -- stops at commit point '\(stoppedAt)' (add --past-commit to go further)")
            }
            let header = entries.isEmpty ? "Nothing to undo in run \(runID)" : "Rollback of run \(runID), newest first:"
            return ([header] + lines).joined(separator: "\n") + "\n"
        }
    }
}
