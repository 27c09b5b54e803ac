import Foundation
import RunbookCore
import RunbookExecution

// MARK: - HTML

/// The rehearsal report as one self-contained HTML file: inline CSS and SVG, no script, no
/// network, no external font; one column that fits a phone, tables and the timeline scroll
/// sideways when they must.
public enum RehearsalHTML {
    public static func render(_ r: Rehearsal) -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(r.verdict.title)): \(e(r.run.runbookName)) on \(e(r.run.inventoryName)), run \(e(r.run.id))</title>
            <style>\(css)</style>
            </head>
            <body>
            <main>

            """
        out += header(r)
        out += objectives(r)
        out += timeline(r)
        out += approvals(r)
        out += notifications(r)
        out += probes(r)
        out += evidence(r)
        out += trend(r)
        out += footer(r)
        out += "</main>\n</body>\n</html>\n"
        return out
    }

    static func e(_ text: String) -> String { RunReportJUnit.escape(text) }

    /// One cell: its HTML and an optional class.
    struct Cell {
        var html: String
        var cls: String?
        init(_ html: String, cls: String? = nil) {
            self.html = html
            self.cls = cls
        }
    }

    /// A table; on a phone each row becomes a card whose cells carry their column's name
    /// (`data-label`), so nothing needs sideways scrolling.
    static func table(_ headers: [String], _ rows: [(attributes: String, cells: [Cell])]) -> String {
        var out =
            "<table class=\"cards\"><thead><tr>" + headers.map { "<th>\(e($0))</th>" }.joined()
            + "</tr></thead><tbody>\n"
        for row in rows {
            out += "<tr\(row.attributes.isEmpty ? "" : " " + row.attributes)>"
            for (i, cell) in row.cells.enumerated() {
                let label = i < headers.count ? headers[i] : ""
                out += "<td data-label=\"\(e(label))\"\(cell.cls.map { " class=\"\($0)\"" } ?? "")>\(cell.html)</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody></table>"
    }

    static let css = """
        :root{--ok:#276749;--okbg:#f0fff4;--bad:#9b2c2c;--badbg:#fff5f5;--warn:#975a16;--warnbg:#fffaf0;\
        --ink:#1a202c;--mute:#4a5568;--line:#e2e8f0;--machine:#2b6cb0;--wait:#d69e2e;--fail:#c53030;--skip:#a0aec0}
        *{box-sizing:border-box}
        body{margin:0;background:#f7fafc;color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,\
        "Helvetica Neue",Arial,sans-serif;-webkit-text-size-adjust:100%}
        main{max-width:980px;margin:0 auto;padding:12px}
        h1{font-size:1.35rem;margin:.2rem 0 .4rem;word-break:break-word}
        h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
        section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:12px 0}
        .verdict{border-radius:8px;padding:12px 14px;margin:8px 0;border:2px solid}
        .verdict strong{font-size:1.5rem;display:block;letter-spacing:.02em}
        .v-passed{background:var(--okbg);border-color:var(--ok);color:var(--ok)}
        .v-bad{background:var(--badbg);border-color:var(--bad);color:var(--bad)}
        .v-warn{background:var(--warnbg);border-color:var(--warn);color:var(--warn)}
        dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}
        dl.facts dt{color:var(--mute)}
        dl.facts dd{margin:0;word-break:break-word}
        .scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
        table{border-collapse:collapse;width:100%;font-size:.92rem}
        th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{color:var(--mute);font-weight:600;white-space:nowrap}
        td{overflow-wrap:break-word}
        td code{overflow-wrap:anywhere}
        .met{color:var(--ok);font-weight:600}
        .missed{color:var(--bad);font-weight:600}
        .num{white-space:nowrap;font-variant-numeric:tabular-nums}
        code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.85rem}
        pre{background:#f7fafc;border:1px solid var(--line);border-radius:4px;padding:6px 8px;margin:4px 0;\
        white-space:pre-wrap;word-break:break-all;max-height:22rem;overflow:auto}
        details{border-top:1px solid var(--line);padding:6px 0}
        summary{cursor:pointer;word-break:break-word}
        .tag{display:inline-block;border-radius:4px;padding:0 6px;font-size:.8rem;border:1px solid currentColor}
        .timings{display:flex;flex-wrap:wrap;gap:8px;margin:6px 0}
        .timings div{flex:1 1 8rem;background:#f7fafc;border:1px solid var(--line);border-radius:6px;padding:6px 8px}
        .timings b{display:block;font-size:1.15rem}
        .legend{font-size:.85rem;color:var(--mute);margin:4px 0}
        .sw{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;border-radius:2px;margin:0 4px 0 10px}
        svg{display:block;height:auto}
        svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
        .mute{color:var(--mute)}
        .expect{border-bottom:1px dashed var(--line);padding-bottom:2px;margin-bottom:3px}
        footer{color:var(--mute);font-size:.85rem;margin:16px 0 24px}
        .narrow{display:none}
        @media (max-width:560px){body{font-size:14px}main{padding:8px}section{padding:8px}\
        .wide{display:none}.narrow{display:block}\
        table.cards thead{display:none}table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}\
        table.cards tr{border:1px solid var(--line);border-radius:6px;margin:0 0 8px;padding:4px 8px}\
        table.cards td{border:0;padding:2px 0 2px 6.5rem;position:relative;min-height:1.4em}\
        table.cards td::before{content:attr(data-label);position:absolute;left:0;width:6rem;color:var(--mute);\
        font-size:.85rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}
        """

    static func verdictClass(_ kind: Rehearsal.Verdict.Kind) -> String {
        switch kind {
        case .passed: return "v-passed"
        case .objectiveMissed, .failed, .preconditionFailed, .locked: return "v-bad"
        case .parked, .interrupted, .running: return "v-warn"
        }
    }

    static func header(_ r: Rehearsal) -> String {
        let run = r.run
        var out = "<h1>\(e(run.runbookName)) <span class=\"mute\">on</span> \(e(run.inventoryName))</h1>\n"
        out +=
            "<div class=\"verdict \(verdictClass(r.verdict.kind))\" id=\"verdict\"><strong>\(e(r.verdict.title))</strong>\(e(r.verdict.detail))</div>\n"
        out += "<section><dl class=\"facts\">\n"
        let facts: [(String, String)] = [
            ("run", run.id), ("mode", run.mode), ("runbook", run.runbookPath), ("inventory", run.inventoryPath),
            ("started", ReportText.timestamp(run.startedAt)), ("ended", ReportText.timestamp(run.finishedAt)),
            ("status", run.status.rawValue + (run.exitCode.map { ", exit \($0)" } ?? "")),
            ("driven from", "\(run.hostname) (pid \(run.pid))"),
        ]
        for (key, value) in facts { out += "<dt>\(e(key))</dt><dd>\(e(value))</dd>\n" }
        out += "</dl>\n<div class=\"timings\">"
        out += "<div>wall time<b id=\"t-elapsed\">\(e(ReportText.duration(r.elapsed)))</b></div>"
        out += "<div>waiting for people<b id=\"t-waited\">\(e(ReportText.duration(r.waited)))</b></div>"
        out += "<div>machine time<b id=\"t-machine\">\(e(ReportText.duration(r.machine)))</b></div>"
        out += "</div></section>\n"
        return out
    }

    static func objectives(_ r: Rehearsal) -> String {
        var out = "<h2>Objectives</h2>\n<section id=\"objectives\">"
        guard !r.objectives.isEmpty else {
            return out + "<p class=\"mute\">No objective was measured in this run.</p></section>\n"
        }
        var rows: [(attributes: String, cells: [Cell])] = []
        for m in r.objectives {
            let result: String
            if let met = m.met {
                let by = m.excessText ?? ""
                result =
                    met
                    ? "<span class=\"met\">met</span> <span class=\"mute\">(\(e(by)) to spare)</span>"
                    : "<span class=\"missed\">MISSED by \(e(by))</span>"
            } else {
                // The note starts by saying so again ("not measured: the run failed before its end").
                var note = m.note ?? ""
                if note.hasPrefix("not measured: ") { note.removeFirst("not measured: ".count) }
                result = "<span class=\"missed\">not measured</span><br><span class=\"mute\">\(e(note))</span>"
            }
            rows.append(
                (
                    "data-objective=\"\(e(m.name))\"",
                    [
                        Cell("<b>\(e(m.name))</b>"), Cell(e(m.max), cls: "num"), Cell(e(m.measured ?? "—"), cls: "num"),
                        Cell(result), Cell("<code>\(e(m.measure))</code>"),
                    ]
                ))
        }
        return out + table(["objective", "at most", "measured", "result", "measured as"], rows) + "</section>\n"
    }

    // MARK: Timeline

    static func timeline(_ r: Rehearsal) -> String {
        var out = "<h2>Timeline</h2>\n<section id=\"timeline\">"
        guard let first = r.timeline.map(\.start).min() else {
            return out + "<p class=\"mute\">No step ran.</p></section>\n"
        }
        let start = min(first, r.run.startedAt)
        out +=
            "<p class=\"legend\">Every step instance per host, from the run's start (\(e(ReportText.timestamp(start))))."
        out += "<span class=\"sw\" style=\"background:var(--machine)\"></span>machine time"
        out +=
            "<span class=\"sw\" style=\"background:var(--wait);border:1px solid #b7791f\"></span>waiting for people (the confirmation of the plan, approval gates)"
        out += "<span class=\"sw\" style=\"background:var(--fail)\"></span>failed</p>\n"
        // The same chart twice: for a wide screen, and narrower for a phone (CSS shows one), so
        // its text stays readable without a script.
        out += timelineSVG(r, start: start, width: 680, id: "timeline-svg", cls: "wide", pattern: "hatch")
        out += timelineSVG(r, start: start, width: 360, id: "timeline-svg-narrow", cls: "narrow", pattern: "hatch-n")
        return out + "</section>\n"
    }

    static func timelineSVG(
        _ r: Rehearsal, start: Date, width: Double, id: String, cls: String, pattern: String
    ) -> String {
        let last = r.timeline.map(\.end).max() ?? start
        let span = max(last.timeIntervalSince(start), 0.001)
        let left = 8.0
        let usable = width - 2 * left
        func x(_ date: Date) -> Double { left + date.timeIntervalSince(start) / span * usable }
        var rows = ""
        var y = 30.0
        var host: String?
        for bar in r.timeline {
            if bar.host != host {
                host = bar.host
                rows +=
                    "<text x=\"\(f(left))\" y=\"\(f(y + 12))\" font-size=\"13\" font-weight=\"700\" fill=\"#1a202c\">\(e(bar.host))</text>\n"
                y += 20
            }
            let x0 = x(bar.start)
            let w = max(2, x(bar.end) - x0)
            let took = ReportText.duration(bar.busy)
            let what = bar.kind == .waiting ? "waiting for approval \(took)" : took
            let label = "\(bar.node) · \(bar.outcome) · \(what)"
            // Where the label fits: after the bar's start, else ending at its end, else at the left edge.
            let estimate = Double(label.count) * 6.6
            let anchorRight = x0 + estimate > width - left && x0 + w - estimate >= left
            let tx = anchorRight ? min(width - left, x0 + w) : (x0 + estimate > width - left ? left : x0)
            let fill: String
            switch bar.state {
            case _ where bar.failed: fill = "#c53030"
            case .skipped, .cancelled, .pending: fill = "#a0aec0"
            default: fill = bar.kind == .waiting ? "url(#\(pattern))" : "#2b6cb0"
            }
            rows += "<g class=\"bar\" data-node=\"\(e(bar.node))\" data-kind=\"\(bar.kind.rawValue)\">"
            rows += "<title>\(e(bar.node)) on \(e(bar.host)): \(e(bar.outcome)), \(e(what))</title>"
            rows +=
                "<text x=\"\(f(tx))\" y=\"\(f(y + 11))\" font-size=\"12\" fill=\"#2d3748\"\(anchorRight ? " text-anchor=\"end\"" : "")>\(e(label))</text>"
            for segment in bar.segments {
                let sx = x(segment.start)
                rows +=
                    "<rect x=\"\(f(sx))\" y=\"\(f(y + 15))\" width=\"\(f(max(2, x(segment.end) - sx)))\" height=\"10\" rx=\"2\" fill=\"\(fill)\"\(bar.kind == .waiting ? " stroke=\"#b7791f\"" : "")/>"
            }
            rows += "</g>\n"
            y += 32
        }
        let height = y + 6
        var axis = ""
        let ticks = width < 500 ? 2 : 4
        for i in 0...ticks {
            let t = span * Double(i) / Double(ticks)
            let tx = left + usable * Double(i) / Double(ticks)
            let anchor = i == 0 ? "start" : i == ticks ? "end" : "middle"
            axis +=
                "<line x1=\"\(f(tx))\" y1=\"22\" x2=\"\(f(tx))\" y2=\"\(f(height - 4))\" stroke=\"#e2e8f0\"/><text x=\"\(f(tx))\" y=\"14\" font-size=\"11\" fill=\"#4a5568\" text-anchor=\"\(anchor)\">+\(e(ReportText.duration(t)))</text>\n"
        }
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"\(cls)\" id=\"\(id)\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"100%\" style=\"max-width:\(Int(width * 1.4))px\" role=\"img\" aria-label=\"timeline of \(r.timeline.count) step instances\">\n"
        out +=
            "<defs><pattern id=\"\(pattern)\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f6e05e\"/><rect width=\"3\" height=\"6\" fill=\"#d69e2e\"/></pattern></defs>\n"
        return out + axis + rows + "</svg>\n"
    }

    static func f(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    // MARK: Approvals, probes, evidence

    static func approvals(_ r: Rehearsal) -> String {
        var out = "<h2>Approvals</h2>\n<section id=\"approvals\">"
        guard !r.report.approvals.isEmpty else {
            return out + "<p class=\"mute\">No gate was answered in this run.</p></section>\n"
        }
        let refused = r.report.refusedApprovals
        let rows = r.report.approvals.map { a -> (attributes: String, cells: [Cell]) in
            let waitedFor = r.timeline.first { $0.node == a.gate }.map { ReportText.duration($0.busy) }
            let when =
                e(ReportText.timestamp(a.at))
                + (waitedFor.map { "<br><span class=\"mute\">after \(e($0))</span>" } ?? "")
            return (
                "data-gate=\"\(e(a.gate))\"",
                [
                    Cell(e(a.gate)), Cell(e(a.decision.rawValue)), Cell(e(a.by)),
                    Cell(e(RunReport.signature(a, refused: refused).summary)), Cell(when, cls: "num"),
                    Cell(e(a.reason)),
                ]
            )
        }
        return out + table(["gate", "decision", "by", "signature", "when", "why"], rows) + "</section>\n"
    }

    /// The deliveries to notify sinks; nothing when the run had no sink.
    static func notifications(_ r: Rehearsal) -> String {
        let notifications = r.report.notifications
        guard !notifications.isEmpty else { return "" }
        let rows = notifications.map { n -> (attributes: String, cells: [Cell]) in
            let d = n.delivery
            return (
                "data-sink=\"\(e(d.sink))\" data-sent=\"\(n.sent)\"",
                [
                    Cell(e(d.sink)), Cell(e(d.event + (d.step.map { " (\($0))" } ?? ""))),
                    Cell(n.sent ? "sent" : "NOT SENT", cls: n.sent ? nil : "missed"),
                    Cell(e(ReportText.timestamp(n.at)), cls: "num"),
                    Cell("\(d.attempts)", cls: "num"), Cell(e(d.detail)),
                ]
            )
        }
        return "<h2>Notifications</h2>\n<section id=\"notifications\">"
            + table(["sink", "event", "delivery", "when", "attempts", "answer"], rows) + "</section>\n"
    }

    static func probes(_ r: Rehearsal) -> String {
        var out = "<h2>Probes</h2>\n<section id=\"probes\">"
        guard !r.probes.isEmpty else { return out + "<p class=\"mute\">No probe ran.</p></section>\n" }
        let rows = r.probes.map { p -> (attributes: String, cells: [Cell]) in
            // The expectation heads the observations (the widest column): in the narrow result
            // column an expression broke every few characters.
            let expect = p.expect.map { "<div class=\"expect mute\">expect <code>\(e($0))</code></div>" } ?? ""
            let observed = p.observed.map { "<code>\(e($0))</code>" }.joined(separator: "<br>")
            return (
                "data-probe=\"\(e(p.node))\"",
                [
                    Cell("\(e(p.node))<br><span class=\"mute\">\(e(p.type))</span>"), Cell(e(p.host), cls: "num"),
                    Cell(e(p.state)), Cell(expect + observed),
                ]
            )
        }
        return out + table(["probe", "host", "result", "observed"], rows) + "</section>\n"
    }

    /// How much of each output excerpt the report shows.
    static let excerptLimit = 2000

    static func excerpt(_ text: String) -> String {
        guard text.count > excerptLimit else { return text }
        return String(text.prefix(excerptLimit)) + "\n… (\(text.count - excerptLimit) more characters in the journal)"
    }

    static func evidence(_ r: Rehearsal) -> String {
        var out = "<h2>Evidence</h2>\n<section id=\"evidence\">"
        out += "<p class=\"legend\">What each step ran, as journaled (secrets are masked as ***).</p>\n"
        let byNode = Dictionary(grouping: r.report.attempts, by: \.nodeID)
        for step in r.report.steps {
            let attempts = byNode[step.nodeID] ?? []
            let failed = ReportText.failure(step) != nil || step.state == .undoFailed
            out +=
                "<details\(failed ? " open" : "") data-node=\"\(e(step.nodeID))\"><summary><b>\(e(step.nodeID))</b> <span class=\"mute\">\(e(step.host ?? ""))</span> <span class=\"tag\">\(e(ReportText.outcome(step)))</span> <span class=\"mute\">\(attempts.count) attempt\(attempts.count == 1 ? "" : "s")</span></summary>\n"
            if let error = step.error { out += "<pre class=\"missed\">\(e(error))</pre>\n" }
            for attempt in attempts {
                out += "<p>\(e(RunReportText.attemptLine(attempt)))</p>\n"
                let commands = attempt.commands
                if commands.isEmpty {
                    out += "<pre>\(e(attempt.intent))</pre>\n"
                } else {
                    for command in commands {
                        out +=
                            "<pre>\(e(command.host)) $ \(e(command.argv.map(ShellQuoting.quote).joined(separator: " ")))</pre>\n"
                    }
                }
                if !attempt.stdoutExcerpt.isEmpty {
                    out += "<div class=\"mute\">stdout</div><pre>\(e(excerpt(attempt.stdoutExcerpt)))</pre>\n"
                }
                if !attempt.stderrExcerpt.isEmpty {
                    out += "<div class=\"mute\">stderr</div><pre>\(e(excerpt(attempt.stderrExcerpt)))</pre>\n"
                }
                if let error = attempt.error { out += "<pre class=\"missed\">\(e(error))</pre>\n" }
            }
            out += "</details>\n"
        }
        if r.report.steps.isEmpty { out += "<p class=\"mute\">Nothing ran.</p>" }
        return out + "</section>\n"
    }

    // MARK: Trend

    static func seconds(_ value: Double?) -> String {
        value.map { ReportText.duration($0) } ?? "—"
    }

    static func trend(_ r: Rehearsal) -> String {
        var out = "<h2>Trend</h2>\n<section id=\"trend\">"
        out +=
            "<p class=\"legend\">The last \(r.trend.count) run\(r.trend.count == 1 ? "" : "s") of \(e(r.run.runbookName)) on \(e(r.run.inventoryName)) in mode \(e(r.run.mode)), this one last.</p>\n"
        out += trendChart(r)
        let rows = r.trend.map { point -> (attributes: String, cells: [Cell]) in
            let this = point.runID == r.run.id
            let verdictText =
                point.verdict == .passed
                ? "<span class=\"met\">passed</span>" : "<span class=\"missed\">\(e(label(point.verdict)))</span>"
            let rto = seconds(point.rto) + (point.rto != nil && point.rtoIsMachineTime ? "*" : "")
            let run = this ? "<b>\(e(point.runID))</b> (this run)" : e(point.runID)
            return (
                "data-run=\"\(e(point.runID))\"",
                [
                    Cell(run), Cell(e(ReportText.timestamp(point.startedAt)), cls: "num"), Cell(verdictText),
                    Cell(e(rto), cls: "num"), Cell(e(seconds(point.rpo)), cls: "num"),
                ]
            )
        }
        out += table(["run", "started", "verdict", "RTO", "RPO"], rows)
        if r.trend.contains(where: { $0.rto != nil && $0.rtoIsMachineTime }) {
            out +=
                "<p class=\"legend\">* no <code>rto</code> objective measured: machine time (wall time less waiting for people).</p>"
        }
        return out + "</section>\n"
    }

    static func label(_ kind: Rehearsal.Verdict.Kind) -> String {
        switch kind {
        case .passed: return "passed"
        case .objectiveMissed: return "objective missed"
        case .failed: return "failed"
        case .preconditionFailed: return "precondition failed"
        case .locked: return "not run (locked)"
        case .parked: return "parked"
        case .interrupted: return "interrupted"
        case .running: return "running"
        }
    }

    /// RTO and RPO per run, with the objectives' max as dashed lines: one chart for a wide
    /// screen and a narrower one for a phone (CSS shows one).
    static func trendChart(_ r: Rehearsal) -> String {
        guard !r.trend.isEmpty else { return "" }
        let charts = [
            trendSVG(r, width: 600, id: "trend-svg", cls: "wide"),
            trendSVG(r, width: 360, id: "trend-svg-narrow", cls: "narrow"),
        ]
        guard !charts[0].isEmpty else { return "" }
        let lines = objectiveLines(r)
        let above = lines.filter { !$0.onChart }.map { "\($0.name) objective \(ReportText.duration($0.max))" }
        let dashed = lines.contains(where: \.onChart) ? "; dashed: the objectives." : "."
        let note =
            above.isEmpty
            ? ""
            : " \(above.joined(separator: " and ")) \(above.count == 1 ? "is" : "are") above the chart: every run measured under a third of \(above.count == 1 ? "it" : "them")."
        return charts.joined()
            + "<p class=\"legend\"><span class=\"sw\" style=\"background:#2b6cb0\"></span>RTO<span class=\"sw\" style=\"background:#805ad5\"></span>RPO\(dashed)\(e(note))</p>\n"
    }

    /// The rto and rpo objectives (durations) and whether each is drawn: one more than three
    /// times every measured value is named under the chart instead, or the chart's scale would
    /// flatten the runs onto its axis (a 30m objective over 50 s drills).
    static func objectiveLines(_ r: Rehearsal) -> [(name: String, max: Double, color: String, onChart: Bool)] {
        let measured = r.trend.flatMap { [$0.rto, $0.rpo] }.compactMap { $0 }.max()
        return [("rto", "RTO", "#2b6cb0"), ("rpo", "RPO", "#805ad5")].compactMap { key, name, color in
            guard let objective = r.objectives.first(where: { $0.name.lowercased() == key && $0.unit == "seconds" })
            else { return nil }
            let onChart = measured.map { objective.maxValue <= 3 * $0 } ?? true
            return (name, objective.maxValue, color, onChart)
        }
    }

    /// A step for three gridlines that cover `top`: 1, 2, 5, 10, 15, 20, 30 s, 1, 2, 5, 10, 15,
    /// 20, 30 min, 1, 2, 3, 6, 12 h, then days.
    static func gridStep(_ top: Double) -> Double {
        let steps: [Double] = [
            1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
        ]
        let raw = top / 3
        return steps.first { $0 >= raw } ?? (raw / 86400).rounded(.up) * 86400
    }

    static func trendSVG(_ r: Rehearsal, width: Double, id: String, cls: String) -> String {
        let points = r.trend
        let lines = objectiveLines(r).filter(\.onChart)
        let values = points.flatMap { [$0.rto, $0.rpo] }.compactMap { $0 } + lines.map(\.max)
        guard let top = values.max() else { return "" }
        let scale = 3 * gridStep(top * 1.1)
        let (height, left, bottom, topPad) = (180.0, 56.0, 26.0, 10.0)
        let plotW = width - left - 16
        let plotH = height - bottom - topPad
        func x(_ i: Int) -> Double {
            points.count == 1 ? left + plotW / 2 : left + plotW * Double(i) / Double(points.count - 1)
        }
        func y(_ v: Double) -> Double { topPad + plotH * (1 - v / scale) }
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"\(cls)\" id=\"\(id)\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"100%\" style=\"max-width:\(Int(width * 1.3))px\" role=\"img\" aria-label=\"RTO and RPO of the last \(points.count) runs\">\n"
        for i in 0...3 {
            let v = scale * Double(i) / 3
            svg +=
                "<line x1=\"\(f(left))\" y1=\"\(f(y(v)))\" x2=\"\(f(width - 16))\" y2=\"\(f(y(v)))\" stroke=\"#e2e8f0\"/><text x=\"\(f(left - 6))\" y=\"\(f(y(v) + 4))\" font-size=\"11\" fill=\"#4a5568\" text-anchor=\"end\">\(e(ReportText.duration(v)))</text>\n"
        }
        for (name, maxValue, color, _) in lines {
            svg +=
                "<line x1=\"\(f(left))\" y1=\"\(f(y(maxValue)))\" x2=\"\(f(width - 16))\" y2=\"\(f(y(maxValue)))\" stroke=\"\(color)\" stroke-dasharray=\"5 4\"/><text x=\"\(f(width - 16))\" y=\"\(f(y(maxValue) - 3))\" font-size=\"11\" fill=\"\(color)\" text-anchor=\"end\">\(name) objective \(e(ReportText.duration(maxValue)))</text>\n"
        }
        for (series, color, name) in [(points.map(\.rto), "#2b6cb0", "RTO"), (points.map(\.rpo), "#805ad5", "RPO")] {
            let coords = series.enumerated().compactMap { i, v in v.map { (x(i), y($0), $0, i) } }
            guard !coords.isEmpty else { continue }
            if coords.count > 1 {
                svg +=
                    "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(coords.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\"/>\n"
            }
            for c in coords {
                svg +=
                    "<circle cx=\"\(f(c.0))\" cy=\"\(f(c.1))\" r=\"4\" fill=\"\(color)\" data-series=\"\(name)\"><title>\(name) \(e(ReportText.duration(c.2))), run \(e(points[c.3].runID))</title></circle>\n"
            }
        }
        // At most one date label per 110 units, the last always.
        let every = max(1, Int((Double(points.count) / (plotW / 110)).rounded(.up)))
        let labelled = points.indices.filter { $0 % every == 0 || $0 == points.count - 1 }
        // `12-01 13:15`: month, day and time (UTC); with the seconds when two labels would read
        // the same (runs within a minute).
        func stamp(_ i: Int, _ length: Int) -> String {
            String(ReportText.timestamp(points[i].startedAt).dropFirst(5).prefix(length))
                .replacingOccurrences(of: "T", with: " ")
        }
        let length = Set(labelled.map { stamp($0, 11) }).count < labelled.count ? 14 : 11
        for i in labelled {
            let date = stamp(i, length)
            let anchor =
                points.count > 1 && i == points.count - 1 ? "end" : points.count > 1 && i == 0 ? "start" : "middle"
            svg +=
                "<text x=\"\(f(x(i)))\" y=\"\(f(height - 8))\" font-size=\"11\" fill=\"#4a5568\" text-anchor=\"\(anchor)\">\(e(date))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func footer(_ r: Rehearsal) -> String {
        "<footer>Made from the journal by <code>runbook report</code> at \(e(ReportText.timestamp(r.report.now))). \(e(RunReportText.chainLine(r.report.chain))). Secrets were masked when they were journaled and appear as ***.</footer>\n"
    }
}
