import Foundation
import GRDB
import RunbookCore

/// The lifecycle status of a run.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case running
    case succeeded
    case failed
    case parked
    case interrupted
    case rolledBack
    case rollbackFailed

    /// Whether a run in this status has reached an end (nothing is in progress).
    public var isTerminal: Bool {
        switch self {
        case .running: return false
        case .succeeded, .failed, .parked, .interrupted, .rolledBack, .rollbackFailed: return true
        }
    }
}

/// The state of one node (step on a host) of a run's plan.
public enum StepState: String, Codable, Sendable, CaseIterable {
    case pending
    case running
    case succeeded
    case alreadyDone
    case failed
    case skipped
    case waiting
    case undoing
    case undone
    case undoFailed
    case cancelled
}

/// The phase of a step that an attempt belongs to.
public enum AttemptPhase: String, Codable, Sendable, CaseIterable {
    case probe
    case apply
    case verify
    case undo
    case gatePoll
    /// A declared undo's `check`, run before the undo (outcome `done`: already undone).
    case undoCheck
    /// A declared undo's `verify`, run after it.
    case undoVerify
}

/// Well-known attempt outcomes; `AttemptRecord.outcome` is free text, these are the usual values.
public enum AttemptOutcome: Sendable {
    /// The action completed as intended.
    public static let ok = "ok"
    /// The action ran and failed.
    public static let failed = "failed"
    /// The action did not finish within its time limit.
    public static let timedOut = "timedOut"
    /// The host could not be reached.
    public static let unreachable = "unreachable"
    /// The process was stopped before the outcome was known (set on resume).
    public static let interrupted = "interrupted"
}

/// An operator's decision at a gate.
public enum ApprovalDecision: String, Codable, Sendable, CaseIterable {
    case approved
    case rejected
}

/// One execution of a runbook against an inventory.
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    /// Table name in the journal.
    public static let databaseTableName = "runs"

    /// The run id, e.g. `20261125-091502-3f9a`.
    public var id: String
    /// The runbook's name.
    public var runbookName: String
    /// The runbook file the run was started from.
    public var runbookPath: String
    /// The inventory's name.
    public var inventoryName: String
    /// The inventory file the run was started from.
    public var inventoryPath: String
    /// The execution mode, e.g. `run`, `dry-run`, `rollback`.
    public var mode: String
    /// The run parameters as JSON text (redacted on write).
    public var paramsJSON: String
    /// Hash of the compiled plan; approvals are bound to it.
    public var planHash: String
    /// The compiled plan as JSON text (redacted on write).
    public var planJSON: String
    /// The run's current status.
    public var status: RunStatus
    /// The exit code, once known.
    public var exitCode: Int?
    /// The pid of the process currently (or last) driving the run.
    public var pid: Int32
    /// The hostname of the machine currently (or last) driving the run.
    public var hostname: String
    /// When it started.
    public var startedAt: Date
    /// When the row last changed.
    public var updatedAt: Date
    /// When it finished, if it has.
    public var finishedAt: Date?

    /// Creates a run record.
    public init(
        id: String,
        runbookName: String,
        runbookPath: String,
        inventoryName: String,
        inventoryPath: String,
        mode: String,
        paramsJSON: String,
        planHash: String,
        planJSON: String,
        status: RunStatus = .running,
        exitCode: Int? = nil,
        pid: Int32,
        hostname: String,
        startedAt: Date,
        updatedAt: Date? = nil,
        finishedAt: Date? = nil
    ) {
        self.id = id
        self.runbookName = runbookName
        self.runbookPath = runbookPath
        self.inventoryName = inventoryName
        self.inventoryPath = inventoryPath
        self.mode = mode
        self.paramsJSON = paramsJSON
        self.planHash = planHash
        self.planJSON = planJSON
        self.status = status
        self.exitCode = exitCode
        self.pid = pid
        self.hostname = hostname
        self.startedAt = startedAt
        self.updatedAt = updatedAt ?? startedAt
        self.finishedAt = finishedAt
    }

    func redacted(_ r: StorageRedactor) -> RunRecord {
        var copy = self
        copy.runbookName = r.redact(runbookName)
        copy.runbookPath = r.redact(runbookPath)
        copy.inventoryName = r.redact(inventoryName)
        copy.inventoryPath = r.redact(inventoryPath)
        copy.mode = r.redact(mode)
        copy.paramsJSON = r.redactJSON(paramsJSON)
        copy.planJSON = r.redactJSON(planJSON)
        copy.hostname = r.redact(hostname)
        return copy
    }
}

/// The journaled state of one plan node (a step on a host) within a run.
public struct StepRecord: Codable, Sendable, Equatable, FetchableRecord {
    /// Table name in the journal.
    public static let databaseTableName = "steps"

