import Foundation

/// What the executor, gates, rollback and the `run`/`resume`/`rollback` commands read from the
/// journal and write to it, and what the reports (`RunbookReports`) read. `Journal` (SQLite) is the
/// real one; `RunbookTestSupport` has an in-memory one for in-process tests.
///
/// Writes are batches: every call of ``commit(_:)`` is one transaction, durable (synced) when it
/// returns, and applies all of its batch or none of it. So a caller decides what must be durable
/// together (an apply's intent with the probe it follows; an outcome with the step's final record
/// and its event) and how many synced commits a step costs.
///
/// Semantics every implementation keeps, because the executor relies on them:
/// - attempt ids are unique and increase; an attempt begun and not finished is in flight
///   (``inFlightAttempts(runID:)``) until a later batch finishes it;
/// - a step written with `completes` gets the run's next completion sequence number once (never
///   renumbered), which orders the rollback;
/// - a step keeps the position of its first write (`steps(runID:)` returns that order);
/// - events get the run's next sequence numbers, in batch order.
public protocol RunJournal: AnyObject, Sendable {
    /// The run with this exact id, or nil.
    func run(id: String) throws -> RunRecord?
    /// The steps of a run, in the order they were first written.
    func steps(runID: String) throws -> [StepRecord]
    /// One step of a run, or nil.
    func step(runID: String, nodeID: String) throws -> StepRecord?
    /// All attempts of a run, in the order they were begun.
    func attempts(runID: String) throws -> [AttemptRecord]
    /// Attempts of a run that were begun and never finished.
    func inFlightAttempts(runID: String) throws -> [AttemptRecord]
    /// All approvals and rejections of a run, oldest first.
    func approvals(runID: String) throws -> [ApprovalRecord]
    /// The latest decision recorded at a gate of a run, or nil.
    func approval(runID: String, gate: String) throws -> ApprovalRecord?
    /// The events of a run, by sequence number.
    func events(runID: String) throws -> [EventRecord]

    // MARK: Reads for the reports (RunbookReports)

    /// Up to `limit` runs, newest first (by start time, then id): a rehearsal report's trend.
    func runs(limit: Int) throws -> [RunRecord]
    /// Re-checks a run's event chain (see `Journal.verifyChain(runID:)`); throws
    /// `JournalError.runNotFound` for an unknown run.
    func verifyChain(runID: String) throws -> ChainVerification

    /// Applies `batch` in one synced transaction: all of it, or (when it throws) none of it.
    @discardableResult
    func commit(_ batch: JournalBatch) throws -> JournalCommit

    /// Applies the batch `make` builds, inside the transaction, from the run and one of its steps
    /// as stored then (nil when absent): a decision checked against what is stored when it is
    /// written (`runbook approve`). What `make` throws leaves nothing written, and is rethrown.
    @discardableResult
    func commit(runID: String, nodeID: String, _ make: (RunRecord?, StepRecord?) throws -> JournalBatch) throws
        -> JournalCommit

    /// How many write transactions have been committed to this journal (by any process, for the
    /// SQLite journal): what the benchmark divides by the number of steps.
    func commitCount() throws -> Int
}

/// The writes of one transaction, applied in this order: the run (created or updated), the steps,
/// the attempts, the approvals, the events.
public struct JournalBatch {
    public var runID: String
    /// A run to create (its id must be `runID`).
    public var newRun: RunRecord?
    /// A change of the run's status (see `JournalTransaction.updateRun`).
    public var runStatus: RunStatusChange?
    /// The process that now drives the run.
    public var runOwner: (pid: Int32, hostname: String)?
    public var steps: [StepWrite] = []
    public var attempts: [AttemptWrite] = []
    public var approvals: [ApprovalRecord] = []
    public var events: [RunEvent] = []

    public init(runID: String) {
        self.runID = runID
    }

    /// Whether the batch writes nothing.
    public var isEmpty: Bool {
        newRun == nil && runStatus == nil && runOwner == nil && steps.isEmpty && attempts.isEmpty
            && approvals.isEmpty && events.isEmpty
    }

