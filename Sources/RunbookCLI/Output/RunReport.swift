import ArgumentParser
import Foundation
import RunbookCore
import RunbookExecution

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Shared by the read-side commands (`status`, `history`, `show`, `approve`): opening the journal,
// resolving run ids, and formatting runs, steps and attempts as text, JSON and JUnit XML.

// MARK: - Errors

/// Prints `runbook: error: MESSAGE` to stderr and returns the exit code to throw.
func reportFailure(_ message: String, exit code: ExitCode = RunbookExit.failed) -> ExitCode {
    Terminal.writeError("runbook: error: \(message)\n")
    return code
}

// MARK: - Opening the journal

/// The state directory and its journal, as the read-side commands use them.
struct JournalAccess {
    let state: StateDirectory
    /// Nil when no run has ever been journaled in this state directory (no journal file).
    let journal: Journal?

    var journalPath: String { state.journalPath }

    /// Resolves `$RUNBOOK_STATE_DIR` (or its defaults) and opens the journal if it exists.
    ///
    /// Never creates a journal: a command that only reads must not leave an empty database behind.
    /// Without `writable` nothing is written at all (not even the state directory's mode), so
    /// `status`, `history` and `show` work on a full disk and on a read-only journal.
    static func open(environment: [String: String] = ProcessInfo.processInfo.environment, writable: Bool = false) throws
        -> JournalAccess
    {
        let state: StateDirectory
        do {
            state = writable
                ? try StateDirectory(environment: environment) : try StateDirectory.resolved(environment: environment)
        } catch let failure as StateDirectory.Failure {
            if let resolved = try? StateDirectory.resolved(environment: environment), resolved.diskIsFull {
                throw reportFailure(resolved.diskFullMessage)
            }
            throw reportFailure("\(failure); the state directory holds the journal of every run (RUNBOOK_STATE_DIR selects it)")
        }
        guard FileManager.default.fileExists(atPath: state.journalPath) else {
            return JournalAccess(state: state, journal: nil)
        }
        do {
            let journal = try Journal(
                path: state.journalPath, redactor: Redactor(secrets: []), access: writable ? .readWrite : .readOnly)
            if let bytes = journal.unreadLogBytes {
                let why = state.diskIsFull ? " (the disk is full)" : ""
                Terminal.writeError(
                    "runbook: warning: read \(state.journalPath) without its log (\(bytes) bytes in "
                        + "\(state.journalPath)-wal), which cannot be opened without writing\(why): what a run wrote "
                        + "last may be missing until the log can be read\n")
            }
            return JournalAccess(state: state, journal: journal)
        } catch {
            throw reportFailure(JournalAccess.openFailure(error, state: state, writing: writable))
        }
    }

    /// Why a journal could not be opened, and what to do: a full disk named as such, a
    /// read-only journal or a busy one told apart from a file that is not a journal.
    static func openFailure(_ error: any Error, state: StateDirectory, writing: Bool) -> String {
        let path = state.journalPath
        if state.diskIsFull { return "cannot open the journal \(path): " + state.diskFullMessage }
        if let failure = error as? StateDirectory.Failure {
            return "\(failure); the state directory holds the journal of every run (RUNBOOK_STATE_DIR selects it)"
        }
        if let journalError = error as? JournalError { return "\(journalError)" }
        switch Journal.failureKind(of: error) {
        case .diskFull:
            return "cannot open the journal \(path): " + state.diskFullMessage
        case .readOnly where writing:
            return "cannot write the journal \(path): it or the state directory \(state.root) is read-only (\(error)); "
                + "`runbook status`, `history` and `show` still read it; make it writable (owner, mode, mount), "
                + "or set RUNBOOK_STATE_DIR to another state directory"
        case .busy:
            return "the journal \(path) is busy: another runbook process held it for more than 5 s; try again"
        default:
            break
        }
        return "cannot open the journal \(path): \(error); check that it is a runbook journal "
            + "(RUNBOOK_STATE_DIR selects another state directory)"
    }

    /// The journal, or an error saying that no run was ever started here.
    func requireJournal(for runPrefix: String) throws -> Journal {
        guard let journal else {
            throw reportFailure("no run '\(runPrefix)': the state directory \(state.root) has no journal yet (no run was started with it); if the run was started elsewhere, set RUNBOOK_STATE_DIR to that state directory")
        }
        return journal
    }

