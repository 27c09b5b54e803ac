import Foundation
import RunbookCore
import RunbookExecution

// Runs, steps and attempts as text: the pieces `status` and `history` use, and `show`'s report.

// MARK: - Text formatting

public enum ReportText {
    /// `2026-11-25T09:15:02Z` (UTC, second precision).
    public static func timestamp(_ date: Date) -> String { JournalTimestamp.seconds(date) }

    public static func timestamp(_ date: Date?) -> String {
        date.map(timestamp) ?? "-"
    }

    /// `0.4s`, `12s`, `4m05s`, `1h02m03s`, `3d04h`.
    public static func duration(_ seconds: TimeInterval) -> String {
        let value = max(0, seconds)
        if value < 10 {
            let tenths = Int((value * 10).rounded(.down))
            return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
        }
        // To the nearest second, as objectives print theirs: a 52.6 s run and its 53s RTO agree.
        let total = Int(value.rounded())
        let (days, hours, minutes, secs) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if days > 0 { return "\(days)d\(two(hours))h" }
        if total >= 3600 { return "\(total / 3600)h\(two(minutes))m\(two(secs))s" }
        if total >= 60 { return "\(minutes)m\(two(secs))s" }
        return "\(secs)s"
    }

    /// The first non-empty line of `text`, trimmed.
    public static func firstLine(_ text: String?) -> String? {
        guard let text else { return nil }
        return text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { !$0.isEmpty }
    }

    /// Up to `count` non-empty lines of `text`, and how many more there were.
    public static func firstLines(_ text: String, _ count: Int) -> (lines: [String], more: Int) {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        return (Array(lines.prefix(count)), max(0, lines.count - count))
    }

    /// The failure of a step that failed, rolled back since or not (the record keeps it).
    public static func failure(_ step: StepRecord) -> String? {
        Rollback.stepFailure(step)
    }

    /// A step's outcome for people: its state, except that a step that failed stays a failure,
    /// with its rollback beside it (`failed, undone`, `failed, undo failed`).
    public static func outcome(_ step: StepRecord) -> String {
        guard step.state != .failed, failure(step) != nil else { return step.state.rawValue }
        switch step.state {
        case .undone: return "failed, undone"
        case .undoFailed: return "failed, undo failed"
        default: return "failed, \(step.state.rawValue)"
        }
    }

    /// `symbol(_:)` of a step's outcome: a failed step rolled back since is still `✗`.
    public static func symbol(of step: StepRecord) -> String {
        failure(step) != nil ? symbol(StepState.failed) : symbol(step.state)
    }

    /// `color(_:)` of a step's outcome.
    public static func color(of step: StepRecord) -> String? {
        failure(step) != nil ? color(StepState.failed) : color(step.state)
    }

    /// One character per step state.
    public static func symbol(_ state: StepState) -> String {
        switch state {
        case .pending: return "·"
        case .running: return "▶"
        case .succeeded: return "✓"
        case .alreadyDone: return "="
        case .failed: return "✗"
        case .skipped: return "-"
        case .waiting: return "⏸"
        case .undoing: return "↺"
        case .undone: return "↩"
        case .undoFailed: return "✗"
        case .cancelled: return "⊘"
        }
    }

    /// ANSI colour for a step state, or nil for none.
    public static func color(_ state: StepState) -> String? {
        switch state {
        case .succeeded, .alreadyDone, .undone: return "32"
        case .failed, .undoFailed: return "31"
        case .waiting, .running, .undoing: return "33"
        case .pending, .skipped, .cancelled: return nil
        }
    }

    public static func color(_ status: RunStatus) -> String? {
        switch status {
        case .succeeded, .rolledBack: return "32"
        case .failed, .rollbackFailed, .interrupted: return "31"
        case .running, .parked: return "33"
        }
    }

