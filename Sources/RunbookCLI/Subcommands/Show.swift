import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports

extension RunbookCommand {
    /// `runbook show RUN [--format text|json|junit]`.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one run in detail: every step, attempt, approval, and the event chain check.",
            discussion: """
                RUN is a run id, any unique prefix or end of one, or `last` (`runbook history` lists them).

                text: the run, then every step (state, host, attempts, times, error), every attempt \
                (phase, number, the exact command, outcome, exit code, the first lines of stderr), \
                every approval (who, when, why, which plan), every delivery to a notify sink (sent or \
                not, after how many attempts, what answered), and whether the run's hash-chained event \
                log is intact ("event chain: 42 events, intact" or "event chain BROKEN at event 17: ...").

                json: one object with sorted keys: version, run, steps, attempts, approvals, events, notifications, \
                chain. Times are ISO-8601 UTC with milliseconds; a missing value is null; stored JSON \
                (params, outputs, event payloads) is embedded as JSON.

                junit: JUnit XML for CI: one testcase per step instance; failed and undoFailed steps \
                are failures, steps that did not run to the end (skipped, cancelled, pending, waiting, \
                running) are skipped; each testcase's system-out has its attempts.

                Exit 0 (also when the event chain is broken, which is reported in the output and on \
                stderr), or 1 when the run cannot be found.
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case text, json, junit
        }

        @Argument(
            help: ArgumentHelp("The run id, a unique prefix or suffix of it, or `last`.", valueName: "RUN"),
            completion: Completions.runs)
        var runID: String

        @Option(help: "Output format: text, json or junit.")
        var format: Format = .text

        mutating func run() throws {
            let access = try JournalAccess.open()
            let record = try access.resolveRun(runID)
            let journal = try access.requireJournal(for: runID)
            let report = try access.reading("run \(record.id)") { try RunReport.load(record, from: journal) }
            switch format {
            case .text: Terminal.write(RunReportText.render(report, color: Terminal.colorEnabled(forStderr: false)))
            case .json: Terminal.write(RunReportJSON.render(report))
            case .junit: Terminal.write(RunReportJUnit.render(report))
            }
            if case .broken(let seq, let reason) = report.chain {
                Terminal.writeError(
                    "runbook: warning: the event log of run \(record.id) in \(access.journalPath) is broken at event \(seq): \(reason); it was changed after it was written, so do not trust this report without checking the journal file's history\n"
                )
            }
            if case .rowEdited(let row) = report.chain {
                Terminal.writeError(
                    "runbook: warning: in the journal of run \(record.id) (\(access.journalPath)), \(ChainVerification.rowEditedReason(row)), so do not trust this report without checking the journal file's history\n"
                )
            }
        }
    }
}