    /// The run whose id is `prefix` or uniquely starts with it; prints why not and throws exit 1.
    func resolveRun(_ prefix: String) throws -> RunRecord {
        let journal = try requireJournal(for: prefix)
        do {
            let id = try journal.resolveRunID(prefix: prefix)
            guard let run = try journal.run(id: id) else {
                throw JournalError.runNotFound(id)
            }
            return run
        } catch let error as JournalError {
            switch error {
            case .noRunMatches, .runNotFound:
                throw reportFailure("\(error) in the journal \(journalPath); `runbook history` lists the runs")
            case .ambiguousRunID:
                throw reportFailure("\(error); give more characters of the run id")
            default:
                throw reportFailure("cannot read the journal \(journalPath): \(error)")
            }
        } catch let code as ExitCode {
            throw code
        } catch {
            throw reportFailure("cannot read the journal \(journalPath): \(error)")
        }
    }

    /// Runs a journal read, turning a failure into a message and exit 1.
    func reading<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let code as ExitCode {
            throw code
        } catch {
            throw reportFailure("cannot read \(what) from the journal \(journalPath): \(error)")
        }
    }
}

// MARK: - One run, loaded

/// Everything the journal holds about one run.
struct RunReport {
    var run: RunRecord
    var steps: [StepRecord]
    var attempts: [AttemptRecord]
    var approvals: [ApprovalRecord]
    var events: [EventRecord]
    var chain: ChainVerification
    /// When the report was made (for the elapsed time of unfinished things).
    var now: Date

    static func load(_ run: RunRecord, from journal: Journal, now: Date = Date()) throws -> RunReport {
        RunReport(
            run: run,
            steps: try journal.steps(runID: run.id),
            attempts: try journal.attempts(runID: run.id),
            approvals: try journal.approvals(runID: run.id),
            events: try journal.events(runID: run.id),
            chain: try journal.verifyChain(runID: run.id),
            now: now)
    }

    /// Where the run's work ends for the time of unfinished steps: when it finished, now while it
    /// runs, or its last update when it stopped without finishing (parked, interrupted).
    var endOfWork: Date {
        if let finished = run.finishedAt { return finished }
        return run.status == .running ? now : max(run.updatedAt, run.startedAt)
    }

    // MARK: Plan facts

    /// What the stored plan says about one gate.
    struct PlanGate {
        var type: String
        var prompt: String?
        /// Who may answer it; empty when anyone may (or the plan does not say).
        var approvers: [String]
    }

    /// The gate steps of the run's plan, by node id.
    ///
    /// Read from the plan JSON stored with the run: `plan.steps[]` as `runbook run` journals it
    /// (the plan object of `plan --format json` inside `{"plan": ..., "mode": ..., ...}`), or a bare
    /// `steps[]`; a step is a gate when its `kind` is `gate`. Nil when the stored plan has neither.
    static func planGates(_ run: RunRecord) -> [String: PlanGate]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(run.planJSON.utf8)) as? [String: Any] else { return nil }
        let plan = object["plan"] as? [String: Any] ?? object
        guard let steps = plan["steps"] as? [[String: Any]] else { return nil }
        var gates: [String: PlanGate] = [:]
        for step in steps where step["kind"] as? String == "gate" {
            guard let id = step["id"] as? String else { continue }
            let gate = step["gate"] as? [String: Any]
            gates[id] = PlanGate(
                type: gate?["type"] as? String ?? "approval",
                prompt: gate?["prompt"] as? String,
                approvers: gate?["approvers"] as? [String] ?? [])
        }
        return gates
    }

    /// The node ids of the run that are gates: from the plan when it says, otherwise every step
    /// without a host (gate node ids are plain step ids) plus any step that is waiting.
    static func gateNodeIDs(run: RunRecord, steps: [StepRecord]) -> [String] {
        if let gates = planGates(run) {
            return steps.map(\.nodeID).filter { gates[$0] != nil }
        }
        return steps.filter { $0.state == .waiting || ($0.host == nil && $0.nodeID == $0.stepID) }.map(\.nodeID)
    }
}

// MARK: - The process driving a run

/// Whether the process recorded as driving a run still exists.
enum ProcessLiveness: Equatable {
    case alive
    case gone
    /// It ran on another machine: its pid means nothing here.
    case otherHost(String)

