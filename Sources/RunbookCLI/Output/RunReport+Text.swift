import Foundation
import RunbookCore
import RunbookExecution

// Runs, steps and attempts as text: the pieces `status` and `history` use, and `show`'s report.

// MARK: - Text formatting

enum ReportText {
    /// `2026-11-25T09:15:02Z` (UTC, second precision).
    static func timestamp(_ date: Date) -> String {
        String(JournalTimestamp.format(date).prefix(19)) + "Z"
    }

    static func timestamp(_ date: Date?) -> String {
        date.map(timestamp) ?? "-"
    }

    /// `0.4s`, `12s`, `4m05s`, `1h02m03s`, `3d04h`.
    static func duration(_ seconds: TimeInterval) -> String {
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
    static func firstLine(_ text: String?) -> String? {
        guard let text else { return nil }
        return text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { !$0.isEmpty }
    }

    /// Up to `count` non-empty lines of `text`, and how many more there were.
    static func firstLines(_ text: String, _ count: Int) -> (lines: [String], more: Int) {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        return (Array(lines.prefix(count)), max(0, lines.count - count))
    }

    /// One character per step state.
    static func symbol(_ state: StepState) -> String {
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
    static func color(_ state: StepState) -> String? {
        switch state {
        case .succeeded, .alreadyDone, .undone: return "32"
        case .failed, .undoFailed: return "31"
        case .waiting, .running, .undoing: return "33"
        case .pending, .skipped, .cancelled: return nil
        }
    }

    static func color(_ status: RunStatus) -> String? {
        switch status {
        case .succeeded, .rolledBack: return "32"
        case .failed, .rollbackFailed, .interrupted: return "31"
        case .running, .parked: return "33"
        }
    }

    static func paint(_ text: String, _ code: String?, enabled: Bool) -> String {
        guard enabled, let code else { return text }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// `text` padded with spaces to `width` characters.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Rows as aligned columns separated by two spaces (the last column is not padded).
    static func table(_ rows: [[String]], indent: String = "") -> String {
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
    static func runDuration(_ run: RunRecord, now: Date) -> String {
        if let finished = run.finishedAt { return duration(finished.timeIntervalSince(run.startedAt)) }
        if run.status == .running { return duration(now.timeIntervalSince(run.startedAt)) + " so far" }
        return "-"
    }

    /// `parked (exit 4)`.
    static func status(_ run: RunRecord) -> String {
        run.exitCode.map { "\(run.status.rawValue) (exit \($0))" } ?? run.status.rawValue
    }

    /// How long a step took (`12s`), or how long it has been going (`elapsed 4m05s`); nil if not started.
    static func stepTime(_ step: StepRecord, now: Date) -> String? {
        let start = step.startedAt ?? step.firstReachedAt
        guard let start else { return nil }
        if let finished = step.finishedAt { return duration(finished.timeIntervalSince(start)) }
        switch step.state {
        case .running, .waiting, .undoing: return "elapsed " + duration(now.timeIntervalSince(start))
        default: return nil
        }
    }

    /// `state = Sync in Progress` for a step whose outputs have a `state` or `status` field.
    static func outputState(_ outputsJSON: String?) -> [String] {
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
    static func approveCommand(runID: String, gate: String) -> String {
        "runbook approve \(ShellQuoting.quote(runID)) \(ShellQuoting.quote(gate)) --by NAME --reason TEXT"
    }
}

// MARK: - Detailed text (`show`)

enum RunReportText {
    /// `event chain: 42 events, intact` or `event chain BROKEN at event 17: ...`.
    static func chainLine(_ chain: ChainVerification) -> String {
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
    static func attemptLine(_ attempt: AttemptRecord) -> String {
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

    static func render(_ report: RunReport, color: Bool) -> String {
        let run = report.run
        var out = header(run, now: report.now, color: color)
        out += "plan hash:  \(run.planHash)\n"
        if !run.paramsJSON.isEmpty, run.paramsJSON != "{}" { out += "params:     \(run.paramsJSON)\n" }

        out += "\nsteps (\(report.steps.count)):\n"
        if report.steps.isEmpty { out += "  none journaled\n" }
        for step in report.steps {
            out +=
                "  \(ReportText.paint(ReportText.symbol(step.state), ReportText.color(step.state), enabled: color)) \(step.nodeID)  \(step.state.rawValue)\n"
            var facts = ["host \(step.host ?? "-")", "\(step.attempts) attempt\(step.attempts == 1 ? "" : "s")"]
            if step.changed { facts.append("changed") }
            if let seq = step.completionSeq { facts.append("completed #\(seq)") }
            if let chosen = step.chosenAlternative { facts.append("took alternative \(chosen + 1)") }
            out += "      \(facts.joined(separator: ", "))\n"
            if step.startedAt != nil || step.finishedAt != nil {
                var times = "started \(ReportText.timestamp(step.startedAt))"
                if let finished = step.finishedAt { times += ", finished \(ReportText.timestamp(finished))" }
                if let time = ReportText.stepTime(step, now: report.now) { times += " (\(time))" }
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
        for approval in report.approvals {
            let planNote = approval.planHash == run.planHash ? "" : " (a different plan than this run's)"
            out +=
                "  \(approval.gate): \(approval.decision.rawValue) by \(approval.by) at \(ReportText.timestamp(approval.at)), plan \(String(approval.planHash.prefix(19)))\(planNote)\n"
            out += "      reason: \(approval.reason)\n"
        }

        out += "\n" + chainLine(report.chain) + "\n"
        return out
    }

    /// The lines about a run common to `status` and `show`.
    static func header(_ run: RunRecord, now: Date, color: Bool) -> String {
        var out = "run:        \(run.id)\n"
        out += "runbook:    \(run.runbookName) (\(run.runbookPath))\n"
        out += "inventory:  \(run.inventoryName) (\(run.inventoryPath))\n"
        out += "mode:       \(run.mode)\n"
        out += "status:     \(ReportText.paint(ReportText.status(run), ReportText.color(run.status), enabled: color))\n"
        out += "started:    \(ReportText.timestamp(run.startedAt))\n"
        if let finished = run.finishedAt {
            out +=
                "finished:   \(ReportText.timestamp(finished)) (took \(ReportText.duration(finished.timeIntervalSince(run.startedAt))))\n"
        } else {
            out += "elapsed:    \(ReportText.duration(now.timeIntervalSince(run.startedAt)))\n"
        }
        out += "process:    \(ProcessLiveness.of(run).describe(run))\n"
        return out
    }
}
