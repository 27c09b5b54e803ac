import Foundation
import RunbookCore
import RunbookExecution

// MARK: - JSON

/// The rehearsal report as one JSON object, keys sorted (`"version": 1`); times ISO-8601 UTC,
/// durations in seconds.
public enum RehearsalJSON {
    public static func render(_ r: Rehearsal) -> String {
        let object: [String: Any] = [
            "version": 1,
            "run": RunReportJSON.run(r.run, now: r.report.now),
            "verdict": ["kind": r.verdict.kind.rawValue, "title": r.verdict.title, "detail": r.verdict.detail],
            "objectives": r.objectives.map(objective),
            "timings": [
                "elapsedSeconds": ms(r.elapsed), "waitedSeconds": ms(r.waited), "machineSeconds": ms(r.machine),
            ],
            "timeline": r.timeline.map { bar in
                [
                    "node": bar.node, "host": bar.host, "state": bar.state.rawValue, "kind": bar.kind.rawValue,
                    "outcome": bar.outcome, "failed": bar.failed,
                    "start": RunReportJSON.date(bar.start), "end": RunReportJSON.date(bar.end),
                    "seconds": ms(bar.busy),
                    "segments": bar.segments.map {
                        ["start": RunReportJSON.date($0.start), "end": RunReportJSON.date($0.end)]
                    },
                ] as [String: Any]
            },
            "approvals": r.report.approvals.map { RunReportJSON.approval($0, refused: r.report.refusedApprovals) },
            "probes": r.probes.map { p in
                [
                    "node": p.node, "host": p.host, "type": p.type, "state": p.state,
                    "expect": RunReportJSON.optional(p.expect), "observed": p.observed,
                ] as [String: Any]
            },
            "evidence": r.report.attempts.map { attempt in
                var a = RunReportJSON.attempt(attempt)
                a["commands"] = attempt.commands.map { ["host": $0.host, "argv": $0.argv] }
                return a
            },
            "trend": r.trend.map { p in
                [
                    "run": p.runID, "startedAt": RunReportJSON.date(p.startedAt), "verdict": p.verdict.rawValue,
                    "exitCode": RunReportJSON.optional(p.exitCode), "rtoSeconds": RunReportJSON.optional(p.rto.map(ms)),
                    "rtoIsMachineTime": p.rtoIsMachineTime, "rpoSeconds": RunReportJSON.optional(p.rpo.map(ms)),
                ] as [String: Any]
            },
            "chain": RunReportJSON.chain(r.report.chain, eventCount: r.report.events.count),
        ]
        let data =
            (try? JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func ms(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }

    static func objective(_ m: RunEvent.ObjectiveMeasured) -> [String: Any] {
        [
            "name": m.name, "max": m.max, "maxValue": m.maxValue, "unit": m.unit, "measure": m.measure,
            "measured": RunReportJSON.optional(m.measured), "value": RunReportJSON.optional(m.value),
            "met": RunReportJSON.optional(m.met), "excess": RunReportJSON.optional(m.excess),
            "note": RunReportJSON.optional(m.note), "summary": m.summary,
        ]
    }
}

// MARK: - Markdown

/// The rehearsal report as Markdown (for a ticket or a wiki page): the same sections as the HTML,
/// the timeline as a table.
public enum RehearsalMarkdown {
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var out = "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---|" }.joined() + "\n"
        for row in rows { out += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
        return out
    }

    public static func render(_ r: Rehearsal) -> String {
        let run = r.run
        var out = "# \(r.verdict.title): \(run.runbookName) on \(run.inventoryName)\n\n"
        out += "\(r.verdict.detail)\n\n"
        out += "- run: `\(run.id)`, mode `\(run.mode)`, status \(run.status.rawValue)"
        out += run.exitCode.map { ", exit \($0)" } ?? ""
        out += "\n- started \(ReportText.timestamp(run.startedAt)), ended \(ReportText.timestamp(run.finishedAt))\n"
        out += "- wall time \(ReportText.duration(r.elapsed)), waiting for people \(ReportText.duration(r.waited)), "
        out += "machine time \(ReportText.duration(r.machine))\n\n"
        out += "## Objectives\n\n"
        if r.objectives.isEmpty {
            out += "No objective was measured in this run.\n\n"
        } else {
            out +=
                table(
                    ["objective", "at most", "measured", "result", "measured as"],
                    r.objectives.map { m in
                        let result =
                            m.met.map {
                                $0 ? "met (\(m.excessText ?? "") to spare)" : "**MISSED by \(m.excessText ?? "")**"
                            }
                            ?? "**not measured**: \(m.note ?? "")"
                        return [m.name, m.max, m.measured ?? "—", result, "`\(m.measure)`"]
                    }) + "\n"
        }
        out += "## Timeline\n\n"
        out +=
            table(
                ["host", "step", "state", "start", "took", "kind"],
                r.timeline.map { bar in
                    [
                        bar.host, bar.node, bar.outcome,
                        "+" + ReportText.duration(bar.start.timeIntervalSince(r.run.startedAt)),
                        ReportText.duration(bar.busy),
                        bar.kind == .waiting ? "waiting for people" : "machine",
                    ]
                }) + "\n"
        out += "## Approvals\n\n"
        out +=
            r.report.approvals.isEmpty
            ? "No gate was answered in this run.\n\n"
            : table(
                ["gate", "decision", "by", "signature", "when", "why"],
                r.report.approvals.map {
                    [
                        $0.gate, $0.decision.rawValue, $0.by,
                        RunReport.signature($0, refused: r.report.refusedApprovals).summary,
                        ReportText.timestamp($0.at), $0.reason,
                    ]
                }) + "\n"
        out += "## Probes\n\n"
        out +=
            r.probes.isEmpty
            ? "No probe ran.\n\n"
            : table(
                ["probe", "host", "result", "observed"],
                r.probes.map { [$0.node, $0.host, $0.state, $0.observed.joined(separator: "; ")] }) + "\n"
        out += "## Evidence\n\n"
        for attempt in r.report.attempts {
            out += "- \(RunReportText.attemptLine(attempt))\n"
            let commands = attempt.commands
            let lines =
                commands.isEmpty
                ? [attempt.intent]
                : commands.map { "\($0.host) $ " + $0.argv.map(ShellQuoting.quote).joined(separator: " ") }
            out += "\n  ```\n" + lines.map { "  " + $0 }.joined(separator: "\n") + "\n  ```\n"
            for (name, text) in [("stdout", attempt.stdoutExcerpt), ("stderr", attempt.stderrExcerpt)]
            where !text.isEmpty {
                let shown = ReportText.firstLines(text, 10)
                out += "\n  \(name):\n\n  ```\n" + shown.lines.map { "  " + $0 }.joined(separator: "\n")
                out += shown.more > 0 ? "\n  … \(shown.more) more lines" : ""
                out += "\n  ```\n"
            }
        }
        out += "\n## Trend\n\n"
        out += table(
            ["run", "started", "verdict", "RTO", "RPO"],
            r.trend.map { p in
                [
                    p.runID == run.id ? "**\(p.runID)** (this run)" : p.runID, ReportText.timestamp(p.startedAt),
                    RehearsalHTML.label(p.verdict),
                    RehearsalHTML.seconds(p.rto) + (p.rto != nil && p.rtoIsMachineTime ? "*" : ""),
                    RehearsalHTML.seconds(p.rpo),
                ]
            })
        if r.trend.contains(where: { $0.rto != nil && $0.rtoIsMachineTime }) {
            out += "\n\\* no `rto` objective measured: machine time (wall time less waiting for people).\n"
        }
        out += "\n\(RunReportText.chainLine(r.report.chain)). Secrets appear as ***.\n"
        return out
    }
}