    public static func paint(_ text: String, _ code: String?, enabled: Bool) -> String {
        guard enabled, let code else { return text }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// `text` padded with spaces to `width` characters.
    public static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Rows as aligned columns separated by two spaces (the last column is not padded).
    public static func table(_ rows: [[String]], indent: String = "") -> String {
        guard let columns = rows.map(\.count).max(), columns > 0 else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        var out = ""
        for row in rows {
            var line = indent
            for (index, cell) in row.enumerated() {
                line += index == row.count - 1 ? cell : pad(cell, widths[index]) + "  "
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    /// How long a run took, or has been going.
    public static func runDuration(_ run: RunRecord, now: Date) -> String {
        if let finished = run.finishedAt { return duration(finished.timeIntervalSince(run.startedAt)) }
        if run.status == .running { return duration(now.timeIntervalSince(run.startedAt)) + " so far" }
        return "-"
    }

    /// A step's state as shown: `not run` for one still pending once its run has ended
    /// (succeeded, failed, rolled back): it never ran. The journal keeps `pending`, so a `resume`
    /// of a failed run still runs it.
    public static func state(_ step: StepRecord, of run: RunStatus) -> String {
        step.state == .pending && ended(run) ? "not run" : outcome(step)
    }

    /// Whether a run has ended: not running, parked or interrupted (waiting to go on).
    public static func ended(_ status: RunStatus) -> Bool {
        switch status {
        case .succeeded, .failed, .rolledBack, .rollbackFailed: return true
        case .running, .parked, .interrupted: return false
        }
    }

    /// `parked (exit 4)`.
    public static func status(_ run: RunRecord) -> String {
        run.exitCode.map { "\(run.status.rawValue) (exit \($0))" } ?? run.status.rawValue
    }

    /// How long a step took (`12s`), or how long it has been going (`elapsed 4m05s`); nil if not started.
    /// `idle`: when the run was parked or stopped (`idleIntervals`), left out of a step's time
    /// (one re-verified after a resume spans them), not of a gate's (how long it waited).
    public static func stepTime(_ step: StepRecord, now: Date, idle: [(start: Date, end: Date)] = []) -> String? {
        let start = step.startedAt ?? step.firstReachedAt
        guard let start else { return nil }
        if let finished = step.finishedAt {
            return duration(stepSeconds(step, start: start, end: finished, idle: idle))
        }
        switch step.state {
        case .running, .waiting, .undoing:
            return "elapsed " + duration(stepSeconds(step, start: start, end: now, idle: idle))
        default: return nil
        }
    }

    /// From `start` to `end`, less the idle time in between unless the step is a gate.
    public static func stepSeconds(_ step: StepRecord, start: Date, end: Date, idle: [(start: Date, end: Date)])
        -> Double
    {
        var seconds = end.timeIntervalSince(start)
        guard step.firstReachedAt == nil else { return seconds }
        for span in idle {
            let overlap = min(end, span.end).timeIntervalSince(max(start, span.start))
            if overlap > 0 { seconds -= overlap }
        }
        return seconds
    }

    /// When the run's process was not at work: from each `run.parked` or `run.finished` to the
    /// `run.resumed` after it.
    public static func idleIntervals(_ events: [EventRecord]) -> [(start: Date, end: Date)] {
        var spans: [(start: Date, end: Date)] = []
        var since: Date?
        for event in events.sorted(by: { $0.seq < $1.seq }) {
            switch event.type {
            case "run.parked", "run.finished": since = event.ts
            case "run.resumed":
                if let start = since { spans.append((start, event.ts)) }
                since = nil
            default: break
            }
        }
        return spans
    }

    /// `state = Sync in Progress` for a step whose outputs have a `state` or `status` field.
    public static func outputState(_ outputsJSON: String?) -> [String] {
        guard let outputsJSON,
            let object = try? JSONSerialization.jsonObject(with: Data(outputsJSON.utf8)) as? [String: Any]
        else { return [] }
        var out: [String] = []
        for key in ["state", "status"] {
            guard let value = object[key] else { continue }
            switch value {
            case let text as String: out.append("\(key) = \(text)")
            case let number as NSNumber: out.append("\(key) = \(number)")
            case is NSNull: out.append("\(key) = null")
            default:
                if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
                    out.append("\(key) = \(String(decoding: data, as: UTF8.self))")
                }
            }
        }
        return out
    }

    /// The command that answers a waiting gate.
    /// With `signed`, the gate takes only signed approvals: the command signs with a key.
    public static func approveCommand(runID: String, gate: String, signed: Bool = false) -> String {
        "runbook approve \(ShellQuoting.quote(runID)) \(ShellQuoting.quote(gate)) \(signed ? "--sign KEYFILE" : "--by NAME") --reason TEXT"
    }
}

// MARK: - Detailed text (`show`)

public enum RunReportText {
    /// `event chain: 42 events, intact` or `event chain BROKEN at event 17: ...`.
    public static func chainLine(_ chain: ChainVerification) -> String {
        switch chain {
        case .ok(let count):
            return "event chain: \(count) event\(count == 1 ? "" : "s"), intact"
        case .broken(let seq, let reason):
            return "event chain BROKEN at event \(seq): \(reason)"
        case .rowEdited(let row):
            return "event chain BROKEN: \(ChainVerification.rowEditedReason(row))"
        }
    }

    /// `apply #1 of sync@site-b: failed (exit 23), 2026-11-25T09:15:04Z, took 1.2s`.
    public static func attemptLine(_ attempt: AttemptRecord) -> String {
        var line = "\(attempt.phase.rawValue) #\(attempt.number) of \(attempt.nodeID): "
        if let outcome = attempt.outcome {
            line += outcome
            if let code = attempt.exitCode { line += " (exit \(code))" }
        } else {
            line += "in flight (no outcome recorded)"
        }
        line += ", started \(ReportText.timestamp(attempt.startedAt))"
        if let finished = attempt.finishedAt {
            line += ", took \(ReportText.duration(finished.timeIntervalSince(attempt.startedAt)))"
        }
        return line
    }

    public static func render(_ report: RunReport, color: Bool) -> String {
        let run = report.run
        var out = header(run, now: report.now, color: color, events: report.events)
        out += "plan hash:  \(run.planHash)\n"
        if !run.paramsJSON.isEmpty, run.paramsJSON != "{}" { out += "params:     \(run.paramsJSON)\n" }

        out += "\nsteps (\(report.steps.count)):\n"
        if report.steps.isEmpty { out += "  none journaled\n" }
        let idle = ReportText.idleIntervals(report.events)
        for step in report.steps {
            out +=
                "  \(ReportText.paint(ReportText.symbol(of: step), ReportText.color(of: step), enabled: color)) \(step.nodeID)  \(ReportText.state(step, of: run.status))\n"
            var facts = ["host \(step.host ?? "-")", "\(step.attempts) attempt\(step.attempts == 1 ? "" : "s")"]
            if step.changed { facts.append("changed") }
            if let seq = step.completionSeq { facts.append("completed #\(seq)") }
            if let chosen = step.chosenAlternative { facts.append("took alternative \(chosen + 1)") }
            out += "      \(facts.joined(separator: ", "))\n"
            if step.startedAt != nil || step.finishedAt != nil {
                var times = "started \(ReportText.timestamp(step.startedAt))"
                if let finished = step.finishedAt { times += ", finished \(ReportText.timestamp(finished))" }
                if let time = ReportText.stepTime(step, now: report.now, idle: idle) { times += " (\(time))" }
                out += "      \(times)\n"
            } else if let reached = step.firstReachedAt {
                out += "      reached \(ReportText.timestamp(reached))\n"
            }
            for line in ReportText.outputState(step.outputsJSON) { out += "      outputs: \(line)\n" }
            if let error = step.error, !error.isEmpty {
                let lines = error.split(whereSeparator: \.isNewline)
                for (index, line) in lines.enumerated() {
                    out += (index == 0 ? "      error: " : "             ") + line + "\n"
                }
            }
        }

        out += "\nattempts (\(report.attempts.count)):\n"
        if report.attempts.isEmpty { out += "  none\n" }
        for attempt in report.attempts {
            out += "  " + attemptLine(attempt) + "\n"
            out += "      $ \(attempt.intent)\n"
            let stderr = ReportText.firstLines(attempt.stderrExcerpt, 5)
            for line in stderr.lines { out += "      stderr: \(line)\n" }
            if stderr.more > 0 {
                out +=
                    "      stderr: … \(stderr.more) more line\(stderr.more == 1 ? "" : "s") (`runbook show \(run.id) --format json` has them)\n"
            }
            if let error = attempt.error, !error.isEmpty {
                out += "      error: \(ReportText.firstLine(error) ?? error)\n"
            }
        }

        out += "\napprovals (\(report.approvals.count)):\n"
        if report.approvals.isEmpty { out += "  none\n" }
        let refused = report.refusedApprovals
        for approval in report.approvals {
            let planNote = approval.planHash == run.planHash ? "" : " (a different plan than this run's)"
            out +=
                "  \(approval.gate): \(approval.decision.rawValue) by \(approval.by) at \(ReportText.timestamp(approval.at)), plan \(String(approval.planHash.prefix(19)))\(planNote)\n"
            out += "      reason: \(approval.reason)\n"
            out += "      signature: \(RunReport.signature(approval, refused: refused).summary)\n"
        }

        let notifications = report.notifications
        if !notifications.isEmpty {
            out += "\nnotifications (\(notifications.count)):\n"
            for notification in notifications {
                out += "  \(ReportText.timestamp(notification.at)) \(notification.line)\n"
            }
        }

        let epochs = report.epochLines
        if !epochs.isEmpty {
            out += "\nepoch fence:\n"
            for (at, line) in epochs { out += "  \(ReportText.timestamp(at)) \(line)\n" }
        }

        out += "\n" + chainLine(report.chain) + "\n"
        return out
    }

    /// The lines about a run common to `status` and `show`.
    /// The seconds the run's process was at work: from each `run.started` or `run.resumed` to
    /// the `run.finished` or `run.parked` after it (to `now` while it runs); nil when the run was
    /// never resumed and is not parked now (its wall time is its work time then).
    public static func workSeconds(_ events: [EventRecord], now: Date, parkedNow: Bool = false) -> Double? {
        guard events.contains(where: { $0.type == "run.started" || $0.type == "run.resumed" }),
            parkedNow || events.contains(where: { $0.type == "run.resumed" })
        else { return nil }
        var total = 0.0
        var since: Date?
        for event in events.sorted(by: { $0.seq < $1.seq }) {
            switch event.type {
            case "run.started", "run.resumed": since = since ?? event.ts
            case "run.finished", "run.parked":
                if let start = since { total += event.ts.timeIntervalSince(start) }
                since = nil
            default: break
            }
        }
        if let start = since { total += now.timeIntervalSince(start) }
        return total
    }

    /// `events`: the run's, to tell its work time from its wall time (empty: wall time only).
    public static func header(_ run: RunRecord, now: Date, color: Bool, events: [EventRecord] = []) -> String {
        var out = "run:        \(run.id)\n"
        out += "runbook:    \(run.runbookName) (\(run.runbookPath))\n"
        out += "inventory:  \(run.inventoryName) (\(run.inventoryPath))\n"
        out += "mode:       \(run.mode)\n"
        let liveness = ProcessLiveness.of(run)
        let dead = run.status == .running && liveness == .gone
        out +=
            "status:     \(ReportText.paint(ProcessLiveness.shownStatus(run, liveness), ReportText.color(dead ? .interrupted : run.status), enabled: color))\n"
        out += "started:    \(ReportText.timestamp(run.startedAt))\n"
        // Wall time includes the time parked at gates and stopped between resumes; work time
        // (the process at work) does not.
        let parkedNow = run.status == .parked && run.finishedAt == nil
        let work = workSeconds(events, now: run.finishedAt ?? now, parkedNow: parkedNow).map {
            " wall; \(ReportText.duration($0)) at work, the rest parked or stopped"
        }
        if let finished = run.finishedAt {
            out +=
                "finished:   \(ReportText.timestamp(finished)) (took \(ReportText.duration(finished.timeIntervalSince(run.startedAt)))\(work ?? ""))\n"
        } else {
            out += "elapsed:    \(ReportText.duration(now.timeIntervalSince(run.startedAt)))\(work ?? "")\n"
        }
        out += "process:    \(liveness.describe(run))\n"
        return out
    }
}
