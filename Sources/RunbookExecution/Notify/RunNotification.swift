import Foundation
import RunbookCore

/// What a notify sink is told: one event of a run, as the JSON body of a webhook and the standard
/// input of a command. `text` is one line a person reads as it is (Slack, Mattermost and
/// Rocket.Chat show an incoming webhook's `text`); the other fields are for programs.
public struct RunNotification: Sendable, Equatable, Codable {
    /// An objective as measured when the run ended (a duration's values in seconds).
    public struct Objective: Sendable, Equatable, Codable {
        public var name: String
        /// The objective, as written (`10m`), and its value.
        public var max: String
        public var maxValue: Double
        /// `seconds` or `number`.
        public var unit: String
        /// What was measured (`2m3s`) and its value; nil when it could not be (`note` says why).
        public var measured: String?
        public var value: Double?
        public var met: Bool?
        public var note: String?

        enum CodingKeys: String, CodingKey {
            case name, max, unit, measured, value, met, note
            case maxValue = "max_value"
        }

        public init(_ measured: RunEvent.ObjectiveMeasured) {
            name = measured.name
            max = measured.max
            maxValue = measured.maxValue
            unit = measured.unit
            self.measured = measured.measured
            value = measured.value
            met = measured.met
            note = measured.note
        }
    }

    /// The version of this body's shape.
    public var v = 1
    public var event: NotifyEvent
    public var text: String
    public var run: String
    public var runbook: String
    public var inventory: String
    public var mode: String
    /// When the event happened (RFC 3339, UTC).
    public var at: String
    public var step: String?
    public var host: String?
    /// A waiting gate's prompt, as the run resolved it.
    public var prompt: String?
    /// When a waiting gate times out (RFC 3339), and what happens then.
    public var deadline: String?
    public var onTimeout: String?
    /// The command that answers a waiting approval gate.
    public var approveCommand: String?
    /// How the run ended, and its exit code.
    public var status: String?
    public var exitCode: Int32?
    /// Why: a failed precondition's or a failed run's first lines.
    public var summary: String?
    public var objectives: [Objective]?

    enum CodingKeys: String, CodingKey {
        case v, event, text, run, runbook, inventory, mode, at, step, host, prompt, deadline, status, summary,
            objectives
        case onTimeout = "on_timeout"
        case approveCommand = "approve_command"
        case exitCode = "exit_code"
    }

    /// The body as JSON (keys sorted), with every secret masked.
    public func json(redactor: Redactor) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return redactor.redactJSON(String(decoding: data, as: UTF8.self))
    }

    /// `RUNBOOK_EVENT`, `RUNBOOK_RUN_ID`, ... for a command sink (secrets masked).
    public func environment(redactor: Redactor) -> [String: String] {
        var env: [String: String] = [
            "RUNBOOK_EVENT": event.rawValue, "RUNBOOK_TEXT": text, "RUNBOOK_RUN_ID": run, "RUNBOOK_RUNBOOK": runbook,
            "RUNBOOK_INVENTORY": inventory, "RUNBOOK_MODE": mode, "RUNBOOK_AT": at,
        ]
        env["RUNBOOK_STEP"] = step
        env["RUNBOOK_HOST"] = host
        env["RUNBOOK_PROMPT"] = prompt
        env["RUNBOOK_DEADLINE"] = deadline
        env["RUNBOOK_APPROVE_COMMAND"] = approveCommand
        env["RUNBOOK_STATUS"] = status
        env["RUNBOOK_EXIT_CODE"] = exitCode.map(String.init)
        env["RUNBOOK_SUMMARY"] = summary
        return env.mapValues { redactor.redact($0) }
    }
}

/// Which notifications a run's events and its end make: pure, from the plan and what happened.
public struct NotificationBuilder: Sendable {
    public var runID: String
    public var plan: Plan

    public init(runID: String, plan: Plan) {
        self.runID = runID
        self.plan = plan
    }

    var who: String { "runbook \(plan.runbook.name.value) (run \(runID), inventory \(plan.inventory.name.value))" }

    func base(_ event: NotifyEvent, at: Date, text: String) -> RunNotification {
        RunNotification(
            event: event, text: text, run: runID, runbook: plan.runbook.name.value,
            inventory: plan.inventory.name.value, mode: plan.mode, at: JournalTimestamp.seconds(at))
    }

