import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports

extension RunbookCommand {
    /// `runbook report RUN [--format html|json|junit|markdown] [-o FILE]`.
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The rehearsal report of one run: verdict, objectives, timeline, approvals, probes, evidence, trend.",
            discussion: """
                Made from the journal alone. RUN is a run id, a unique prefix or end of one, or `last`.

                html: one self-contained file (inline CSS and SVG, no script, no network), readable \
                on a phone: the verdict; each objective against what was measured; a timeline of every \
                step instance per host with the time spent waiting for people at approval gates shown \
                apart from machine time; approvals (who, when, why); each probe's observation; the \
                evidence (commands, exit codes, output excerpts; secrets were masked when journaled); \
                the trend over the previous runs of the same runbook, inventory and mode (a table and a \
                chart of RTO and RPO).

                json: the same as one object (`"version": 1`). junit: `show --format junit` plus one \
                testcase per objective (missed or not measured: a failure). markdown: the same sections.

                Exit 0, or 1 when the run cannot be found.
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case html, json, junit, markdown
        }

        @Argument(
            help: ArgumentHelp("The run id, a unique prefix or suffix of it, or `last`.", valueName: "RUN"),
            completion: Completions.runs)
        var runID: String

        @Option(help: "Output format: html, json, junit or markdown.")
        var format: Format = .html

        @Option(name: [.customShort("o"), .long], help: "Write the report to FILE (owner-only) instead of stdout.")
        var output: String?

        mutating func run() throws {
            let access = try JournalAccess.open()
            let record = try access.resolveRun(runID)
            let journal = try access.requireJournal(for: runID)
            let rehearsal = try access.reading("run \(record.id)") {
                Rehearsal.load(try RunReport.load(record, from: journal), journal: journal)
            }
            let text = Self.render(rehearsal, format: format)
            if let output {
                do {
                    try PrivateFile.write(text, to: output)
                } catch {
                    Terminal.writeError("runbook: error: cannot write the report to \(output): \(error)\n")
                    throw RunbookExit.failed
                }
            } else {
                Terminal.write(text)
            }
            if case .broken(let seq, let reason) = rehearsal.report.chain {
                Terminal.writeError(
                    "runbook: warning: the event log of run \(record.id) is broken at event \(seq): \(reason); do not trust this report without checking the journal file's history\n"
                )
            }
        }

        static func render(_ rehearsal: Rehearsal, format: Format) -> String {
            switch format {
            case .html: return RehearsalHTML.render(rehearsal)
            case .json: return RehearsalJSON.render(rehearsal)
            case .junit: return RunReportJUnit.render(rehearsal.report, objectives: rehearsal.objectives)
            case .markdown: return RehearsalMarkdown.render(rehearsal)
            }
        }
    }
}
