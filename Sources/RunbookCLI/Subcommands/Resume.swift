import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime

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
            do {
                try RunController.checkResumable(record)
                let inputs = try RunSession.reload(record, extraParams: extra)
                let session = try RunSession(
                    inputs: inputs, runID: record.id, events: flags.events, outputs: flags.outputs,
                    heartbeat: flags.heartbeat)
                let end = try await session.controller.resume(
                    record, documents: session.documents, options: flags.options(),
                    confirmRollingBack: { try confirmRollingBack($0, redactor: inputs.plan.redactor) })
                let code = RunSession.exitCode(of: end)
                if code != 0 { throw ExitCode(code) }
            } catch let refusal as RunRefusal {
                let code = RunSession.exit(for: refusal, notDone: "not resumed")
                if code != .success { throw code }
            }
        }

        /// A resume that would roll back (finishing a rollback begun before, or a gate whose
        /// deadline passed with `on_timeout: rollback`) shows what it will undo and asks, as
        /// `runbook rollback` does; nothing of the run changes before the answer.
        func confirmRollingBack(_ preview: RollbackPreview, redactor: Redactor) throws -> Bool {
            let runID = preview.runID
            let why: String
            switch preview.reason {
            case .unfinishedRollback, .requested:
                why = "it was being rolled back when it stopped; resuming finishes the rollback"
            case .gateTimedOut(let gate):
                why =
                    "gate \(gate.gate) timed out at \(gate.time) and nobody answered it (on_timeout: rollback); approve or reject it first (`runbook approve`) to keep the run"
            }
            Terminal.writeError(
                redactor.redact(
                    "runbook: resuming run \(runID) rolls it back: \(why).\n"
                        + RollbackCommand.listing(runID: runID, preview.entries, stoppedAt: preview.stoppedAt)))
            guard preview.undoable else { return true }
            return try Confirmation.ask(
                "Roll back run \(runID)?", yes: yes,
                unattended: "pass --yes to resume run \(runID), which rolls it back, unattended")
        }
    }
}