    /// The run this belongs to.
    public var runID: String
    /// The plan node id, e.g. `stop-session@gfs-a1`.
    public var nodeID: String
    /// The runbook step id, e.g. `stop-session`.
    public var stepID: String
    /// The host the node runs on, if any.
    public var host: String?
    /// The node's current state.
    public var state: StepState
    /// Whether apply changed the world (false when the probe found it already done).
    public var changed: Bool
    /// Order of completion within the run, for reverse-order rollback.
    public var completionSeq: Int?
    /// What a typed action observed before applying, for its undo (JSON text).
    public var observedJSON: String?
    /// The step's outputs (JSON text).
    public var outputsJSON: String?
    /// The error message, if any (redacted).
    public var error: String?
    /// How many attempts were made (all phases).
    public var attempts: Int
    /// When it started.
    public var startedAt: Date?
    /// When it finished, if it has.
    public var finishedAt: Date?
    /// When a gate was first reached, so a gate timeout survives a resume.
    public var firstReachedAt: Date?
    /// For a `choose`: the index (0-based) of the alternative it took, journaled when it was
    /// decided; nil for other steps and in journals written before it was kept.
    public var chosenAlternative: Int?

    /// Creates a step record.
    public init(
        runID: String,
        nodeID: String,
        stepID: String,
        host: String? = nil,
        state: StepState = .pending,
        changed: Bool = false,
        completionSeq: Int? = nil,
        observedJSON: String? = nil,
        outputsJSON: String? = nil,
        error: String? = nil,
        attempts: Int = 0,
        startedAt: Date? = nil,
        finishedAt: Date? = nil,
        firstReachedAt: Date? = nil,
        chosenAlternative: Int? = nil
    ) {
        self.runID = runID
        self.nodeID = nodeID
        self.stepID = stepID
        self.host = host
        self.state = state
        self.changed = changed
        self.completionSeq = completionSeq
        self.observedJSON = observedJSON
        self.outputsJSON = outputsJSON
        self.error = error
        self.attempts = attempts
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.firstReachedAt = firstReachedAt
        self.chosenAlternative = chosenAlternative
    }

    /// Decodes a step from a journal row (by hand: the Codable path costs more than the query).
    public init(row: Row) throws {
        let stateText: String = row["state"]
        guard let state = StepState(rawValue: stateText) else {
            throw JournalError.corrupt("step state '\(stateText)' is unknown")
        }
        self.init(
            runID: row["runID"], nodeID: row["nodeID"], stepID: row["stepID"], host: row["host"], state: state,
            changed: row["changed"], completionSeq: row["completionSeq"], observedJSON: row["observedJSON"],
            outputsJSON: row["outputsJSON"], error: row["error"], attempts: row["attempts"],
            startedAt: row["startedAt"],
            finishedAt: row["finishedAt"], firstReachedAt: row["firstReachedAt"],
            chosenAlternative: row["chosenAlternative"])
    }

    func redacted(_ r: StorageRedactor) -> StepRecord {
        var copy = self
        copy.nodeID = r.redact(nodeID)
        copy.stepID = r.redact(stepID)
        copy.host = r.redact(host)
        copy.observedJSON = r.redactJSON(observedJSON)
        copy.outputsJSON = r.redactJSON(outputsJSON)
        copy.error = r.redact(error)
        return copy
    }
}

/// One attempt at one phase of a node, written before the action (intent) and after (outcome).
public struct AttemptRecord: Codable, Sendable, Equatable, FetchableRecord {
    /// Table name in the journal.
    public static let databaseTableName = "attempts"

    /// The identifier.
    public var id: Int64
    /// The run this belongs to.
    public var runID: String
    /// The plan node id, e.g. `stop-session@gfs-a1`.
    public var nodeID: String
    /// The phase this attempt belongs to.
    public var phase: AttemptPhase
    /// The attempt number within (node, phase), 1-based.
    public var number: Int
    /// The exact command or description of what is about to be done (redacted).
    public var intent: String
    /// When it started.
    public var startedAt: Date
    /// When it finished, if it has.
    public var finishedAt: Date?
    /// The outcome (see `AttemptOutcome`); nil while the attempt is in flight.
    public var outcome: String?
    /// The exit code, once known.
    public var exitCode: Int?
    /// Standard output (redacted, possibly cut to an excerpt).
    public var stdoutExcerpt: String
    /// Standard error (redacted, possibly cut to an excerpt).
    public var stderrExcerpt: String
    /// The error message, if any (redacted).
    public var error: String?
    /// What the attempt ran, as a JSON list of `{"host", "argv"}` (redacted); nil for attempts
    /// journaled before this was kept, or that ran no command.
    public var commandsJSON: String?

    /// Creates an attempt record from its stored fields.
    public init(
        id: Int64, runID: String, nodeID: String, phase: AttemptPhase, number: Int, intent: String, startedAt: Date,
        finishedAt: Date? = nil, outcome: String? = nil, exitCode: Int? = nil, stdoutExcerpt: String = "",
        stderrExcerpt: String = "", error: String? = nil, commandsJSON: String? = nil
    ) {
        self.id = id
        self.runID = runID
        self.nodeID = nodeID
        self.phase = phase
        self.number = number
        self.intent = intent
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.exitCode = exitCode
        self.stdoutExcerpt = stdoutExcerpt
        self.stderrExcerpt = stderrExcerpt
        self.error = error
        self.commandsJSON = commandsJSON
    }

