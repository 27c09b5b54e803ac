import Foundation
import RunbookCore
import RunbookExecution
import RunbookReports
import Synchronization

/// Shows a run as it happens: on a terminal, coloured lines and a heartbeat of what is still
/// running (step, host, elapsed) every 10 s; otherwise plain timestamped lines, with the same
/// heartbeat every 60 s (`--heartbeat`), so a journal (`journalctl`) shows a long step is alive.
/// Secrets are masked.
final class ProgressReporter: RunObserver, Sendable {
    let tty: Bool
    let color: Bool
    let redactor: Redactor
    /// Where the lines go: standard error (a test reads them in-process).
    let output: @Sendable (String) -> Void
    private let running = Mutex<[String: (host: String, since: Date)]>([:])
    private let started = Date()
    private let heartbeat = Mutex<Task<Void, Never>?>(nil)

    /// Seconds between heartbeats: 10 on a terminal, 60 otherwise.
    static func defaultHeartbeat(tty: Bool) -> Double { tty ? 10 : 60 }

    /// `heartbeat`: seconds between the lines saying what still runs (nil: the default; 0: none).
    init(
        tty: Bool, color: Bool, redactor: Redactor, heartbeat: Double? = nil,
        output: @escaping @Sendable (String) -> Void = { StandardStream.standardError.write($0) }
    ) {
        self.tty = tty
        self.output = output
        self.color = color
        self.redactor = redactor
        let every = heartbeat ?? Self.defaultHeartbeat(tty: tty)
        if every > 0 {
            let task = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(every))
                    self?.beat(after: min(5, every))
                }
            }
            self.heartbeat.withLock { $0 = task }
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
        output(redactor.redact("\(stamp) \(line)\n"))
    }

    /// One line naming what has been running for `after` seconds or more, if anything.
    func beat(after: Double = 5) {
        let now = Date()
        let list = running.withLock { $0 }.filter { now.timeIntervalSince($0.value.since) >= after }
        guard !list.isEmpty else { return }
        let text = list.sorted { $0.key < $1.key }.map {
            "\($0.key) on \($0.value.host) \(Int(now.timeIntervalSince($0.value.since)))s"
        }
        write(paint("… running: ", "90") + text.joined(separator: ", "))
    }

    func record(_ event: RunEvent, runID: String) {
        let step = event.step ?? ""
        let host = event.host.map { " on \($0)" } ?? ""
        switch event {
        case .runStarted(let e):
            write("run \(runID) started: \(e.runbook) against \(e.inventory), mode \(e.mode)")
        case .runResumed:
            write("run \(runID) resumed")
        case .preconditionPassed(let e):
            write(paint("✓", "32") + " precondition \(step)\(host): \(e.summary)")
        case .preconditionFailed(let e):
            write(paint("✗", "31") + " precondition \(step)\(host) FAILED: \(e.summary)")
        case .stepStarted(let e):
            running.withLock { $0[step] = (event.host ?? "", Date()) }
            write("→ \(step)\(host) (\(e.actionType))")
        case .stepRetry(let e):
            write(paint("↻", "33") + " \(step)\(host): attempt \(e.attempt) of \(e.of) after: \(e.error)")
        case .stepFinished(let e):
            finished(step, host: host, state: e.state.rawValue, detail: e.error ?? e.summary ?? "", mark: e.state)
        case .stepVerified(let e):
            finished(step, host: host, state: "done", detail: e.summary, mark: nil)
        case .stepSkipped(let e):
            write(paint("-", "90") + " \(step)\(host): skipped — \(e.reason)")
        case .gateWaiting(let e):
            if e.gate == .approval {
                write(paint("⏸", "35") + " gate \(step): \(e.prompt ?? "") — answer: \(e.answerWith ?? "")")
            } else {
                write(paint("⏸", "35") + " gate \(step): waiting until its condition holds")
            }
        case .gatePoll(let e):
            if let error = e.error {
                write("  \(step) poll \(e.poll): \(error)")
            } else {
                let holds = e.holds.map { "\($0)" } ?? ""
                write("  \(step) poll \(e.poll): \(e.condition ?? "") is \(holds) — \(e.observed ?? "")")
            }
        case .approval(let e):
            write(paint("✓", "32") + " gate \(step) \(e.decision.rawValue) by \(e.by): \(e.reason)")
        case .rollbackStarted(let e):
            let steps = e.steps.isEmpty ? "nothing to undo" : e.steps.joined(separator: ",")
            let what = e.item.map { " item [\($0)] only" } ?? ""
            write(paint("↩ rolling back\(what)", "33") + " (\(e.reason)): \(steps)")
        case .undoFinished(let e):
            let mark = e.state == .undone ? paint("↩", "33") : paint("✗", "31")
            let detail = e.error ?? e.summary
            write(mark + " \(step)\(host): \(e.state.rawValue)\(detail.map { " — \($0)" } ?? "")")
        case .rollbackSkipped(let e):
            write(paint("!", "31") + " \(step)\(host): not undone — \(e.reason)")
        case .rollbackFinished(let e):
            let undone = e.undone.isEmpty ? "nothing" : e.undone.joined(separator: ",")
            let stopped = e.stoppedAt.isEmpty ? "" : "; stopped at commit point \(e.stoppedAt)"
            if e.failed > 0 {
                write(
                    paint("ROLLBACK INCOMPLETE", "31")
                        + ": \(e.failed) undo\(e.failed == 1 ? "" : "s") failed; undone \(undone)\(stopped)")
            } else {
                write("rollback finished: undone \(undone)\(stopped)")
            }
        case .runBudgetExceeded(let e):
            let wait =
                e.running == 0
                ? ""
                : "; \(e.running) running step\(e.running == 1 ? "" : "s") finish\(e.running == 1 ? "es" : "") first"
            write(paint("budget exceeded", "31") + ": \(e.summary)\(wait)")
        case .runStopping(let e):
            write(
                paint("stopping", "33")
                    + ": signal \(e.signal); no new steps; running commands get \(e.graceSeconds)s")
        case .objectiveMeasured(let e):
            let mark = e.met == true ? paint("✓", "32") : paint("✗", "31")
            write(mark + " objective " + e.summary)
        case .notifySent(let e):
            write(paint("✉", "90") + " notified \(e.sink) of \(e.event) (\(e.detail))")
        case .notifyFailed(let e):
            write(
                paint("✉ notify \(e.sink) failed", "33")
                    + " for \(e.event) after \(e.attempts) attempt\(e.attempts == 1 ? "" : "s"): \(e.detail) (the run goes on)"
            )
        case .runFinished, .runParked, .undoStarted:
            break
        case .approvalRefused(let e):
            write(paint("✗", "31") + " gate \(step): approval by \(e.by) refused — \(e.reason)")
        case .epochRead(let e):
            write("epoch fence: newest epoch \(e.basis); this run writes epoch \(e.epoch)")
        case .epochRefused(let e):
            write(paint("✗", "31") + " \(e.action) refused by the epoch fence: \(e.reason)")
        }
    }

    /// A step's end: its mark, state, time since it started, and detail.
    func finished(_ step: String, host: String, state: String, detail: String, mark: StepState?) {
        let since = running.withLock { $0.removeValue(forKey: step)?.since }
        let elapsed = since.map { String(format: " %.1fs", Date().timeIntervalSince($0)) } ?? ""
        let symbol: String
        switch mark {
        case .succeeded: symbol = paint("+", "32")
        case .alreadyDone: symbol = paint("=", "34")
        case .failed: symbol = paint("✗", "31")
        default: symbol = "·"
        }
        write("\(symbol) \(step)\(host): \(state)\(elapsed)\(detail.isEmpty ? "" : " — \(detail)")")
    }
}

