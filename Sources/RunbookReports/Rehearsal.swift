import Foundation
import RunbookCore
import RunbookExecution

// A run as a rehearsal report shows it (`runbook report`, `run --report-dir`): the verdict, the
// objectives against what was measured, a timeline, approvals, probes, evidence and the trend of
// earlier runs of the same runbook, inventory and mode. Built from the journal alone; the
// renderers are in Rehearsal+HTML, Rehearsal+Markdown and Rehearsal+JSON.

public struct Rehearsal {
    public var report: RunReport
    public var verdict: Verdict
    public var objectives: [RunEvent.ObjectiveMeasured]
    /// From start to the end of work, and the part of it spent waiting for people (the plan's confirmation, approval gates).
    public var elapsed: TimeInterval
    public var waited: TimeInterval
    public var timeline: [Bar]
    public var probes: [Probe]
    /// Earlier runs of the same runbook, inventory and mode, oldest first, this one last.
    public var trend: [TrendPoint]

    public var run: RunRecord { report.run }
    public var machine: TimeInterval { max(0, elapsed - waited) }

    /// What the run proved, in one word and one line.
    public struct Verdict: Equatable {
        public enum Kind: String {
            case passed, objectiveMissed, failed, preconditionFailed, locked, parked, interrupted, running
        }
        public var kind: Kind
        public var title: String
        public var detail: String

        public var passed: Bool { kind == .passed }
    }

    /// One step instance on the timeline.
    public struct Bar {
        public enum Kind: String { case machine, waiting }
        public var node: String
        public var host: String
        public var state: StepState
        /// `ReportText.outcome`: a failed step rolled back since is `failed, undone`.
        public var outcome: String
        /// The step failed (rolled back since or not): drawn red.
        public var failed: Bool
        public var start: Date
        public var end: Date
        /// When it was at work: its attempts (a step re-verified on resume has two spans, the
        /// time parked between them is not its own); a gate's whole span.
        public var segments: [(start: Date, end: Date)]
        /// An approval gate's span is people's time (`waiting`); everything else is machine time.
        public var kind: Kind

        public var busy: TimeInterval { segments.reduce(0) { $0 + $1.end.timeIntervalSince($1.start) } }
    }

    public struct Probe {
        public var node: String
        public var host: String
        public var type: String
        public var state: String
        public var expect: String?
        /// `name = value` per output, or the precondition's summary.
        public var observed: [String]
    }

    public struct TrendPoint {
        public var runID: String
        public var startedAt: Date
        public var verdict: Verdict.Kind
        public var exitCode: Int?
        /// The `rto` objective's measured seconds, or the machine time when there is none.
        public var rto: Double?
        public var rtoIsMachineTime: Bool
        public var rpo: Double?
    }

    // MARK: Loading

    /// How many earlier runs the trend looks at (the newest of the same runbook, inventory and mode).
    public static let trendLimit = 20

    public static func load(_ report: RunReport, journal: (any RunJournal)?, notice: Verdict? = nil) -> Rehearsal {
        let plan = RunReport.plan(report.run)
        let gates = RunReport.planGates(report.run) ?? [:]
        let approvalGates = Set(gates.filter { $0.value.type == .approval }.map(\.key))
        let end = report.endOfWork
        let confirmation = ObjectiveMeasurer.confirmation(startedAt: report.run.startedAt, events: report.events)
        let waited = ObjectiveMeasurer.waited(
            steps: report.steps, approvalGates: approvalGates, end: end, confirmation: confirmation)
        let objectives = measurements(report.events)
        var rehearsal = Rehearsal(
            report: report,
            verdict: notice
                ?? verdict(
                    report.run, objectives: objectives, steps: report.steps,
                    preconditionFailures: report.events.compactMap {
                        guard case .preconditionFailed(let p)? = $0.event else { return nil }
                        return "\(p.step ?? "?") on \(p.host ?? "?"): \(p.summary)"
                    }, deadlines: plan.map { GateDeadline.waiting(report.steps, nodes: $0.steps) } ?? [],
                    now: report.now),
            objectives: objectives,
            elapsed: max(0, end.timeIntervalSince(report.run.startedAt)), waited: waited,
            timeline: timeline(report, approvalGates: approvalGates, confirmation: confirmation),
            probes: probes(report, plan: plan), trend: [])
        rehearsal.trend = (journal.map { trend(of: report.run, in: $0) } ?? []) + [rehearsal.point]
        return rehearsal
    }