    static func of(_ run: RunRecord) -> ProcessLiveness {
        let here = RunLock.currentHostname()
        guard run.hostname == here else { return .otherHost(run.hostname) }
        return LockHolder(runID: run.id, hostname: run.hostname, pid: run.pid, startedAt: run.startedAt).processExists
            ? .alive : .gone
    }

    /// `pid 4242 on ops-1, alive` and the like.
    func describe(_ run: RunRecord) -> String {
        switch self {
        case .alive: return "pid \(run.pid) on \(run.hostname), alive"
        case .gone: return "pid \(run.pid) on \(run.hostname), no longer running"
        case .otherHost(let host): return "pid \(run.pid) on \(host) (another host: cannot check it from here)"
        }
    }
}

/// Who `approve` records when `--by` is not given: `$SUDO_USER`, then `$USER`, then `unknown`.
func defaultApprover(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    for key in ["SUDO_USER", "USER"] {
        if let value = environment[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { return value }
    }
    return "unknown"
}

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
        let total = Int(value.rounded(.down))
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

// MARK: - JSON

enum RunReportJSON {
    static func render(_ report: RunReport) -> String {
        let object: [String: Any] = [
            "version": 1,
            "run": run(report.run, now: report.now),
            "steps": report.steps.map(step),
            "attempts": report.attempts.map(attempt),
            "approvals": report.approvals.map(approval),
            "events": report.events.map(event),
            "chain": chain(report.chain, eventCount: report.events.count),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func date(_ date: Date?) -> Any {
        date.map(JournalTimestamp.format) ?? NSNull()
    }

    static func optional(_ value: Any?) -> Any { value ?? NSNull() }

    /// Stored JSON text as a JSON value; text that is not JSON stays a string.
    static func embedded(_ text: String?) -> Any {
        guard let text else { return NSNull() }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
    }

    static func seconds(_ start: Date?, _ end: Date?) -> Any {
        guard let start, let end else { return NSNull() }
        return (end.timeIntervalSince(start) * 1000).rounded() / 1000
    }

    static func run(_ run: RunRecord, now: Date) -> [String: Any] {
        [
            "id": run.id,
            "runbook": run.runbookName,
            "runbookPath": run.runbookPath,
            "inventory": run.inventoryName,
            "inventoryPath": run.inventoryPath,
            "mode": run.mode,
            "status": run.status.rawValue,
            "exitCode": optional(run.exitCode),
            "params": embedded(run.paramsJSON),
            "planHash": run.planHash,
            "pid": Int(run.pid),
            "hostname": run.hostname,
            "startedAt": date(run.startedAt),
            "updatedAt": date(run.updatedAt),
            "finishedAt": date(run.finishedAt),
            "durationSeconds": seconds(run.startedAt, run.finishedAt),
        ]
    }

    static func step(_ step: StepRecord) -> [String: Any] {
        [
            "node": step.nodeID,
            "step": step.stepID,
            "host": optional(step.host),
            "state": step.state.rawValue,
            "changed": step.changed,
            "completionSeq": optional(step.completionSeq),
            "observed": embedded(step.observedJSON),
            "outputs": embedded(step.outputsJSON),
            "error": optional(step.error),
            "attempts": step.attempts,
            "startedAt": date(step.startedAt),
            "finishedAt": date(step.finishedAt),
            "firstReachedAt": date(step.firstReachedAt),
            "durationSeconds": seconds(step.startedAt, step.finishedAt),
        ]
    }

    static func attempt(_ attempt: AttemptRecord) -> [String: Any] {
        [
            "id": Int(attempt.id),
            "node": attempt.nodeID,
            "phase": attempt.phase.rawValue,
            "number": attempt.number,
            "intent": attempt.intent,
            "startedAt": date(attempt.startedAt),
            "finishedAt": date(attempt.finishedAt),
            "durationSeconds": seconds(attempt.startedAt, attempt.finishedAt),
            "outcome": optional(attempt.outcome),
            "inFlight": attempt.isInFlight,
            "exitCode": optional(attempt.exitCode),
            "stdout": attempt.stdoutExcerpt,
            "stderr": attempt.stderrExcerpt,
            "error": optional(attempt.error),
        ]
    }

    static func approval(_ approval: ApprovalRecord) -> [String: Any] {
        [
            "gate": approval.gate,
            "decision": approval.decision.rawValue,
            "by": approval.by,
            "reason": approval.reason,
            "planHash": approval.planHash,
            "at": date(approval.at),
        ]
    }

    static func event(_ event: EventRecord) -> [String: Any] {
        [
            "seq": event.seq,
            "ts": date(event.ts),
            "type": event.type,
            "step": optional(event.step),
            "host": optional(event.host),
            "payload": embedded(event.payloadJSON),
            "prevHash": event.prevHash,
            "hash": event.hash,
        ]
    }

    static func chain(_ chain: ChainVerification, eventCount: Int) -> [String: Any] {
        switch chain {
        case .ok(let count):
            return ["intact": true, "eventCount": count, "brokenAtSeq": NSNull(), "reason": NSNull()]
        case .broken(let seq, let reason):
            return ["intact": false, "eventCount": eventCount, "brokenAtSeq": seq, "reason": reason.description]
        }
    }
}

// MARK: - JUnit XML

enum RunReportJUnit {
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

    enum Verdict { case passed, failed(String), skipped(String) }

    static func verdict(_ step: StepRecord) -> Verdict {
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

    static func render(_ report: RunReport) -> String {
        let run = report.run
        let suiteTime = report.endOfWork.timeIntervalSince(run.startedAt)
        var failures = 0, skipped = 0
        var cases = ""
        for step in report.steps {
            let start = step.startedAt ?? step.firstReachedAt
            let time = start.map { (step.finishedAt ?? report.endOfWork).timeIntervalSince($0) } ?? 0
            cases += "    <testcase classname=\"\(escape(run.runbookName))\" name=\"\(escape(step.nodeID))\" time=\"\(seconds(time))\">\n"
            switch verdict(step) {
            case .passed: break
            case .failed(let message):
                failures += 1
                cases += "      <failure message=\"\(escape(message))\" type=\"\(step.state.rawValue)\">\(escape(step.error ?? ""))</failure>\n"
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
        let tests = report.steps.count
        let counts = "tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\" time=\"\(seconds(suiteTime))\""
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"runbook\" \(counts)>\n"
        xml += "  <testsuite name=\"\(escape(run.runbookName))\" \(counts) timestamp=\"\(String(JournalTimestamp.format(run.startedAt).prefix(19)))\" hostname=\"\(escape(run.hostname))\">\n"
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
        out += "state: \(step.state.rawValue)\n"
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

// MARK: - Detailed text (`show`)

enum RunReportText {
    /// `event chain: 42 events, intact` or `event chain BROKEN at event 17: ...`.
    static func chainLine(_ chain: ChainVerification) -> String {
        switch chain {
        case .ok(let count):
            return "event chain: \(count) event\(count == 1 ? "" : "s"), intact"
        case .broken(let seq, let reason):
            return "event chain BROKEN at event \(seq): \(reason)"
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
            out += "  \(ReportText.paint(ReportText.symbol(step.state), ReportText.color(step.state), enabled: color)) \(step.nodeID)  \(step.state.rawValue)\n"
            var facts = ["host \(step.host ?? "-")", "\(step.attempts) attempt\(step.attempts == 1 ? "" : "s")"]
            if step.changed { facts.append("changed") }
            if let seq = step.completionSeq { facts.append("completed #\(seq)") }
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
            if stderr.more > 0 { out += "      stderr: … \(stderr.more) more line\(stderr.more == 1 ? "" : "s") (`runbook show \(run.id) --format json` has them)\n" }
            if let error = attempt.error, !error.isEmpty { out += "      error: \(ReportText.firstLine(error) ?? error)\n" }
        }

        out += "\napprovals (\(report.approvals.count)):\n"
        if report.approvals.isEmpty { out += "  none\n" }
        for approval in report.approvals {
            let planNote = approval.planHash == run.planHash ? "" : " (a different plan than this run's)"
            out += "  \(approval.gate): \(approval.decision.rawValue) by \(approval.by) at \(ReportText.timestamp(approval.at)), plan \(String(approval.planHash.prefix(19)))\(planNote)\n"
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
            out += "finished:   \(ReportText.timestamp(finished)) (took \(ReportText.duration(finished.timeIntervalSince(run.startedAt))))\n"
        } else {
            out += "elapsed:    \(ReportText.duration(now.timeIntervalSince(run.startedAt)))\n"
        }
        out += "process:    \(ProcessLiveness.of(run).describe(run))\n"
        return out
    }
}