    /// The commands the attempt ran, decoded.
    public var commands: [RanCommand] {
        guard let data = commandsJSON?.data(using: .utf8) else { return [] }
        return (try? JSONDecoder().decode([RanCommand].self, from: data)) ?? []
    }

    /// Whether the attempt was started and never finished.
    public var isInFlight: Bool { outcome == nil }
}

/// An operator's approval or rejection at a gate.
public struct ApprovalRecord: Codable, Sendable, Equatable, FetchableRecord {
    /// Table name in the journal.
    public static let databaseTableName = "approvals"

    /// The run this belongs to.
    public var runID: String
    /// The gate's step id.
    public var gate: String
    /// Who decided.
    public var by: String
    /// The reason given (redacted).
    public var reason: String
    /// The plan hash the approver saw; an approval does not carry over to another plan.
    public var planHash: String
    /// When the decision was recorded.
    public var at: Date
    /// Approved or rejected.
    public var decision: ApprovalDecision
    /// The row's id in the journal (nil until written): what an `approval.refused` event names.
    public var id: Int64? = nil
    /// A signed approval's statement (``ApprovalStatement``), exactly as signed; nil when unsigned.
    public var statement: String? = nil
    /// A signed approval's armored SSH signature; nil when unsigned.
    public var signature: String? = nil
    /// The allowed-signers principal the signature verified for when it was recorded.
    public var principal: String? = nil
    /// The signing key's fingerprint (`SHA256:...`) when it was recorded.
    public var fingerprint: String? = nil

    /// Creates an approval record.
    public init(
        runID: String,
        gate: String,
        by: String,
        reason: String,
        planHash: String,
        at: Date,
        decision: ApprovalDecision
    ) {
        self.runID = runID
        self.gate = gate
        self.by = by
        self.reason = reason
        self.planHash = planHash
        self.at = at
        self.decision = decision
    }

    /// Whether it carries a signature (only a signed approval counts at a gate with `allowed_signers`).
    public var isSigned: Bool { signature != nil && statement != nil }

    /// The signed approval it carries, if any.
    public var signed: SignedApproval? {
        guard let statement, let signature else { return nil }
        return SignedApproval(statementText: statement, signature: signature)
    }

    func redacted(_ r: StorageRedactor) -> ApprovalRecord {
        var copy = self
        copy.gate = r.redact(gate)
        copy.by = r.redact(by)
        copy.reason = r.redact(reason)
        return copy
    }
}

/// One entry of a run's append-only, hash-chained event log.
public struct EventRecord: Sendable, Equatable, FetchableRecord {
    /// Table name in the journal.
    public static let databaseTableName = "events"

    /// The run this belongs to.
    public var runID: String
    /// Position in the run's log, 1-based and gap-free.
    public var seq: Int
    /// The event time, with millisecond precision.
    public var ts: Date
    /// The event type, e.g. `run.started`, `step.finished`, `gate.waiting`.
    public var type: String
    /// The step id, if the event concerns one.
    public var step: String?
    /// The host, if the event concerns one.
    public var host: String?
    /// The payload as canonical JSON (keys sorted, redacted).
    public var payloadJSON: String
    /// Hex SHA-256 of the previous event (64 zeros for the first).
    public var prevHash: String
    /// Hex SHA-256 of `prevHash + "\n" + canonicalText`.
    public var hash: String

    /// Creates an event record from its stored fields.
    public init(
        runID: String,
        seq: Int,
        ts: Date,
        type: String,
        step: String?,
        host: String?,
        payloadJSON: String,
        prevHash: String,
        hash: String
    ) {
        self.runID = runID
        self.seq = seq
        self.ts = ts
        self.type = type
        self.step = step
        self.host = host
        self.payloadJSON = payloadJSON
        self.prevHash = prevHash
        self.hash = hash
    }

    /// Decodes an event from a journal row.
    public init(row: Row) throws {
        let tsText: String = row["ts"]
        guard let date = JournalTimestamp.parse(tsText) else {
            throw JournalError.corrupt("event timestamp is not ISO-8601: \(tsText)")
        }
        self.init(
            runID: row["runID"],
            seq: row["seq"],
            ts: date,
            type: row["type"],
            step: row["step"],
            host: row["host"],
            payloadJSON: row["payloadJSON"],
            prevHash: row["prevHash"],
            hash: row["hash"]
        )
    }

    /// The payload decoded as a string dictionary, or nil if it is not one.
    public var payload: [String: String]? {
        try? JSONDecoder().decode([String: String].self, from: Data(payloadJSON.utf8))
    }
}

/// One command an attempt ran: where, and its exact argv.
public struct RanCommand: Codable, Sendable, Hashable {
    public var host: String
    public var argv: [String]

    public init(host: String, argv: [String]) {
        self.host = host
        self.argv = argv
    }

    /// The list as stored in `attempts.commandsJSON`; nil for none.
    public static func json(_ commands: [RanCommand]) -> String? {
        guard !commands.isEmpty, let data = try? JSONEncoder().encode(commands) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
