import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution

extension RunbookCommand {
    /// `runbook status RUN`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a run is doing now: its steps, the process driving it, its waiting gates.",
            discussion: """
                RUN is a run id or any unique prefix of one (`runbook history` lists them). Prints \
                the run's status, when it started and how long it has taken, the process driving it \
                (pid and host, and whether that pid is still alive when it is on this host), one line \
                per step instance (state, host, time, last error), the observed `state`/`status` output \
                of probes, and for every gate that is waiting the exact `runbook approve` command that \
                answers it. The journal is read from $RUNBOOK_STATE_DIR (default \
                ~/.local/state/runbook). Exit 0, or 1 when the run cannot be found.
                """)

        @Argument(help: ArgumentHelp("The run id, or a unique prefix of it.", valueName: "RUN"))
        var runID: String

        mutating func run() throws {
            let access = try JournalAccess.open()
            let record = try access.resolveRun(runID)
            let journal = try access.requireJournal(for: runID)
            let steps = try access.reading("the steps of run \(record.id)") { try journal.steps(runID: record.id) }
            // The events are needed for a plan with for_each items (what failed before a rollback)
            // and for a waiting gate (its prompt as the run resolved it, with earlier steps' outputs).
            let plan = RunReport.plan(record)
            let events =
                plan?.steps.contains { $0.item != nil } == true || steps.contains { $0.state == .waiting }
                ? ((try? journal.events(runID: record.id)) ?? []) : []
            Terminal.write(
                Self.render(
                    record, steps: steps, now: Date(), color: Terminal.colorEnabled(forStderr: false), plan: plan,
                    events: events))
        }

        static func render(
            _ run: RunRecord, steps: [StepRecord], now: Date, color: Bool, plan: PlanDocument? = nil,
            events: [EventRecord] = []
        ) -> String {
            var out = RunReportText.header(run, now: now, color: color)
            let liveness = ProcessLiveness.of(run)
            let resume = "runbook resume \(ShellQuoting.quote(run.id))"
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
                out += "\nparked at a gate: answer it (below), then `\(resume)`\n"
            case .failed, .interrupted:
                out += "\n`\(resume)` continues it; `runbook rollback \(run.id)` undoes its changes\n"
            case .rollbackFailed:
                out +=
                    "\nthe rollback failed: `runbook show \(run.id)` has the errors; `runbook rollback \(run.id)` retries it\n"
            case .succeeded, .rolledBack:
                break
            }

            out += "\nsteps (\(steps.count)):\n"
            if steps.isEmpty { out += "  none journaled yet\n" }
            let rows = steps.map { step -> [String] in
                [
                    step.nodeID,
                    step.host ?? "-",
                    step.state.rawValue,
                    ReportText.stepTime(step, now: now) ?? "",
                    ReportText.firstLine(step.error) ?? "",
                ]
            }
            let lines = ReportText.table(rows).split(separator: "\n", omittingEmptySubsequences: false)
            for (index, step) in steps.enumerated() {
                let symbol = ReportText.paint(
                    ReportText.symbol(step.state), ReportText.color(step.state), enabled: color)
                out += "  \(symbol) \(lines[index])\n"
                if let chosen = step.chosenAlternative { out += "      took alternative \(chosen + 1)\n" }
                for output in ReportText.outputState(step.outputsJSON) {
                    out += "      outputs: \(output)\n"
                }
            }

            if let plan = plan ?? RunReport.plan(run) {
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
                        if gate.type != "approval" {
                            title += " (\(gate.type) gate: it also ends by itself when its condition holds)"
                        }
                    }
                    if let reached = step.firstReachedAt ?? step.startedAt {
                        title += " (waiting since \(ReportText.timestamp(reached)))"
                    }
                    out += title + "\n"
                    out +=
                        "    answer: \(ReportText.approveCommand(runID: run.id, gate: step.nodeID))  (add --reject to refuse)\n"
                    if run.status == .running, liveness == .alive {
                        out += "    then:   the waiting run (pid \(run.pid)) continues by itself\n"
                    } else {
                        out += "    then:   \(resume)\n"
                    }
                }
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
