import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports
import RunbookRuntime

extension RunbookCommand {
    /// `runbook approve RUN GATE [--by NAME] [--reason TEXT] [--reject]`.
    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Answer a gate of a parked or waiting run: approve it (or --reject it).",
            discussion: """
                RUN is a run id, any unique prefix or end of one, or `last`; GATE is the gate's step id \
                (`runbook status RUN` lists the waiting gates with this command filled in). The gate \
                must be waiting or not reached yet (pending), and the run must not have finished.

                The decision is journaled together with an `approval` event, bound to the run's plan \
                hash: it does not carry over to another plan. A run that is still waiting at the gate \
                continues by itself; a parked run continues with `runbook resume RUN`. Earlier \
                decisions are kept; the latest one counts.

                Exit 0 when recorded, 1 when the run or gate cannot be found or cannot be answered.
                """)

        @Argument(
            help: ArgumentHelp("The run id, a unique prefix or suffix of it, or `last`.", valueName: "RUN"),
            completion: Completions.runs)
        var runID: String

        @Argument(help: ArgumentHelp("The gate's step id.", valueName: "GATE"), completion: Completions.gates)
        var gate: String

        @Option(
            help: ArgumentHelp(
                "Who decides (default: $SUDO_USER, then $USER, then the login name, as at the terminal).",
                valueName: "NAME"))
        var by: String?

        @Option(help: ArgumentHelp("Why; kept in the journal and shown by `runbook show`.", valueName: "TEXT"))
        var reason: String?

        @Flag(help: "Reject the gate instead of approving it.")
        var reject = false

        func validate() throws {
            if let by, by.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--by must name who decides; leave it out to use $SUDO_USER or $USER")
            }
            if let reason, reason.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--reason must not be empty; leave it out for the default reason")
            }
        }

        mutating func run() throws {
            let access = try JournalAccess.open(writable: true)
            let record = try access.resolveRun(runID)
            let journal = try access.requireJournal(for: runID)
            let steps = try access.reading("the steps of run \(record.id)") { try journal.steps(runID: record.id) }
            let previous = try access.reading("the approvals of run \(record.id)") {
                try journal.approval(runID: record.id, gate: gate)
            }
            let approver = by?.trimmingCharacters(in: .whitespaces) ?? defaultApprover()
            let decision: ApprovalDecision = reject ? .rejected : .approved
            let why = reason ?? (reject ? "rejected with runbook approve --reject" : "approved with runbook approve")
            let controller = RunController(
                RunEnvironment(
                    registry: .standard, connect: { HostPool(inventory: $0, state: access.state) }, journal: journal,
                    coordination: LocalLockCoordination(directory: access.state.lockDirectory)))
            let recorded: ApprovalRecorded
            do {
                recorded = try controller.approve(
                    record, gate: gate, steps: steps, decision: decision, by: approver, reason: why,
                    via: "runbook approve")
            } catch let refusal as ApprovalRefusal {
                throw reportFailure(Self.message(refusal, explicit: by != nil, journalPath: access.journalPath))
            } catch {
                throw reportFailure(
                    "cannot record the decision in the journal \(access.journalPath): \(error); nothing was recorded, try again"
                )
            }
            Terminal.write(
                Self.confirmation(
                    approval: recorded.approval, event: recorded.event, run: recorded.run,
                    gateState: recorded.gateState, previous: previous))
        }

        /// Why the decision cannot be recorded, as the operator reads it.
        static func message(_ refusal: ApprovalRefusal, explicit: Bool, journalPath: String) -> String {
            switch refusal {
            case .runSucceeded(let run):
                return
                    "run \(run.id) has already succeeded\(run.finishedAt.map { " (at \(ReportText.timestamp($0)))" } ?? ""): there is no gate left to answer; `runbook show \(run.id)` has its record"
            case .runRolledBack(let run):
                return
                    "run \(run.id) was rolled back\(run.finishedAt.map { " (at \(ReportText.timestamp($0)))" } ?? ""): it will not continue, so its gates cannot be answered; start a new run with `runbook run \(ShellQuoting.quote(run.runbookPath)) -i \(ShellQuoting.quote(run.inventoryPath))\(SuggestedCommand.inputs(of: run))`"
            case .noSuchGate(let run, let gate, let gates):
                return
                    "run \(run.id) has no gate '\(gate)'\(Suggestions.hint(for: gate, in: gates)); \(gateList(gates)); `runbook status \(run.id)` shows which are waiting"
            case .notAGate(let run, let gate, let gates):
                return
                    "'\(gate)' is a step of run \(run.id) but not a gate, so it cannot be approved\(Suggestions.hint(for: gate, in: gates)); \(gateList(gates))"
            case .notWaiting(let run, let gate, let state, let error):
                var message =
                    "gate '\(gate)' of run \(run.id) is \(state.rawValue), not waiting or pending: only a gate that has not been passed can be answered"
                if let error = ReportText.firstLine(error) { message += " (its error: \(error))" }
                message += "; `runbook show \(run.id)` has its history"
                return message
            case .notAnApprover(let run, let gate, let approver, let approvers):
                let who =
                    explicit
                    ? "'\(approver)' (--by)" : "'\(approver)' (from $SUDO_USER/$USER; --by names someone else)"
                return
                    "\(who) is not among the approvers of gate '\(gate)' of run \(run.id) (\(approvers.joined(separator: ", "))): the run would ignore the decision; have one of them answer it"
            case .runDisappeared(let runID):
                return "run \(runID) disappeared from the journal \(journalPath) while approving"
            }
        }

        static func gateList(_ gates: [String]) -> String {
            gates.isEmpty ? "its plan has no gates" : "its gates: \(gates.joined(separator: ", "))"
        }

        static func confirmation(
            approval: ApprovalRecord, event: EventRecord, run: RunRecord, gateState: StepState,
            previous: ApprovalRecord?
        ) -> String {
            var out =
                "recorded: gate '\(approval.gate)' of run \(run.id) \(approval.decision.rawValue) by \(approval.by) at \(ReportText.timestamp(approval.at))\n"
            out += "  reason: \(approval.reason)\n"
            out += "  plan:   \(approval.planHash)\n"
            out += "  event:  #\(event.seq) (approval) in the run's event chain\n"
            if let previous {
                out +=
                    "  note:   it was \(previous.decision.rawValue) by \(previous.by) at \(ReportText.timestamp(previous.at)) before; this latest decision counts\n"
            }
            let resume = "runbook resume \(ShellQuoting.quote(run.id))\(SuggestedCommand.secrets(of: run))"
            let seen = approval.decision == .approved ? "continue" : "see the rejection"
            if run.status == .running {
                switch ProcessLiveness.of(run) {
                case .alive where gateState == .pending:
                    out +=
                        "next: the run (pid \(run.pid) on \(run.hostname)) has not reached the gate yet; it will find this decision there\n"
                case .alive:
                    out +=
                        "next: the waiting run will \(seen) (pid \(run.pid) on \(run.hostname)); `runbook status \(run.id)` follows it\n"
                case .gone:
                    out += "next: the process driving the run (pid \(run.pid)) is gone: `\(resume)` continues it\n"
                case .otherHost(let host):
                    out +=
                        "next: the run is driven by pid \(run.pid) on \(host): if that process is alive, the waiting run will \(seen); otherwise `\(resume)` continues it\n"
                }
            } else {
                out += "next: \(resume)\n"
            }
            return out
        }
    }
}

/// Who `approve` records when `--by` is not given: the login name, as an answer at the terminal
/// records it (`ExecutionOptions.loginName`).
func defaultApprover(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    ExecutionOptions.loginName(environment)
}
