import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports
import RunbookRuntime

extension RunbookCommand {
    /// `runbook status [RUN]`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a run is doing now: its steps, the process driving it, its waiting gates.",
            discussion: """
                Without RUN: every run that is active, parked at a gate or interrupted (its process \
                gone), newest first, with its waiting gates and the commands that go on from there. \
                RUN is a run id, any unique prefix or end of one (its random suffix: `3f9a`), or \
                `last` (`runbook history` lists them). Prints \
                the run's status, when it started and how long it has taken, the process driving it \
                (pid and host, and whether that pid is still alive when it is on this host), one line \
                per step instance (state, host, time, last error), the observed `state`/`status` output \
                of probes, and for every gate that is waiting the exact `runbook approve` command that \
                answers it. The journal is read from $RUNBOOK_STATE_DIR (default \
                ~/.local/state/runbook). Exit 0, or 1 when the run cannot be found.
                """)

        @Argument(
            help: ArgumentHelp(
                "The run id, a unique prefix or suffix of it, or `last` (none: the runs that need attention).",
                valueName: "RUN"), completion: Completions.runs)
        var runID: String?

        /// How many of the newest runs the overview looks through.
        static let overviewLimit = 500

        mutating func run() throws {
            let access = try JournalAccess.open()
            guard let runID else {
                Terminal.write(try Self.overview(access, now: Date()))
                return
            }
            let record = try access.resolveRun(runID)
            let journal = try access.requireJournal(for: record.id)
            let controller = RunController(
                RunEnvironment(
                    registry: .standard, connect: { HostPool(inventory: $0, state: access.state) }, journal: journal,
                    coordination: LocalLockCoordination(directory: access.state.lockDirectory)))
            guard
                let snapshot = try access.reading(
                    "the steps of run \(record.id)", { try controller.status(runID: record.id) })
            else { throw reportFailure("run \(record.id) disappeared from the journal \(access.journalPath)") }
            Terminal.write(
                Self.render(
                    snapshot.run, steps: snapshot.steps, now: Date(), color: Terminal.colorEnabled(forStderr: false),
                    plan: snapshot.plan, events: snapshot.events))
        }

        static func render(
            _ run: RunRecord, steps: [StepRecord], now: Date, color: Bool, plan: PlanDocument? = nil,
            events: [EventRecord] = []
        ) -> String {
            var out = RunReportText.header(run, now: now, color: color, events: events)
            let journaled = plan ?? RunReport.plan(run)
            let liveness = ProcessLiveness.of(run)
            let resume = "runbook resume \(ShellQuoting.quote(run.id))\(SuggestedCommand.secrets(of: run))"
            let rollback = "runbook rollback \(ShellQuoting.quote(run.id))\(SuggestedCommand.secrets(of: run))"
            switch run.status {
            case .running:
                switch liveness {
                case .alive: break
                case .gone: out += "\nthe process is gone: `\(resume)` continues it\n"
                case .otherHost(let host):
                    out +=
                        "\nthe run is driven from \(host); `runbook status \(run.id)` there says whether it is alive\n"
                }
            case .parked:
                let passed =
                    journaled.map {
                        GateDeadline.waiting(steps, nodes: $0.steps).filter { $0.passed(now: now) }
                    } ?? []
                if passed.isEmpty {
                    out += "\nparked at a gate: answer it (below), then `\(resume)`\n"
                } else {
                    out +=
                        "\nparked at a gate PAST ITS DEADLINE: "
                        + passed.map { "gate \($0.gate) \($0.describe(now: now))" }.joined(separator: "; ") + "\n"
                }
            case .failed, .interrupted:
                out += "\n`\(resume)` continues it; `\(rollback)` undoes its changes\n"
            case .rollbackFailed:
                out +=
                    "\nthe rollback failed: `runbook show \(run.id)` has the errors; `\(rollback)` retries it\n"
            case .succeeded, .rolledBack:
                break
            }

            out += "\nsteps (\(steps.count)):\n"
            let idle = ReportText.idleIntervals(events)
            if steps.isEmpty { out += "  none journaled yet\n" }
            let rows = steps.map { step -> [String] in
                [
                    step.nodeID,
                    step.host ?? "-",
                    ReportText.state(step, of: run.status),
                    ReportText.stepTime(step, now: now, idle: idle) ?? "",
                    ReportText.firstLine(step.error) ?? "",
                ]
            }
            let lines = ReportText.table(rows).split(separator: "\n", omittingEmptySubsequences: false)
            for (index, step) in steps.enumerated() {
                let symbol = ReportText.paint(ReportText.symbol(of: step), ReportText.color(of: step), enabled: color)
                out += "  \(symbol) \(lines[index])\n"
                if let chosen = step.chosenAlternative { out += "      took alternative \(chosen + 1)\n" }
                for output in ReportText.outputState(step.outputsJSON) {
                    out += "      outputs: \(output)\n"
                }
            }

            if let plan = journaled {
                let items = ItemStatus.block(steps, nodes: plan.steps, events: events)
                if !items.isEmpty { out += "\n" + items }
            }

            let waiting = steps.filter { $0.state == .waiting }
            if !waiting.isEmpty {
                let gates = RunReport.planGates(run)
                out += "\nwaiting gate\(waiting.count == 1 ? "" : "s"):\n"
                for step in waiting {
                    var title = "  \(step.nodeID)"
                    if let gate = gates?[step.nodeID] {
                        if let prompt = Self.resolvedPrompt(of: step.nodeID, in: events) ?? gate.prompt {
                            title += ": \(prompt)"
                        }
                        if gate.type != .approval {
                            title += " (\(gate.type.rawValue) gate: it also ends by itself when its condition holds)"
                        }
                    }
                    if let reached = step.firstReachedAt ?? step.startedAt {
                        title += " (waiting since \(ReportText.timestamp(reached)))"
                    }
                    out += title + "\n"
                    if let node = journaled?.steps.first(where: { $0.id == step.nodeID }),
                        let deadline = GateDeadline(node: node, firstReached: step.firstReachedAt ?? step.startedAt)
                    {
                        out +=
                            "    \(deadline.passed(now: now) ? "TIMED OUT" : "deadline"): \(deadline.describe(now: now))\n"
                    }
                    out +=
                        "    answer: \(ReportText.approveCommand(runID: run.id, gate: step.nodeID, signed: gates?[step.nodeID]?.allowedSigners != nil))  (add --reject to refuse)\n"
                    if let gate = gates?[step.nodeID], let signers = gate.allowedSigners {
                        out +=
                            "    signed: \(gate.quorum ?? 1) distinct key\((gate.quorum ?? 1) == 1 ? "" : "s") of \(signers) must sign; `runbook approve --file FILE` hands in one signed elsewhere\n"
                    }
                    if run.status == .running, liveness == .alive {
                        out += "    then:   the waiting run (pid \(run.pid)) continues by itself\n"
                    } else {
                        out += "    then:   \(resume)\n"
                    }
                }
            }
            return out
        }

        /// `runbook status` without a run: what is active, parked or interrupted, and how to go on
        /// with each (as `systemctl status` lists units).
        static func overview(_ access: JournalAccess, now: Date) throws -> String {
            guard let journal = access.journal else {
                return "no runs yet (state directory: \(access.state.root))\n"
            }
            let runs = try access.reading("the runs") { try journal.runs(limit: overviewLimit) }
            let open = runs.filter { run in
                switch run.status {
                case .running, .parked, .interrupted, .rollbackFailed: return true
                case .succeeded, .failed, .rolledBack: return false
                }
            }
            guard !open.isEmpty else {
                return runs.isEmpty
                    ? "no runs yet (state directory: \(access.state.root))\n"
                    : "no run is active, parked or interrupted (\(runs.count) run\(runs.count == 1 ? "" : "s") journaled; `runbook history` lists them, `runbook status last` shows the newest)\n"
            }
            var out = ""
            for run in open {
                let liveness = ProcessLiveness.of(run)
                let id = ShellQuoting.quote(run.id)
                let steps = (try? journal.steps(runID: run.id)) ?? []
                out +=
                    "● \(run.id)  \(ProcessLiveness.shownStatus(run, liveness))  \(run.runbookName) on \(run.inventoryName)"
                out += " (mode \(run.mode)), started \(ReportText.timestamp(run.startedAt))\n"
                if run.status == .running, liveness != .gone {
                    out += "    process: \(liveness.describe(run))\n"
                    for step in steps where step.state == .running || step.state == .undoing {
                        let time = ReportText.stepTime(step, now: now).map { ", \($0)" } ?? ""
                        out += "    now:     \(step.nodeID) on \(step.host ?? "-") (\(step.state.rawValue)\(time))\n"
                    }
                }
                let waiting = steps.filter { $0.state == .waiting }
                if !waiting.isEmpty {
                    let events = (try? journal.events(runID: run.id)) ?? []
                    let gates = RunReport.planGates(run)
                    for step in waiting {
                        let prompt = resolvedPrompt(of: step.nodeID, in: events) ?? gates?[step.nodeID]?.prompt
                        out += "    waiting: \(step.nodeID)\(prompt.map { ": \($0)" } ?? "")\n"
                        out +=
                            "    answer:  \(ReportText.approveCommand(runID: run.id, gate: step.nodeID, signed: gates?[step.nodeID]?.allowedSigners != nil))\n"
                    }
                }
                switch run.status {
                case .running where liveness != .gone:
                    // Alive (here, or on another host: `runbook status RUN` there tells).
                    if !waiting.isEmpty { out += "    then:    the waiting run continues by itself\n" }
                case .running, .interrupted, .parked:
                    let then = waiting.isEmpty ? "next:   " : "then:   "
                    out += "    \(then) runbook resume \(id)"
                    out += run.status == .parked ? "\n" : "  (or undo it: runbook rollback \(id))\n"
                case .rollbackFailed:
                    out += "    next:    runbook show \(id) (what failed), then runbook rollback \(id) again\n"
                default:
                    break
                }
                out += "    details: runbook status \(id)\n"
            }
            return out
        }

        /// The prompt of the newest `gate.waiting` event of a gate: the run resolved it with the
        /// outputs of the steps before the gate, which the journaled plan could only show as
        /// `${{ ... }}` (a failback's `differences` gate lists the paths that differ).
        static func resolvedPrompt(of nodeID: String, in events: [EventRecord]) -> String? {
            for record in events.reversed() where record.type == "gate.waiting" && record.step == nodeID {
                guard case .gateWaiting(let waiting)? = record.event else { return nil }
                return waiting.prompt
            }
            return nil
        }
    }
}
