import ArgumentParser
import RunbookExecution

/// The `runbook` command: validate, plan, and list the action types.
public struct RunbookCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "runbook",
        abstract: "Declarative runbooks for GlusterFS geo-replication disaster recovery.",
        discussion: """
            A runbook (YAML) describes one recovery procedure: steps, their preconditions, gates \
            where a person or a measured condition says go. An inventory (YAML) describes one site \
            pair. `runbook plan` shows exactly what a runbook would do against an inventory. \
            The format: docs/FORMAT.md in the project (README.md is the tour); the types: \
            `runbook actions`.

            Exit codes: 0 ok, 1 failed, 2 invalid runbook or inventory, 3 precondition failed, \
            4 parked at a gate, 5 locked by another run, 6 every step done but an objective missed \
            (or not measured), 7 rollback incomplete (an undo failed), 64 usage, 130/143/129 \
            interrupted (SIGINT/SIGTERM/SIGHUP).
            The journal and locks live in $RUNBOOK_STATE_DIR (default ~/.local/state/runbook).
            """,
        version: "0.1.0",
        subcommands: [
            Validate.self, PlanCommand.self, Run.self, Resume.self, RollbackCommand.self, Approve.self, Status.self,
            History.self,
            Show.self, Report.self, Actions.self,
        ])

    public init() {}
}

/// Exit codes of SPEC §6.
public enum RunbookExit {
    public static let failed = ExitCode(1)
    public static let invalid = ExitCode(2)
    public static let preconditionFailed = ExitCode(3)
    public static let parked = ExitCode(4)
    public static let locked = ExitCode(5)
    /// Every step succeeded, but an objective (`objectives:`) was missed or could not be measured.
    public static let objectiveMissed = ExitCode(6)
    /// A rollback (automatic or `runbook rollback`) in which an undo failed: ROLLBACK INCOMPLETE.
    public static let rollbackIncomplete = ExitCode(7)
    public static let usage = ExitCode(64)
}

extension RunbookCommand {
    /// Runs the command line of this process; the executable's only call.
    public static func runMain() async {
        // A closed pipe (`runbook ... | head -1`) makes writes fail (output gone), never kills.
        StandardStream.ignoreSIGPIPE()
        await main()
    }
}