/// The closing table of a run: each step instance, its host, state and duration (the step's
/// own, from its start to its end; a gate's is how long it waited). `run`: how the run ended
/// (a step still pending then shows as `not run`). A note longer than the column is cut with
/// `…`: the failure follows the table whole.
func summaryTable(
    _ steps: [StepRecord], color: Bool, run: RunStatus = .running, idle: [(start: Date, end: Date)] = []
) -> String {
    guard !steps.isEmpty else { return "" }
    let rows = steps.map { step -> [String] in
        let duration: String
        if let start = step.startedAt, let end = step.finishedAt {
            // A step re-verified after a resume: not the time parked in between (`idle`).
            duration = String(format: "%.1fs", ReportText.stepSeconds(step, start: start, end: end, idle: idle))
        } else {
            duration = ""
        }
        let first = (step.error ?? "").split(separator: "\n").first.map(String.init) ?? ""
        let note = first.count > 70 ? String(first.prefix(69)) + "…" : first
        // A failed step stays a failure once rolled back: `failed, undone`, its error beside it.
        let changed = step.changed ? (step.state == .undone ? "undone" : "yes") : ""
        return [step.nodeID, step.host ?? "", ReportText.state(step, of: run), changed, duration, note]
    }
    let header = ["STEP", "HOST", "STATE", "CHANGED", "TIME", "NOTE"]
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, cell in
            i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }
        .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
}

extension ProgressReporter {
    /// What the dry run probes, as it does (on stderr): a line per host when its check starts
    /// and when it answers (or does not), then one when the steps' probes start. On a terminal
    /// the lines are coloured and timed from the start; otherwise they are timestamped.
    static func probeProgress(tty: Bool, color: Bool) -> @Sendable (LivePlanner.Progress) -> Void {
        let started = Date()
        return { progress in
            func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
            let line: String
            switch progress {
            case .checking(let host, let address):
                line = "probing \(host)\(address == host ? "" : " (\(address))") …"
            case .reachable(let host, let seconds):
                line = paint("✓", "32") + " \(host) answered in " + String(format: "%.1fs", seconds)
            case .unreachable(let host, let why):
                line = paint("✗ \(host) is UNREACHABLE", "31") + ": \(why)"
            case .probingSteps(let hosts):
                line = "probing what each step would change on \(hosts) host\(hosts == 1 ? "" : "s") …"
            }
            let stamp =
                tty
                ? paint(String(format: "[%6.1fs]", Date().timeIntervalSince(started)), "90")
                : JournalTimestamp.format(Date())
            Terminal.writeError("\(stamp) \(line)\n")
        }
    }
}