    public static func measurements(_ events: [EventRecord]) -> [RunEvent.ObjectiveMeasured] {
        // A resumed run that ended twice (failed, then resumed to the end) keeps the last measurement.
        var byName: [String: RunEvent.ObjectiveMeasured] = [:]
        var order: [String] = []
        for record in events {
            guard case .objectiveMeasured(let m)? = record.event else { continue }
            if byName[m.name] == nil { order.append(m.name) }
            byName[m.name] = m
        }
        return order.compactMap { byName[$0] }
    }

    public static func verdict(
        _ run: RunRecord, objectives: [RunEvent.ObjectiveMeasured], steps: [StepRecord] = [],
        preconditionFailures: [String] = [], deadlines: [GateDeadline] = [], now: Date = Date()
    ) -> Verdict {
        let missed = objectives.filter { $0.met != true }
        switch run.status {
        case .succeeded where missed.isEmpty:
            let met =
                objectives.isEmpty
                ? "" : ": \(objectives.count == 1 ? "its objective" : "all \(objectives.count) objectives") met"
            return Verdict(kind: .passed, title: "PASSED", detail: "Every step succeeded\(met).")
        case .succeeded:
            return Verdict(
                kind: .objectiveMissed, title: "OBJECTIVE MISSED",
                detail: "Every step succeeded, but: " + missed.map(\.summary).joined(separator: "; ") + ".")
        case .failed where run.exitCode == 3:
            let why = preconditionFailures.prefix(5).map(Self.brief).joined(separator: "; ")
            return Verdict(
                kind: .preconditionFailed, title: "PRECONDITION FAILED",
                detail: "A precondition did not hold, so nothing was changed\(why.isEmpty ? "" : ": " + why).")
        case .failed, .rolledBack, .rollbackFailed:
            let how =
                run.status == .rolledBack
                ? " and was rolled back" : run.status == .rollbackFailed ? "; its rollback did not complete" : ""
            // Which steps, and why: the first line of each error, at most five. A step that failed
            // and was rolled back since is named with its failure, the rollback beside it.
            let failed = steps.filter { ReportText.failure($0) != nil || $0.state == .undoFailed }
            let why = failed.prefix(5).map { step in
                let message = ReportText.firstLine(ReportText.failure(step) ?? step.error) ?? step.state.rawValue
                let beside = step.state == .failed ? "" : " (\(ReportText.outcome(step)))"
                return "\(step.nodeID)\(step.host.map { " on \($0)" } ?? ""): \(message)\(beside)"
            }
            let more = failed.count > 5 ? "; and \(failed.count - 5) more" : ""
            // A per-item precondition that failed left its item out (exit 1, not 3): say which.
            let leftOut = preconditionFailures.prefix(5).map { "precondition \(Self.brief($0))" }
            let reasons = why + leftOut
            let detail = reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; ") + more
            return Verdict(kind: .failed, title: "FAILED", detail: "The run failed\(how)\(detail).")
        case .parked:
            // When each waiting gate times out, and what happens then.
            let when = deadlines.map { " Gate \($0.gate) \($0.describe(now: now))." }.joined()
            return Verdict(kind: .parked, title: "PARKED", detail: "The run waits at an approval gate.\(when)")
        case .interrupted:
            return Verdict(kind: .interrupted, title: "INTERRUPTED", detail: "The run was interrupted by a signal.")
        case .running:
            return Verdict(kind: .running, title: "RUNNING", detail: "The run has not ended yet.")
        }
    }