    /// The notification an event makes while the run goes (a waiting gate, a failed
    /// precondition, a missed objective), or nil.
    public func notification(for event: RunEvent, at: Date) -> RunNotification? {
        switch event {
        case .gateWaiting(let waiting):
            let step = waiting.step ?? "?"
            var note = base(.gateWaiting, at: at, text: "")
            note.step = waiting.step
            note.prompt = waiting.prompt
            note.approveCommand = waiting.answerWith
            var text = "\(who): gate \(step) is waiting"
            text += waiting.gate == .approval ? " for approval" : " for its condition"
            if let prompt = waiting.prompt, !prompt.isEmpty { text += ": \(prompt)" }
            if let node = plan.nodes.first(where: { $0.id == step }),
                let deadline = GateDeadline(node: node, firstReached: waiting.firstReached)
            {
                note.deadline = deadline.time
                note.onTimeout = deadline.onTimeout.rawValue
                text += ". It times out at \(deadline.time): then \(deadline.consequence)"
            }
            if let command = waiting.answerWith { text += ". Answer with: \(command)" }
            note.text = text
            return note
        case .preconditionFailed(let failed):
            var note = base(
                .preconditionFailed, at: at,
                text: "\(who): precondition \(failed.step ?? "?") failed on \(failed.host ?? "?"): \(failed.summary)")
            note.step = failed.step
            note.host = failed.host
            note.summary = failed.summary
            return note
        case .objectiveMeasured(let measured) where measured.met != true:
            let objective = RunNotification.Objective(measured)
            var text = "\(who): objective \(objective.name) "
            if let value = objective.measured {
                text += "missed: measured \(value), at most \(objective.max)"
            } else {
                text += "not measured (\(objective.note ?? "no value")), at most \(objective.max)"
            }
            var note = base(.objectiveMissed, at: at, text: text)
            note.objectives = [objective]
            return note
        default:
            return nil
        }
    }

    /// The notification of the run's end: `run.succeeded` (with its objectives), `run.failed`,
    /// `run.rolled_back` or `run.parked`.
    public func notification(
        ending outcome: RunOutcome, exitCode: Int32, objectives: [RunEvent.ObjectiveMeasured], at: Date
    ) -> RunNotification {
        let event: NotifyEvent
        var text: String
        var summary: String?
        switch outcome {
        case .succeeded:
            event = .runSucceeded
            text = "\(who): succeeded"
            if exitCode != 0 { text += " but missed an objective (exit \(exitCode))" }
        case .parked(let gates):
            event = .runParked
            text =
                "\(who): parked at \(gates.joined(separator: ", ")) (exit 4): answer with `runbook approve \(runID) GATE`, then `runbook resume \(runID)`"
        case .rolledBack(let why):
            event = .runRolledBack
            summary = why
            text = "\(who): rolled back (exit \(exitCode)): \(Self.firstLine(why))"
        case .failed(let why), .preconditionFailed(let why), .rollbackFailed(let why):
            event = .runFailed
            summary = why
            text = "\(who): failed (exit \(exitCode)): \(Self.firstLine(why))"
        case .interrupted(let signal):
            event = .runFailed
            summary = "stopped by signal \(signal)"
            text = "\(who): interrupted by signal \(signal) (exit \(exitCode)): `runbook resume \(runID)` goes on"
        }
        if outcome != .succeeded, !(event == .runParked) { text += "; see `runbook show \(runID)`" }
        var note = base(event, at: at, text: text)
        note.status = outcome.status.rawValue
        note.exitCode = exitCode
        note.summary = summary
        if !objectives.isEmpty {
            let measured = objectives.map(RunNotification.Objective.init)
            note.objectives = measured
            if event == .runSucceeded {
                note.text +=
                    "; "
                    + measured.map { objective in
                        let verdict = objective.met == true ? "met" : objective.met == false ? "missed" : "not measured"
                        return "\(objective.name) \(objective.measured ?? "?") (at most \(objective.max), \(verdict))"
                    }.joined(separator: "; ")
            }
        }
        return note
    }

    static func firstLine(_ text: String) -> String {
        let line = text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? text
        return line.count > 300 ? String(line.prefix(300)) + "..." : line
    }
}
