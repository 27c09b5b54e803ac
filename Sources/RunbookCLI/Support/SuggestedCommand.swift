import Foundation
import RunbookCore
import RunbookExecution

/// What a suggested next command (printed by `run`, `resume`, `status`, `approve`) must repeat of
/// the run it refers to, so that copying it acts on the same procedure.
enum SuggestedCommand {
    /// ` --mode MODE -p NAME=VALUE ...` for a suggested `runbook run` or `runbook plan`: the mode and
    /// every param given on the command line (a secret as `NAME=...`: give it again).
    static func inputs(mode: String, params: [ResolvedParam]) -> String {
        " --mode \(ShellQuoting.quote(mode))"
            + params.filter { $0.source == .commandLine }.map { param in
                " -p " + ShellQuoting.quote("\(param.name)=\(param.secret ? "..." : param.value.renderedForText)")
            }.joined()
    }

    /// ` -p NAME=...` for each secret param given on the command line: `resume` and `rollback`
    /// read the mode and the other params from the journal, and secrets from their environment
    /// variables, but a secret given with `-p` only from `-p` again.
    static func secrets(_ params: [ResolvedParam]) -> String {
        params.filter { $0.secret && $0.source == .commandLine }.map { " -p \($0.name)=..." }.joined()
    }

    /// `inputs` of a journaled run (empty when its plan cannot be read).
    static func inputs(of run: RunRecord) -> String {
        guard let plan = try? PlanDocument.decode(run.planJSON) else { return "" }
        return inputs(mode: plan.mode, params: plan.params)
    }

    /// `secrets` of a journaled run.
    static func secrets(of run: RunRecord) -> String {
        guard let plan = try? PlanDocument.decode(run.planJSON) else { return "" }
        return secrets(plan.params)
    }
}