    /// Adds a change to a step's record (created pending first if it has none).
    public mutating func step(
        _ nodeID: String, stepID: String, host: String?, completes: Bool = false,
        _ change: @escaping (inout StepRecord) -> Void = { _ in }
    ) {
        steps.append(StepWrite(nodeID: nodeID, stepID: stepID, host: host, completes: completes, change: change))
    }
}

/// A run's new status; nil fields keep what is stored (a `running` status clears both).
public struct RunStatusChange: Sendable {
    public var status: RunStatus
    public var exitCode: Int?
    public var finishedAt: Date?

    public init(status: RunStatus, exitCode: Int? = nil, finishedAt: Date? = nil) {
        self.status = status
        self.exitCode = exitCode
        self.finishedAt = finishedAt
    }
}

/// A change to one step's record, made inside the transaction on what is stored then.
public struct StepWrite {
    public var nodeID: String
    public var stepID: String
    /// The host to record (nil keeps the stored one).
    public var host: String?
    /// Give the step the run's next completion sequence number, unless it has one.
    public var completes: Bool
    public var change: (inout StepRecord) -> Void

    public init(
        nodeID: String, stepID: String, host: String?, completes: Bool = false,
        change: @escaping (inout StepRecord) -> Void
    ) {
        self.nodeID = nodeID
        self.stepID = stepID
        self.host = host
        self.completes = completes
        self.change = change
    }

    /// The record after this write, from the stored one (or a new pending record); `nextCompletionSeq`
    /// is asked only when the write completes the step for the first time.
    public func apply(to stored: StepRecord?, runID: String, nextCompletionSeq: () throws -> Int) rethrows
        -> StepRecord
    {
        var record = stored ?? StepRecord(runID: runID, nodeID: nodeID, stepID: stepID, host: host)
        if let host { record.host = host }
        change(&record)
        if completes, record.completionSeq == nil { record.completionSeq = try nextCompletionSeq() }
        return record
    }
}

/// The intent of an attempt: what is about to be done, committed before it is.
public struct AttemptStart: Sendable {
    public var nodeID: String
    public var phase: AttemptPhase
    public var number: Int
    public var intent: String
    public var startedAt: Date

    public init(nodeID: String, phase: AttemptPhase, number: Int, intent: String, startedAt: Date = Date()) {
        self.nodeID = nodeID
        self.phase = phase
        self.number = number
        self.intent = intent
        self.startedAt = startedAt
    }
}

/// The outcome of an attempt.
public struct AttemptEnd: Sendable {
    public var outcome: String
    public var exitCode: Int?
    public var stdout: String
    public var stderr: String
    public var error: String?
    public var commands: [RanCommand]
    public var finishedAt: Date

    public init(
        outcome: String, exitCode: Int? = nil, stdout: String = "", stderr: String = "", error: String? = nil,
        commands: [RanCommand] = [], finishedAt: Date = Date()
    ) {
        self.outcome = outcome
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.error = error
        self.commands = commands
        self.finishedAt = finishedAt
    }
}

/// One attempt write of a batch.
public enum AttemptWrite: Sendable {
    /// Commits an intent; the attempt is in flight until finished. Its id is in the commit's result.
    case begin(AttemptStart)
    /// Finishes an attempt begun in an earlier batch (throws `JournalError.attemptNotInFlight`
    /// when it is unknown or already finished, and nothing of the batch is written).
    case finish(id: Int64, AttemptEnd)
    /// An attempt journaled after it ran, begun and finished at once: for read-only phases
    /// (probes, verifies, gate polls), where a crash before the journal knows is harmless.
    case record(AttemptStart, AttemptEnd)
}

/// What a committed batch produced.
public struct JournalCommit: Sendable {
    /// The ids of the batch's `.begin` and `.record` attempts, in batch order.
    public var attemptIDs: [Int64] = []
    /// The batch's events as stored (with their sequence numbers and hashes).
    public var events: [EventRecord] = []
    /// The batch's steps as stored after it.
    public var steps: [StepRecord] = []

    public init(attemptIDs: [Int64] = [], events: [EventRecord] = [], steps: [StepRecord] = []) {
        self.attemptIDs = attemptIDs
        self.events = events
        self.steps = steps
    }
}
