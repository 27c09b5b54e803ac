import Foundation
import GRDB

/// The writes available inside `Journal.write`; everything done through it commits together.
///
/// Valid only inside the closure passed to `Journal.write`: it must not escape it, and using it
/// afterwards throws `JournalError.transactionEnded`. It is deliberately not `Sendable`: it is
/// bound to the writer connection for the duration of one transaction.
public final class JournalTransaction {
    private let db: Database
    private let journal: Journal
    private var isValid = true

    init(db: Database, journal: Journal) {
        self.db = db
        self.journal = journal
    }

    func invalidate() {
        isValid = false
    }

    func database() throws -> Database {
        guard isValid else { throw JournalError.transactionEnded }
        return db
    }

    var redactor: StorageRedactor { journal.storageRedactor }

    var journalExcerptLimit: Int { journal.maxExcerptBytes }

    /// Inserts a new run (all its text fields redacted). Fails if the id exists.
    public func createRun(_ run: RunRecord) throws {
        let db = try database()
        try run.redacted(redactor).insert(db)
    }

    /// Sets a run's status, bumping `updatedAt`.
    ///
    /// A nil `exitCode` or `finishedAt` leaves the stored value, except that setting the status to
    /// `running` (a resume) clears both, since a running run has no end yet.
    /// Throws `JournalError.runNotFound` if there is no such run.
    public func updateRun(id: String, status: RunStatus, exitCode: Int? = nil, finishedAt: Date? = nil) throws {
        let db = try database()
        if status == .running {
            try db.execute(
                sql: "UPDATE runs SET status = ?, exitCode = ?, finishedAt = ?, updatedAt = ? WHERE id = ?",
                arguments: [status.rawValue, exitCode, finishedAt, journal.now(), id]
            )
        } else {
            try db.execute(
                sql: """
                    UPDATE runs SET status = ?, exitCode = COALESCE(?, exitCode),
                        finishedAt = COALESCE(?, finishedAt), updatedAt = ?
                    WHERE id = ?
                    """,
                arguments: [status.rawValue, exitCode, finishedAt, journal.now(), id]
            )
        }
        if db.changesCount == 0 { throw JournalError.runNotFound(id) }
    }

    /// Records which process now drives a run (a resume from another process or host).
    public func updateRunOwner(id: String, pid: Int32, hostname: String) throws {
        let db = try database()
        try db.execute(
            sql: "UPDATE runs SET pid = ?, hostname = ?, updatedAt = ? WHERE id = ?",
            arguments: [pid, redactor.redact(hostname), journal.now(), id]
        )
        if db.changesCount == 0 { throw JournalError.runNotFound(id) }
    }

    /// Inserts a step, or replaces every field of an existing one (same run and node id).
    ///
    /// A step keeps the position of its first insertion, so inserting a plan's nodes in document
    /// order makes `Journal.steps(runID:)` return them in that order.
    public func upsertStep(_ step: StepRecord) throws {
        let db = try database()
        let s = step.redacted(redactor)
        try db.cachedStatement(
            sql: """
                INSERT INTO steps (runID, nodeID, ordinal, stepID, host, state, changed, completionSeq,
                                   observedJSON, outputsJSON, error, attempts, startedAt, finishedAt,
                                   firstReachedAt, chosenAlternative)
                VALUES (?, ?, (SELECT COALESCE(MAX(ordinal), 0) + 1 FROM steps WHERE runID = ?),
                        ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (runID, nodeID) DO UPDATE SET
                    stepID = excluded.stepID, host = excluded.host, state = excluded.state,
                    changed = excluded.changed, completionSeq = excluded.completionSeq,
                    observedJSON = excluded.observedJSON, outputsJSON = excluded.outputsJSON,
                    error = excluded.error, attempts = excluded.attempts,
                    startedAt = excluded.startedAt, finishedAt = excluded.finishedAt,
                    firstReachedAt = excluded.firstReachedAt, chosenAlternative = excluded.chosenAlternative
                """
        ).execute(
            arguments: [
                s.runID, s.nodeID, s.runID,
                s.stepID, s.host, s.state.rawValue, s.changed, s.completionSeq,
                s.observedJSON, s.outputsJSON, s.error, s.attempts, JournalTimestamp.stored(s.startedAt),
                JournalTimestamp.stored(s.finishedAt), JournalTimestamp.stored(s.firstReachedAt),
                s.chosenAlternative,
            ]
        )
    }

