import Foundation
import RunbookExecution

// MARK: - JUnit XML

public enum RunReportJUnit {
    /// Escapes text for an XML attribute or element; drops characters XML 1.0 cannot carry.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                if v < 0x20 || (0xFFFE...0xFFFF).contains(v) || (0xD800...0xDFFF).contains(v) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Seconds with millisecond precision, `12.345`.
    static func seconds(_ value: TimeInterval) -> String {
        let ms = Int((max(0, value) * 1000).rounded())
        let frac = ms % 1000
        return "\(ms / 1000)." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + "\(frac)"
    }

    enum Verdict {
        case passed
        case failed(String)
        case skipped(String)
    }

    static func verdict(_ step: StepRecord) -> Verdict {
        // A step that failed and was rolled back since is still a failure: a failed drill is red.
        if let failure = ReportText.failure(step) {
            return .failed(
                (ReportText.firstLine(failure) ?? "failed")
                    + (step.state == .failed ? "" : " (\(ReportText.outcome(step)))"))
        }
        switch step.state {
        case .succeeded, .alreadyDone, .undone: return .passed
        case .failed, .undoFailed:
            return .failed(ReportText.firstLine(step.error) ?? "step \(step.state.rawValue)")
        case .skipped: return .skipped("skipped")
        case .cancelled: return .skipped("cancelled")
        case .pending: return .skipped("not reached")
        case .waiting: return .skipped("waiting at the gate")
        case .running: return .skipped("still running")
        case .undoing: return .skipped("being undone")
        }
    }

    /// - Parameter objectives: measured objectives, one testcase each (`runbook report`); a missed
    ///   or unmeasured one is a failure.
    public static func render(_ report: RunReport, objectives: [RunEvent.ObjectiveMeasured] = []) -> String {
        let run = report.run
        let suiteTime = report.endOfWork.timeIntervalSince(run.startedAt)
        var failures = 0
        var skipped = 0
        var cases = ""
        for step in report.steps {
            let start = step.startedAt ?? step.firstReachedAt
            let time = start.map { (step.finishedAt ?? report.endOfWork).timeIntervalSince($0) } ?? 0
            cases +=
                "    <testcase classname=\"\(escape(run.runbookName))\" name=\"\(escape(step.nodeID))\" time=\"\(seconds(time))\">\n"
            switch verdict(step) {
            case .passed: break
            case .failed(let message):
                failures += 1
                cases +=
                    "      <failure message=\"\(escape(message))\" type=\"\(ReportText.failure(step) != nil ? "failed" : step.state.rawValue)\">\(escape(step.error ?? ""))</failure>\n"
            case .skipped(let message):
                skipped += 1
                cases += "      <skipped message=\"\(escape(message))\"/>\n"
            }
            let out = systemOut(step, attempts: report.attempts.filter { $0.nodeID == step.nodeID })
            if !out.isEmpty {
                cases += "      <system-out>\(escape(out))</system-out>\n"
            }
            cases += "    </testcase>\n"
        }
        for objective in objectives {
            cases +=
                "    <testcase classname=\"\(escape(run.runbookName)).objectives\" name=\"\(escape(objective.name))\" time=\"0.000\">\n"
            if objective.met != true {
                failures += 1
                cases +=
                    "      <failure message=\"\(escape(objective.summary))\" type=\"\(objective.met == nil ? "notMeasured" : "objectiveMissed")\">\(escape(objective.measure))</failure>\n"
            }
            cases +=
                "      <system-out>\(escape(objective.summary + "\nmeasured as: " + objective.measure))</system-out>\n"
            cases += "    </testcase>\n"
        }
        let tests = report.steps.count + objectives.count
        let counts =
            "tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\" time=\"\(seconds(suiteTime))\""
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"runbook\" \(counts)>\n"
        xml +=
            "  <testsuite name=\"\(escape(run.runbookName))\" \(counts) timestamp=\"\(String(JournalTimestamp.format(run.startedAt).prefix(19)))\" hostname=\"\(escape(run.hostname))\">\n"
        xml += "    <properties>\n"
        let properties: [(String, String)] = [
            ("run", run.id), ("inventory", run.inventoryName), ("mode", run.mode),
            ("status", run.status.rawValue), ("exitCode", run.exitCode.map(String.init) ?? ""),
            ("planHash", run.planHash), ("eventChain", chainLine(report.chain)),
        ]
        for (name, value) in properties {
            xml += "      <property name=\"\(escape(name))\" value=\"\(escape(value))\"/>\n"
        }
        xml += "    </properties>\n"
        xml += cases
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    static func systemOut(_ step: StepRecord, attempts: [AttemptRecord]) -> String {
        var out = ""
        if let host = step.host { out += "host: \(host)\n" }
        out += "state: \(ReportText.outcome(step))\n"
        for attempt in attempts {
            out += RunReportText.attemptLine(attempt) + "\n"
            out += "  $ \(attempt.intent)\n"
            let stderr = ReportText.firstLines(attempt.stderrExcerpt, 5)
            for line in stderr.lines { out += "  stderr: \(line)\n" }
            if stderr.more > 0 { out += "  stderr: … \(stderr.more) more lines\n" }
            if let error = attempt.error { out += "  error: \(error)\n" }
        }
        return out
    }

    static func chainLine(_ chain: ChainVerification) -> String {
        RunReportText.chainLine(chain)
    }
}
