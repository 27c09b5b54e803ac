import Foundation
import RunbookCore
import RunbookExecution

/// The last run as Prometheus text exposition format (textfile collector), every sample
/// labelled by runbook, inventory and mode.
public enum Metrics {
    static func label(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : value > 0 ? "+Inf" : "-Inf" }
        let value = (value * 1000).rounded() / 1000
        if value == value.rounded(), Swift.abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }

    public static func render(_ r: Rehearsal) -> String {
        let run = r.run
        let labels =
            "runbook=\"\(label(run.runbookName))\",inventory=\"\(label(run.inventoryName))\",mode=\"\(label(run.mode))\""
        var out = ""
        func metric(_ name: String, _ help: String, _ samples: [(String, Double)]) {
            guard !samples.isEmpty else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for (extra, value) in samples {
                out += "\(name){\(labels)\(extra.isEmpty ? "" : "," + extra)} \(number(value))\n"
            }
        }
        let point = r.point
        metric(
            "runbook_last_run_success", "1 if the last run succeeded and met every objective, else 0.",
            [("", r.verdict.passed ? 1 : 0)])
        metric(
            "runbook_last_run_exit_code",
            "The last run's exit code (0 ok, 1 failed, 3 precondition failed, 4 parked, 5 locked, 6 objective missed).",
            [("", Double(run.exitCode ?? -1))])
        metric(
            "runbook_last_run_start_time_seconds", "When the last run started, in seconds since the epoch.",
            [("", run.startedAt.timeIntervalSince1970)])
        if let end = run.finishedAt {
            metric(
                "runbook_last_run_end_time_seconds", "When the last run ended, in seconds since the epoch.",
                [("", end.timeIntervalSince1970)])
        }
        metric(
            "runbook_last_run_duration_seconds", "The last run's wall time, waits at gates included.",
            [("", r.elapsed)])
        metric(
            "runbook_last_run_waited_seconds",
            "Time the last run spent waiting for people (its confirmation, approval gates).",
            [("", r.waited)])
        if let rto = point.rto, r.verdict.kind != .locked {
            metric(
                "runbook_last_run_rto_seconds",
                "The last run's recovery time: its rto objective's measure, or its machine time when it has none.",
                [("", rto)])
        }
        if let rpo = point.rpo {
            metric("runbook_last_run_rpo_seconds", "The last run's measured rpo objective, in seconds.", [("", rpo)])
        }
        func objectiveLabels(_ m: RunEvent.ObjectiveMeasured) -> String {
            "objective=\"\(label(m.name))\",unit=\"\(label(m.unit))\""
        }
        metric(
            "runbook_objective_max", "Each objective's max (seconds for durations).",
            r.objectives.map { (objectiveLabels($0), $0.maxValue) })
        metric(
            "runbook_objective_value", "Each objective's measured value in the last run (absent when not measured).",
            r.objectives.compactMap { m in m.value.map { (objectiveLabels(m), $0) } })
        metric(
            "runbook_objective_met", "1 if the objective was met in the last run, 0 if missed or not measured.",
            r.objectives.map { (objectiveLabels($0), $0.met == true ? 1 : 0) })
        return out
    }
}