    /// The next completion sequence number of a run (1 for the first step to complete).
    public func nextCompletionSeq(runID: String) throws -> Int {
        let db = try database()
        let current = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(completionSeq) FROM steps WHERE runID = ?"),
            arguments: [runID]
        )
        return (current ?? 0) + 1
    }

    /// Appends an event to a run's hash chain and returns it as stored.
    ///
    /// Step, host and every payload key and value are redacted; the payload is stored as
    /// canonical JSON (sorted keys). The event time is the journal clock, truncated to ms.
    @discardableResult
    public func appendEvent(
        runID: String,
        type: String,
        step: String? = nil,
        host: String? = nil,
        payload: [String: String] = [:]
    ) throws -> EventRecord {
        try appendEvents(runID: runID, [(type, step, host, payload)], maskKeys: true)[0]
    }

    /// Appends events to a run's hash chain in order, moving the run's chain head once.
    ///
    /// (The head lives in the run's row, beside its plan: each update of that row reads and
    /// writes the whole row, so a batch's events move it once.)
    ///
    /// `maskKeys`: whether payload keys are masked too. A typed `RunEvent`'s keys are its field
    /// names, never masked (a short secret such as `x` would turn `max_value` into `ma***_value`
    /// and the event would no longer decode); the keys of a free-form payload may be data.
    func appendEvents(
        runID: String, _ events: [(type: String, step: String?, host: String?, payload: [String: String])],
        maskKeys: Bool
    ) throws -> [EventRecord] {
        let db = try database()
        guard
            let head = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT chainHeadSeq, chainHeadHash FROM runs WHERE id = ?"),
                arguments: [runID]
            )
        else {
            throw JournalError.runNotFound(runID)
        }
        var seq: Int = head["chainHeadSeq"]
        var prevHash: String = head["chainHeadHash"]
        var stored: [EventRecord] = []
        for event in events {
            var redactedPayload: [String: String] = [:]
            for (key, value) in event.payload {
                redactedPayload[maskKeys ? redactor.redact(key) : key] = redactor.redact(value)
            }
            seq += 1
            let ts = JournalTimestamp.truncated(journal.now())
            let tsText = JournalTimestamp.format(ts)
            let type = event.type  // a name this build defines, never a secret
            let step = redactor.redact(event.step)
            let host = redactor.redact(event.host)
            let payloadJSON = EventChain.canonicalPayload(redactedPayload)
            let hash = EventChain.hash(
                prevHash: prevHash,
                canonicalText: EventChain.canonicalText(
                    runID: runID, seq: seq, ts: tsText, type: type, step: step, host: host,
                    payloadJSON: payloadJSON
                )
            )
            try db.cachedStatement(
                sql: """
                    INSERT INTO events (runID, seq, ts, type, step, host, payloadJSON, prevHash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [runID, seq, tsText, type, step, host, payloadJSON, prevHash, hash])
            stored.append(
                EventRecord(
                    runID: runID, seq: seq, ts: ts, type: type, step: step, host: host,
                    payloadJSON: payloadJSON, prevHash: prevHash, hash: hash
                ))
            prevHash = hash
        }
        if !stored.isEmpty {
            try db.cachedStatement(
                sql: "UPDATE runs SET chainHeadSeq = ?, chainHeadHash = ?, updatedAt = ? WHERE id = ?"
            ).execute(arguments: [seq, prevHash, JournalTimestamp.stored(journal.now()), runID])
        }
        return stored
    }

    /// Records an approval or rejection at a gate (redacted). Earlier decisions are kept.
    public func recordApproval(_ approval: ApprovalRecord) throws {
        let db = try database()
        let a = approval.redacted(redactor)
        try db.execute(
            sql: """
                INSERT INTO approvals
                    (runID, gate, "by", reason, planHash, "at", decision, statement, signature, principal, fingerprint)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                a.runID, a.gate, a.by, a.reason, a.planHash, a.at, a.decision.rawValue, a.statement, a.signature,
                a.principal, a.fingerprint,
            ]
        )
    }

    /// The run with this id as seen inside the transaction, or nil.
    public func run(id: String) throws -> RunRecord? {
        let db = try database()
        return try RunRecord.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id])
    }

    /// One step as seen inside the transaction, or nil.
    public func step(runID: String, nodeID: String) throws -> StepRecord? {
        try Self.fetchStep(try database(), runID: runID, nodeID: nodeID)
    }

    /// The latest decision at a gate as seen inside the transaction, or nil.
    public func approval(runID: String, gate: String) throws -> ApprovalRecord? {
        try Self.fetchApproval(try database(), runID: runID, gate: gate)
    }

    static func fetchStep(_ db: Database, runID: String, nodeID: String) throws -> StepRecord? {
        try StepRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM steps WHERE runID = ? AND nodeID = ?"),
            arguments: [runID, nodeID]
        )
    }

    static func fetchApproval(_ db: Database, runID: String, gate: String) throws -> ApprovalRecord? {
        try ApprovalRecord.fetchOne(
            db,
            sql: "SELECT * FROM approvals WHERE runID = ? AND gate = ? ORDER BY id DESC LIMIT 1",
            arguments: [runID, gate]
        )
    }
}

@available(*, unavailable, message: "a JournalTransaction is bound to one write closure")
extension JournalTransaction: Sendable {}
