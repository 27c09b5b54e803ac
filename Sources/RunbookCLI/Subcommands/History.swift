import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports

extension RunbookCommand {
    /// `runbook history [--limit N] [--runbook NAME]`.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List past and current runs, newest first.",
            discussion: """
                One line per run: its id, when it started (UTC), how long it took (wall time, the time \
                parked at gates included), the runbook, the \
                inventory, the mode, its status and exit code. `runbook status RUN` and `runbook show \
                RUN` take any of the ids (or a unique prefix). The journal is read from \
                $RUNBOOK_STATE_DIR (default ~/.local/state/runbook). Exit 0.
                """)

        @Option(help: "Show at most this many runs.")
        var limit: Int = 20

        @Option(help: ArgumentHelp("Only runs of the runbook with this name (its metadata.name).", valueName: "NAME"))
        var runbook: String?

        func validate() throws {
            if limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        }

        mutating func run() throws {
            let access = try JournalAccess.open()
            guard let journal = access.journal else {
                Terminal.write("no runs yet (state directory: \(access.state.root))\n")
                return
            }
            var runs = try access.reading("the runs") {
                // The journal cannot filter by runbook: read them all and filter here.
                try journal.runs(limit: runbook == nil ? limit : Int(Int32.max))
            }
            if let runbook {
                let all = runs
                runs = all.filter { $0.runbookName == runbook }
                if runs.isEmpty {
                    if all.isEmpty {
                        Terminal.write("no runs yet (state directory: \(access.state.root))\n")
                    } else {
                        let names = Array(Set(all.map(\.runbookName))).sorted()
                        Terminal.write(
                            "no runs of runbook '\(runbook)'\(Suggestions.hint(for: runbook, in: names)); runs exist of: \(names.joined(separator: ", "))\n"
                        )
                    }
                    return
                }
                runs = Array(runs.prefix(limit))
            }
            if runs.isEmpty {
                Terminal.write("no runs yet (state directory: \(access.state.root))\n")
                return
            }
            Terminal.write(Self.render(runs, now: Date()))
        }

        static func render(_ runs: [RunRecord], now: Date) -> String {
            var rows = [["RUN", "STARTED (UTC)", "DURATION", "RUNBOOK", "INVENTORY", "MODE", "STATUS", "EXIT"]]
            for run in runs {
                // A run whose process is gone is not running: it was interrupted (issue 19, defect 8).
                let dead = run.status == .running && ProcessLiveness.of(run) == .gone
                rows.append([
                    run.id,
                    ReportText.timestamp(run.startedAt),
                    dead ? "-" : ReportText.runDuration(run, now: now),
                    run.runbookName,
                    run.inventoryName,
                    run.mode,
                    dead ? "interrupted (process gone)" : run.status.rawValue,
                    run.exitCode.map(String.init) ?? "-",
                ])
            }
            return ReportText.table(rows)
        }
    }
}
