import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports

/// What an unattended (scheduled) run leaves behind when it ends, whatever the outcome: its
/// rehearsal report (`--report-dir`) and a Prometheus textfile-collector file (`--metrics`).
struct RunOutputs: Sendable {
    var reportDirectory: String?
    var metricsPath: String?

    var isEmpty: Bool { reportDirectory == nil && metricsPath == nil }

    /// Writes the report and metrics of a journaled run; a failure to write is a warning (the
    /// run's outcome and exit code stay what they are).
    func write(runID: String, journal: any RunJournal) {
        guard !isEmpty else { return }
        guard let record = try? journal.run(id: runID), let report = try? RunReport.load(record, from: journal) else {
            Terminal.writeError("runbook: warning: could not read run \(runID) back from the journal to report it\n")
            return
        }
        write(Rehearsal.load(report, journal: journal))
    }

    func write(_ rehearsal: Rehearsal) {
        if let directory = reportDirectory {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                // Everything in it comes from the journal, which masked the secrets when it stored
                // them; masking again here would also mask markup a short secret happens to match.
                let html = RehearsalHTML.render(rehearsal)
                let json = RehearsalJSON.render(rehearsal)
                let base = directory + "/" + rehearsal.run.id
                try PrivateFile.write(html, to: base + ".html")
                try PrivateFile.write(json, to: base + ".json")
                try PrivateFile.write(html, to: directory + "/latest.html")
                try PrivateFile.write(json, to: directory + "/latest.json")
                Terminal.writeError("runbook: report: \(base).html (and .json; latest.html is the newest)\n")
            } catch {
                Terminal.writeError(
                    "runbook: warning: could not write the report of run \(rehearsal.run.id) to \(directory): \(error); `runbook report \(rehearsal.run.id)` makes it from the journal\n"
                )
            }
        }
        if let path = metricsPath {
            do {
                // Read by node_exporter's textfile collector, often another user: 0644. It holds
                // names and numbers only.
                try PrivateFile.write(Metrics.render(rehearsal), to: path, mode: 0o644)
            } catch {
                Terminal.writeError("runbook: warning: could not write the metrics file \(path): \(error)\n")
            }
        }
    }
}
