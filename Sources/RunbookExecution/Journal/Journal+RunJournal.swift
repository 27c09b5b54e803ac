import Foundation
import GRDB

extension Journal {
    /// The commit counter of the journal file at `path`, read without opening it as a journal
    /// (nothing is migrated); 0 for a journal from before the counter, or no file.
    public static func commitCount(atPath path: String) -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        guard let queue = try? DatabaseQueue(path: path, configuration: configuration) else { return 0 }
        let count = try? queue.read { db -> Int in
            guard try db.tableExists("stats") else { return 0 }
            return try Int.fetchOne(db, sql: "SELECT value FROM stats WHERE name = 'commits'") ?? 0
        }
        try? queue.close()
        return count ?? 0
    }
}

extension Journal: RunJournal {
    /// Applies `batch` in one IMMEDIATE transaction, synced before it returns.
    @discardableResult
    public func commit(_ batch: JournalBatch) throws -> JournalCommit {
        try write { tx in try tx.apply(batch) }
    }
}

extension JournalTransaction {
    /// Writes a whole batch (see `JournalBatch` for the order).
    public func apply(_ batch: JournalBatch) throws -> JournalCommit {
        let runID = batch.runID
        var result = JournalCommit()
        if let run = batch.newRun { try createRun(run) }
        if let change = batch.runStatus {
            try updateRun(id: runID, status: change.status, exitCode: change.exitCode, finishedAt: change.finishedAt)
        }
        if let owner = batch.runOwner { try updateRunOwner(id: runID, pid: owner.pid, hostname: owner.hostname) }
        for write in batch.steps {
            let stored = try step(runID: runID, nodeID: write.nodeID)
            let record = try write.apply(to: stored, runID: runID) { try nextCompletionSeq(runID: runID) }
            try upsertStep(record)
            result.steps.append(record)
        }
        for write in batch.attempts {
            switch write {
            case .begin(let start):
                result.attemptIDs.append(try beginAttempt(runID: runID, start))
            case .finish(let id, let end):
                try finishAttempt(id: id, end)
            case .record(let start, let end):
                let id = try beginAttempt(runID: runID, start)
                try finishAttempt(id: id, end)
                result.attemptIDs.append(id)
            }
        }
        for approval in batch.approvals { try recordApproval(approval) }
        if !batch.events.isEmpty {
            result.events = try appendEvents(
                runID: runID, batch.events.map { ($0.type, $0.step, $0.host, $0.fields) }, maskKeys: false)
        }
        return result
    }

    /// Appends a typed event to the run's chain (see `appendEvent`).
    @discardableResult
    public func append(_ event: RunEvent, runID: String) throws -> EventRecord {
        // A typed event's keys are field names: only its values are masked.
        try appendEvents(runID: runID, [(event.type, event.step, event.host, event.fields)], maskKeys: false)[0]
    }

    /// Commits the intent of an attempt and returns its id (in flight until finished).
    public func beginAttempt(runID: String, _ start: AttemptStart) throws -> Int64 {
        let db = try database()
        let r = redactor
        try db.cachedStatement(
            sql: """
                INSERT INTO attempts (runID, nodeID, phase, number, intent, startedAt,
                                      stdoutExcerpt, stderrExcerpt)
                VALUES (?, ?, ?, ?, ?, ?, '', '')
                """
        ).execute(
            arguments: [
                runID, r.redact(start.nodeID), start.phase.rawValue, start.number, r.redact(start.intent),
                JournalTimestamp.stored(start.startedAt),
            ]
        )
        return db.lastInsertedRowID
    }

    /// Records the outcome of an attempt in flight; output is redacted, then cut to an excerpt.
    /// Throws `JournalError.attemptNotInFlight` if it is unknown or already finished.
    public func finishAttempt(id: Int64, _ end: AttemptEnd) throws {
        let db = try database()
        let r = redactor
        let limit = journalExcerptLimit
        let out = Journal.excerpt(r.redact(end.stdout), maxBytes: limit)
        let err = Journal.excerpt(r.redact(end.stderr), maxBytes: limit)
        let ran = RanCommand.json(end.commands).map { r.redactJSON($0) }
        try db.cachedStatement(
            sql: """
                UPDATE attempts
                SET finishedAt = ?, outcome = ?, exitCode = ?, stdoutExcerpt = ?,
                    stderrExcerpt = ?, error = ?, commandsJSON = ?
                WHERE id = ? AND outcome IS NULL
                """
        ).execute(
            arguments: [
                JournalTimestamp.stored(end.finishedAt), r.redact(end.outcome), end.exitCode, out, err,
                r.redact(end.error), ran, id,
            ])
        if db.changesCount == 0 {
            throw JournalError.attemptNotInFlight(id)
        }
    }
}
