import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports
import RunbookRuntime

extension RunbookCommand {
    /// `runbook approve RUN GATE [--by NAME] [--reason TEXT] [--reject]`, signed with
    /// `--sign KEY` (recorded, or written to `--output FILE`), or a signed file handed in with `--file FILE`.
    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Answer a gate of a parked or waiting run: approve it (or --reject it), signed or not.",
            discussion: """
                RUN is a run id, any unique prefix or end of one, or `last`; GATE is the gate's step id \
                (`runbook status RUN` lists the waiting gates with this command filled in). The gate \
                must be waiting or not reached yet (pending), and the run must not have finished.

                The decision is journaled together with an `approval` event, bound to the run's plan \
                hash: it does not carry over to another plan. A run that is still waiting at the gate \
                continues by itself; a parked run continues with `runbook resume RUN`. Earlier \
                decisions are kept; the latest one counts.

                Signed approvals (a gate with `allowed_signers` takes nothing else): --sign KEY signs \
                a statement of the run id, the gate, the plan hash, the decision, the reason and the \
                time with `ssh-keygen -Y sign -n runbook-approval` (KEY: a private key, or a public \
                key whose private half is in ssh-agent; a key with a passphrase must be in the agent). \
                It is checked against the gate's allowed signers and recorded, or with --output FILE \
                written to FILE and not recorded (on a machine without the journal give \
                --plan-hash HASH, from `runbook status RUN`). `runbook approve --file FILE` records \
                such a file. The run verifies every signature again (`ssh-keygen -Y verify`) before \
                it counts it.

                  runbook approve last promote --sign ~/.ssh/id_ed25519 --reason CHG-1234
                  runbook approve RUN promote --sign KEY --plan-hash sha256:... --output promote.approval
                  runbook approve --file promote.approval

                Exit 0 when recorded (or written), 1 when the run or gate cannot be found or cannot \
                be answered, or the signature does not count.
                """)

        @Argument(
            help: ArgumentHelp(
                "The run id, a unique prefix or suffix of it, or `last` (with --file: the statement's).",
                valueName: "RUN"),
            completion: Completions.runs)
        var runID: String?

        @Argument(
            help: ArgumentHelp("The gate's step id (with --file: the statement's).", valueName: "GATE"),
            completion: Completions.gates)
        var gate: String?

        @Option(
            help: ArgumentHelp(
                "Who decides (default: $SUDO_USER, then $USER, then the login name, as at the terminal); not with --sign or --file, where the key's principal says who.",
                valueName: "NAME"))
        var by: String?

        @Option(help: ArgumentHelp("Why; kept in the journal and shown by `runbook show`.", valueName: "TEXT"))
        var reason: String?

        @Flag(help: "Reject the gate instead of approving it.")
        var reject = false

        @Option(
            help: ArgumentHelp(
                "Sign the decision with this SSH key (ssh-keygen -Y sign -n runbook-approval).", valueName: "KEYFILE"),
            completion: .file())
        var sign: String?

        @Option(
            help: ArgumentHelp(
                "With --sign: write the signed approval to FILE instead of recording it.", valueName: "FILE"),
            completion: .file())
        var output: String?

        @Option(
            help: ArgumentHelp(
                "With --sign --output: the run's plan hash, when the run's journal is not on this machine.",
                valueName: "HASH"))
        var planHash: String?

        @Option(
            help: ArgumentHelp("Record a signed approval file (made with --sign --output).", valueName: "FILE"),
            completion: .file())
        var file: String?

        func validate() throws {
            if let by, by.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--by must name who decides; leave it out to use $SUDO_USER or $USER")
            }
            if let reason, reason.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--reason must not be empty; leave it out for the default reason")
            }
            if file != nil {
                if sign != nil || output != nil || planHash != nil || by != nil || reason != nil || reject {
                    throw ValidationError(
                        "--file records a signed approval as it is: it takes no --sign, --output, --plan-hash, --by, --reason or --reject"
                    )
                }
            } else if runID == nil || gate == nil {
                throw ValidationError("give RUN and GATE (or --file FILE to record a signed approval file)")
            }
            if sign != nil, by != nil {
                throw ValidationError("--by cannot be given with --sign: the key's principal says who signed")
            }
            if sign == nil, output != nil || planHash != nil {
                throw ValidationError("--output and --plan-hash go with --sign KEYFILE")
            }
            if planHash != nil, output == nil {
                throw ValidationError("--plan-hash goes with --output FILE (a recorded approval takes the run's own)")
            }
        }

        mutating func run() async throws {
            if let output, let sign, let planHash, let runID, let gate {
                // Made anywhere: no journal needed.
                let statement = statement(runID: runID, gate: gate, planHash: planHash)
                try await write(statement, key: sign, to: output)
                return
            }
            var signed: SignedApproval?
            if let file {
                let text: String
                do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                    throw reportFailure("cannot read the approval file \(file): \(error.localizedDescription)")
                }
                do { signed = try SignedApproval(file: text) } catch {
                    throw reportFailure("\(file) is not a signed approval: \(error.message)")
                }
            }
            let statementOfFile = try? signed?.statement()
            let runArgument = runID ?? statementOfFile?.runID ?? ""
            let gate = self.gate ?? statementOfFile?.gate ?? ""
            let access = try JournalAccess.open(writable: output == nil)
            let record = try access.resolveRun(runArgument)
            if let output, let sign {
                let statement = statement(runID: record.id, gate: gate, planHash: record.planHash)
                try await write(statement, key: sign, to: output)
                return
            }
            let journal = try access.requireJournal(for: runArgument)
            let steps = try access.reading("the steps of run \(record.id)") { try journal.steps(runID: record.id) }
            let previous = try access.reading("the approvals of run \(record.id)") {
                try journal.approval(runID: record.id, gate: gate)
            }
            if let sign {
                let statement = statement(runID: record.id, gate: gate, planHash: record.planHash)
                do {
                    let signature = try await SSHSignatures().sign(statement, keyFile: sign)
                    signed = SignedApproval(statementText: statement.text, signature: signature)
                } catch {
                    throw reportFailure("cannot sign with \(sign): \(error); nothing was recorded")
                }
            }
            let controller = RunController(
                RunEnvironment(
                    registry: .standard, connect: { HostPool(inventory: $0, state: access.state) }, journal: journal,
                    coordination: LocalLockCoordination(directory: access.state.lockDirectory)))
            let recorded: ApprovalRecorded
            do {
                if let signed {
                    recorded = try await controller.approve(
                        record, gate: gate, steps: steps, signed: signed,
                        via: file != nil ? "runbook approve --file" : "runbook approve --sign")
                } else {
                    recorded = try controller.approve(
                        record, gate: gate, steps: steps, decision: reject ? .rejected : .approved,
                        by: by?.trimmingCharacters(in: .whitespaces) ?? defaultApprover(), reason: why,
                        via: "runbook approve")
                }
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
            if signed != nil, let quorum = ApprovalRules.gatePlans(of: record)?[gate]?.quorum, quorum > 1 {
                let approvals = (try? journal.approvals(runID: record.id)) ?? []
                let keys = Set(
                    approvals.filter { $0.gate == gate && $0.decision == .approved }.compactMap(\.fingerprint))
                if keys.count < quorum {
                    Terminal.write(
                        "quorum: \(keys.count) of \(quorum) distinct allowed keys have signed; the gate waits for \(quorum - keys.count) more (a resume before then parks at it again)\n"
                    )
                }
            }
        }

        /// The reason recorded: `--reason`, or what says how it was given.
        var why: String {
            reason ?? (reject ? "rejected with runbook approve --reject" : "approved with runbook approve")
        }

        func statement(runID: String, gate: String, planHash: String) -> ApprovalStatement {
            ApprovalStatement(
                runID: runID, gate: gate, planHash: planHash, decision: reject ? .reject : .approve, reason: why,
                at: Date())
        }

        /// Signs `statement` and writes the approval file, without touching the journal.
        func write(_ statement: ApprovalStatement, key: String, to output: String) async throws {
            let signature: String
            do { signature = try await SSHSignatures().sign(statement, keyFile: key) } catch {
                throw reportFailure("cannot sign with \(key): \(error); nothing was written")
            }
            let approval = SignedApproval(statementText: statement.text, signature: signature)
            do {
                try Data(approval.fileText.utf8).write(to: URL(fileURLWithPath: output))
            } catch {
                throw reportFailure("cannot write \(output): \(error.localizedDescription)")
            }
            Terminal.write(
                "wrote \(output): gate '\(statement.gate)' of run \(statement.runID) \(statement.decision.rawValue)d, "
                    + "signed with \(key) (plan \(statement.planHash))\n"
                    + "next: hand it in with `runbook approve --file \(ShellQuoting.quote(output))` where the run's journal is\n"
            )
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
            case .signatureRequired(let run, let gate, let signers):
                return
                    "gate '\(gate)' of run \(run.id) takes only signed approvals (allowed_signers: \(signers)): sign with `runbook approve \(run.id) \(gate) --sign KEYFILE`; nothing was recorded"
            case .signedRefused(let run, let gate, let refusal):
                return
                    "the signed approval for gate '\(gate)' of run \(run.id) would not count, \(refusal.message); nothing was recorded"
            case .noAllowedSigners(let run, let gate):
                return
                    "gate '\(gate)' of run \(run.id) has no allowed_signers, so a signature cannot be verified there: answer it unsigned (`runbook approve \(run.id) \(gate) --by NAME`); nothing was recorded"
            case .unreadableStatement(let why):
                return "the signed statement cannot be read: \(why); nothing was recorded"
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
            if let fingerprint = approval.fingerprint {
                out +=
                    "  signed: by \(approval.principal ?? approval.by), key \(fingerprint) (verified; the run verifies it again)\n"
            } else if !approval.isSigned {
                out += "  signed: no (unverified: --by names who decided)\n"
            }
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