    /// A precondition's failure as the verdict gives it: where and the runbook's message, up to
    /// the ` (expect: ...; observed: ...)` a failed expectation goes on with (every output of the
    /// probe), which the Probes section shows whole; anything else cut after 400 characters.
    public static func brief(_ failure: String) -> String {
        if let cut = failure.range(of: " (expect: ") {
            // The probe's own summary follows the observations: `...); TYPE on HOST: SUMMARY`.
            let pattern = try? NSRegularExpression(pattern: #"\); [a-z][a-z0-9_.]* on [^ :]+: "#)
            let whole = NSRange(failure.startIndex..., in: failure)
            let last = pattern?.matches(in: failure, range: whole).last.flatMap { Range($0.range, in: failure) }
            let summary = last.map { "; " + failure[failure.index($0.lowerBound, offsetBy: 3)...] } ?? ""
            return String(failure[..<cut.lowerBound]) + summary
                + " (the expectation and what was observed: under Probes)"
        }
        return failure.count <= 400 ? failure : String(failure.prefix(400)) + "… (whole under Probes)"
    }

    public static func timeline(
        _ report: RunReport, approvalGates: Set<String>, confirmation: (Date, Date)? = nil
    ) -> [Bar] {
        var bars: [Bar] = []
        let attempts = Dictionary(grouping: report.attempts, by: \.nodeID)
        for step in report.steps {
            guard let first = step.firstReachedAt ?? step.startedAt else { continue }
            let last = max(first, step.finishedAt ?? report.endOfWork)
            let isGate = step.firstReachedAt != nil || approvalGates.contains(step.nodeID)
            var segments: [(start: Date, end: Date)] = []
            if !isGate {
                // Attempts that touch or overlap are one span.
                for attempt in (attempts[step.nodeID] ?? []).sorted(by: { $0.startedAt < $1.startedAt }) {
                    let end = max(attempt.startedAt, attempt.finishedAt ?? report.endOfWork)
                    if let open = segments.last, attempt.startedAt.timeIntervalSince(open.end) < 0.05 {
                        segments[segments.count - 1].end = max(open.end, end)
                    } else {
                        segments.append((attempt.startedAt, end))
                    }
                }
            }
            if segments.isEmpty { segments = [(first, last)] }
            bars.append(
                Bar(
                    node: step.nodeID, host: step.host ?? "(gate)", state: step.state,
                    outcome: ReportText.outcome(step),
                    failed: ReportText.failure(step) != nil || step.state == .undoFailed,
                    start: segments.map(\.start).min() ?? first, end: segments.map(\.end).max() ?? last,
                    segments: segments, kind: approvalGates.contains(step.nodeID) ? .waiting : .machine))
        }
        // The plan's confirmation, when somebody was asked: people's time before the first step.
        if let (asked, answered) = confirmation {
            bars.append(
                Bar(
                    node: "(confirm the plan)", host: "localhost", state: .succeeded, outcome: "answered",
                    failed: false, start: asked, end: answered, segments: [(asked, answered)], kind: .waiting))
        }
        // Per host, in the order the steps started.
        return bars.sorted { ($0.host, $0.start, $0.node) < ($1.host, $1.start, $1.node) }
    }

    public static func probes(_ report: RunReport, plan: PlanDocument?) -> [Probe] {
        var nodes: [String: PlanNode] = [:]
        for node in (plan?.preconditions ?? []) + (plan?.steps ?? []) { nodes[node.id] = node }
        var result: [Probe] = []
        // Preconditions: their journaled results.
        for record in report.events {
            switch record.event {
            case .preconditionPassed(let p)?, .preconditionFailed(let p)?:
                let passed = record.type == "precondition.passed"
                result.append(
                    Probe(
                        node: p.step ?? "", host: p.host ?? "", type: nodes[p.step ?? ""]?.typeName ?? "precondition",
                        state: passed ? "passed" : "FAILED", expect: nodes[p.step ?? ""]?.expect,
                        observed: [p.summary]))
            default: continue
            }
        }
        // An `until` gate runs on the controller, its probe on a node: the host its last poll read.
        var polledOn: [String: String] = [:]
        for record in report.events {
            if case .gatePoll(let poll)? = record.event, let step = poll.step, let host = poll.host {
                polledOn[step] = host
            }
        }
        for step in report.steps {
            guard let node = nodes[step.nodeID],
                node.kind == .probe || (node.kind == .gate && node.gate?.type == .until)
            else { continue }
            let outputs = ValueJSON.decode(step.outputsJSON).sorted { $0.key < $1.key }.flatMap {
                observedLines($0.key, $0.value)
            }
            result.append(
                Probe(
                    node: step.nodeID, host: polledOn[step.nodeID] ?? step.host ?? node.host, type: node.typeName,
                    state: step.state.rawValue,
                    expect: node.expect ?? node.gate?.condition,
                    observed: outputs.isEmpty ? [step.error ?? "(no outputs)"] : outputs))
        }
        return result
    }

    /// One output as people read it: `key = value`; a list of records (a status probe's
    /// `workers`) one line per element, `key[0]: field=value, ...` without its null fields;
    /// fractions to the millisecond.
    public static func observedLines(_ key: String, _ value: Value) -> [String] {
        if case .list(let items) = value, !items.isEmpty,
            items.allSatisfy({ if case .map = $0 { return true } else { return false } })
        {
            return items.enumerated().map { "\(key)[\($0.offset)]: \(observedText($0.element))" }
        }
        return ["\(key) = \(observedText(value))"]
    }

    public static func observedText(_ value: Value) -> String {
        switch value {
        case .double(let number) where number.isFinite && number != number.rounded():
            var text = String(format: "%.3f", number)
            while text.hasSuffix("0") { text.removeLast() }
            return text
        case .map(let fields):
            return fields.filter { $0.value != .null }.sorted { $0.key < $1.key }.map {
                "\($0.key)=\(observedText($0.value))"
            }.joined(separator: ", ")
        default:
            return value.renderedForText
        }
    }

    /// This run as a point of a trend.
    public var point: TrendPoint {
        Self.point(run, objectives: objectives, machine: machine, verdict: verdict.kind)
    }

    public static func point(
        _ run: RunRecord, objectives: [RunEvent.ObjectiveMeasured], machine: Double?, verdict: Verdict.Kind
    )
        -> TrendPoint
    {
        let rtoObjective = objectives.first { $0.name.lowercased() == "rto" }
        let rpo = objectives.first { $0.name.lowercased() == "rpo" }?.value
        // Without an rto objective, a run that did all its steps recovered in its machine time.
        let machineTime = rtoObjective == nil && run.status == .succeeded ? machine : nil
        return TrendPoint(
            runID: run.id, startedAt: run.startedAt, verdict: verdict, exitCode: run.exitCode,
            rto: rtoObjective?.value ?? machineTime, rtoIsMachineTime: rtoObjective == nil, rpo: rpo)
    }

    /// The earlier runs of the same runbook, inventory and mode, oldest first.
    public static func trend(of run: RunRecord, in journal: any RunJournal) -> [TrendPoint] {
        guard let runs = try? journal.runs(limit: 500) else { return [] }
        let earlier = runs.filter {
            $0.id != run.id && $0.runbookName == run.runbookName && $0.inventoryName == run.inventoryName
                && $0.mode == run.mode && $0.startedAt <= run.startedAt
        }
        .prefix(trendLimit)
        return earlier.reversed().map { other in
            let events = (try? journal.events(runID: other.id)) ?? []
            let objectives = measurements(events)
            let steps = (try? journal.steps(runID: other.id)) ?? []
            let gates = RunReport.planGates(other) ?? [:]
            let end = other.finishedAt ?? max(other.updatedAt, other.startedAt)
            let waited = ObjectiveMeasurer.waited(
                steps: steps, approvalGates: Set(gates.filter { $0.value.type == .approval }.map(\.key)), end: end,
                confirmation: ObjectiveMeasurer.confirmation(startedAt: other.startedAt, events: events))
            let machine = max(0, end.timeIntervalSince(other.startedAt) - waited)
            return point(
                other, objectives: objectives, machine: machine, verdict: verdict(other, objectives: objectives).kind)
        }
    }
}

extension Rehearsal {
    /// A report for a run that could not start at all (its lock was held): no journaled run, so
    /// the record is made up from what is known, and the trend comes from the journal.
    public static func notStarted(
        runID: String, runbook: String, runbookPath: String, inventory: String, inventoryPath: String, mode: String,
        why: String, exitCode: Int, journal: (any RunJournal)?
    ) -> Rehearsal {
        let now = Date()
        var record = RunRecord(
            id: runID, runbookName: runbook, runbookPath: runbookPath, inventoryName: inventory,
            inventoryPath: inventoryPath, mode: mode, paramsJSON: "{}", planHash: "", planJSON: "", pid: getpid(),
            hostname: RunLock.currentHostname(), startedAt: now)
        record.status = .failed
        record.exitCode = exitCode
        record.finishedAt = now
        let report = RunReport(
            run: record, steps: [], attempts: [], approvals: [], events: [], chain: .ok(eventCount: 0), now: now)
        return load(
            report, journal: journal, notice: Verdict(kind: .locked, title: "NOT RUN: LOCKED", detail: why))
    }
}
