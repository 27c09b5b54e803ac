import Foundation
import RunbookCore
import RunbookExecution
import Synchronization

/// Shows a run as it happens: on a terminal, coloured lines and a heartbeat of what is still
/// running (step, host, elapsed); otherwise plain timestamped lines. Secrets are masked.
final class ProgressReporter: RunObserver, Sendable {
    let tty: Bool
    let color: Bool
    let redactor: Redactor
    private let running = Mutex<[String: (host: String, since: Date)]>([:])
    private let started = Date()
    private let heartbeat = Mutex<Task<Void, Never>?>(nil)

    init(tty: Bool, color: Bool, redactor: Redactor) {
        self.tty = tty
        self.color = color
        self.redactor = redactor
        if tty {
            let task = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(10))
                    self?.beat()
                }
            }
            heartbeat.withLock { $0 = task }
        }
    }

    func stop() { heartbeat.withLock { $0?.cancel() } }

    func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    func write(_ line: String) {
        let stamp: String
        if tty {
            stamp = paint(String(format: "[%6.1fs]", Date().timeIntervalSince(started)), "90")
        } else {
            stamp = JournalTimestamp.format(Date())
        }
        FileHandle.standardError.write(Data(redactor.redact("\(stamp) \(line)\n").utf8))
    }

    func beat() {
        let now = Date()
        let list = running.withLock { $0 }.filter { now.timeIntervalSince($0.value.since) >= 5 }
        guard !list.isEmpty else { return }
        let text = list.sorted { $0.key < $1.key }.map { "\($0.key) on \($0.value.host) \(Int(now.timeIntervalSince($0.value.since)))s" }
        write(paint("… running: ", "90") + text.joined(separator: ", "))
    }

    func record(_ event: RunEvent, runID: String) {
        let step = event.step ?? ""
        let host = event.host.map { " on \($0)" } ?? ""
        let f = event.fields
        switch event.type {
        case "run.started":
            write("run \(runID) started: \(f["runbook"] ?? "") against \(f["inventory"] ?? ""), mode \(f["mode"] ?? "")")
        case "run.resumed":
            write("run \(runID) resumed")
        case "precondition.passed":
            write(paint("✓", "32") + " precondition \(step)\(host): \(f["summary"] ?? "")")
        case "precondition.failed":
            write(paint("✗", "31") + " precondition \(step)\(host) FAILED: \(f["summary"] ?? "")")
        case "step.started":
            running.withLock { $0[step] = (event.host ?? "", Date()) }
            write("→ \(step)\(host) (\(f["type"] ?? ""))")
        case "step.retry":
            write(paint("↻", "33") + " \(step)\(host): attempt \(f["attempt"] ?? "") of \(f["of"] ?? "") after: \(f["error"] ?? "")")
        case "step.finished", "step.verified":
            let since = running.withLock { $0.removeValue(forKey: step)?.since }
            let elapsed = since.map { String(format: " %.1fs", Date().timeIntervalSince($0)) } ?? ""
            let state = f["state"] ?? "done"
            let mark: String
            switch state {
            case "succeeded": mark = paint("+", "32")
            case "alreadyDone": mark = paint("=", "34")
            case "failed": mark = paint("✗", "31")
            default: mark = "·"
            }
            let detail = f["error"] ?? f["summary"] ?? ""
            write("\(mark) \(step)\(host): \(state)\(elapsed)\(detail.isEmpty ? "" : " — \(detail)")")
        case "step.skipped":
            write(paint("-", "90") + " \(step)\(host): skipped — \(f["reason"] ?? "")")
        case "gate.waiting":
            if f["gate"] == "approval" {
                write(paint("⏸", "35") + " gate \(step): \(f["prompt"] ?? "") — answer: \(f["answer_with"] ?? "")")
            } else {
                write(paint("⏸", "35") + " gate \(step): waiting until its condition holds")
            }
        case "gate.poll":
            if let error = f["error"] {
                write("  \(step) poll \(f["poll"] ?? ""): \(error)")
            } else {
                write("  \(step) poll \(f["poll"] ?? ""): \(f["condition"] ?? "") is \(f["holds"] ?? "") — \(f["observed"] ?? "")")
            }
        case "approval":
            write(paint("✓", "32") + " gate \(step) \(f["decision"] ?? "approved") by \(f["by"] ?? ""): \(f["reason"] ?? "")")
        case "rollback.started":
            write(paint("↩ rolling back", "33") + " (\(f["reason"] ?? "")): \(f["steps"]?.isEmpty == false ? f["steps"]! : "nothing to undo")")
        case "undo.finished":
            write((f["state"] == "undone" ? paint("↩", "33") : paint("✗", "31")) + " \(step)\(host): \(f["state"] ?? "")\(f["error"].map { " — \($0)" } ?? "")")
        case "rollback.skipped":
            write(paint("!", "31") + " \(step)\(host): not undone — \(f["reason"] ?? "")")
        case "rollback.finished":
            write("rollback finished: undone \(f["undone"]?.isEmpty == false ? f["undone"]! : "nothing")\(f["stopped_at"]?.isEmpty == false ? "; stopped at commit point \(f["stopped_at"]!)" : "")")
        case "run.stopping":
            write(paint("stopping", "33") + ": signal \(f["signal"] ?? ""); no new steps; running commands get \(f["grace_seconds"] ?? "")s")
        default:
            break
        }
    }
}

/// The closing table of a run: each step instance, its host, state and duration.
func summaryTable(_ steps: [StepRecord], color: Bool) -> String {
    guard !steps.isEmpty else { return "" }
    let rows = steps.map { step -> [String] in
        let duration: String
        if let start = step.startedAt, let end = step.finishedAt { duration = String(format: "%.1fs", end.timeIntervalSince(start)) } else { duration = "" }
        let note = (step.error ?? "").split(separator: "\n").first.map { String($0.prefix(70)) } ?? ""
        return [step.nodeID, step.host ?? "", step.state.rawValue, step.changed ? "yes" : "", duration, note]
    }
    let header = ["STEP", "HOST", "STATE", "CHANGED", "TIME", "NOTE"]
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, cell in i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
}
