import Foundation
import GRDB
import RunbookCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The durable record of runs: their plan, step states, attempts, approvals and hash-chained events.
///
/// Backed by one SQLite file in WAL mode through a GRDB `DatabasePool`. Every write commits
/// durably (`synchronous = FULL`) before the call returns, so a process killed at any instant
/// (even with SIGKILL) leaves the journal consistent, and `beginAttempt` records an intent before
/// the caller acts on the world. Every text is passed through the redactor before it is stored.
/// Several processes may open the same file; writers wait up to `busyTimeout` for each other.
public final class Journal: Sendable {
    /// The path of the SQLite file.
    public let path: String
    /// The redactor applied to every stored text.
    public let redactor: Redactor
    /// The longest stdout/stderr excerpt stored for an attempt, in UTF-8 bytes (head and tail kept).
    public let maxExcerptBytes: Int

    let storageRedactor: StorageRedactor
    let pool: DatabasePool
    let now: @Sendable () -> Date

    /// How a journal is opened.
    public enum Access: Sendable, Equatable {
        /// Created if needed, its schema brought up to date; what runs write through.
        case readWrite
        /// Never written, not even to create the `-shm` file when that cannot be done: what
        /// `status`, `history` and `show` read through, so that they work on a full disk or a
        /// read-only journal.
        case readOnly
    }

    /// How this journal was opened.
    public let access: Access
    /// Set when the journal is read without its write-ahead log (`-wal`), which could not be
    /// opened without writing: what the log holds and was not yet copied into the file is missing.
    public let unreadLogBytes: Int64?

    /// Opens (creating if needed) the journal at `path` and brings its schema up to date.
    ///
    /// Several processes may do this at once on a fresh state directory: creating the file, turning
    /// WAL on and migrating the schema happen under an exclusive lock on `PATH.setup-lock`, so one
    /// process creates the schema and the others find it made.
    ///
    /// - Parameters:
    ///   - path: The SQLite file; its directory must exist. Created with mode 0600.
    ///   - redactor: Applied to every text before it is stored.
    ///   - access: `.readOnly` opens an existing journal without ever writing to it.
    ///   - busyTimeout: How long a write waits for another process's write to finish.
    ///   - maxExcerptBytes: Cap on each stored stdout/stderr excerpt.
    ///   - now: The clock for timestamps the journal sets itself (event times, `updatedAt`).
    public init(
        path: String,
        redactor: Redactor,
        access: Access = .readWrite,
        busyTimeout: TimeInterval = 5,
        maxExcerptBytes: Int = 64 * 1024,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.path = path
        self.redactor = redactor
        self.storageRedactor = StorageRedactor(redactor)
        self.maxExcerptBytes = max(maxExcerptBytes, 1024)
        self.now = now
        self.access = access

        var config = Configuration()
        config.label = "runbook.journal"
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        let migrator = Journal.migrator

        if access == .readOnly {
            config.readonly = true
            (pool, unreadLogBytes) = try Self.openReadOnly(path: path, configuration: config)
            if try pool.read({ db in try migrator.hasBeenSuperseded(db) }) {
                throw JournalError.newerSchema(path: path)
            }
            return
        }

        unreadLogBytes = nil
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            db.add(function: RowDigest.function)
        }
        let setupLock = try Self.lockForSetup(path: path)
        defer { closeDescriptor(setupLock) }
        // Create the file owner-only before SQLite does; -wal and -shm inherit its mode.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 {
            closeDescriptor(fd)
        }
        pool = try DatabasePool(path: path, configuration: config)
        // GRDB sets `synchronous = NORMAL` when it puts a pool in WAL mode, after
        // `prepareDatabase`: set FULL again on the writer, so a commit survives a power loss
        // too, not only a killed process (a resume after a reboot relies on it).
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
        if superseded {
            throw JournalError.newerSchema(path: path)
        }
        try migrator.migrate(pool)
    }

    /// Holds an exclusive `flock` on `PATH.setup-lock` until the descriptor is closed.
    ///
    /// GRDB's migrator reads which migrations are applied, then runs each in its own
    /// transaction: two processes on a new file both see none applied, and the second fails with
    /// "table runs already exists" (or "database is locked" while the first turns WAL on).
    private static func lockForSetup(path: String) throws -> Int32 {
        let lockPath = path + ".setup-lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw JournalError.cannotLock(path: lockPath, errno: errno) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let code = errno
            closeDescriptor(fd)
            throw JournalError.cannotLock(path: lockPath, errno: code)
        }
        return fd
    }

    /// A read-only pool: SQLite's own read-only mode, or, when that needs to write what it
    /// cannot (a `-shm` file on a full disk or a read-only file system), the file read as
    /// immutable, without locks or the log.
    private static func openReadOnly(path: String, configuration: Configuration) throws -> (DatabasePool, Int64?) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw JournalError.missing(path: path) }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            // Opening is lazy: read once, so a journal that cannot be read this way says so now.
            try pool.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            return (pool, nil)
        } catch {
            let logBytes = stat(path + "-wal", &info) == 0 ? Int64(info.st_size) : 0
            var uri = "file:"
            for character in path {
                switch character {
                case "%": uri += "%25"
                case "?": uri += "%3f"
                case "#": uri += "%23"
                default: uri.append(character)
                }
            }
            let pool = try DatabasePool(path: uri + "?immutable=1", configuration: configuration)
            try pool.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            return (pool, logBytes > 0 ? logBytes : nil)
        }
    }

    /// The writer's `PRAGMA synchronous` (2 = FULL).
    public func synchronousMode() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Closes the database connections; the journal must not be used afterwards.
    public func close() throws {
        try pool.close()
    }

    // MARK: - Transactions

    /// Runs `body` in one IMMEDIATE transaction: everything it writes commits together, or
    /// nothing does if it throws.
    ///
    /// The `JournalTransaction` is only valid inside `body`. Do not call other `Journal` methods
    /// from inside `body`: the writer connection is not reentrant (use the transaction's reads).
    public func write<T>(_ body: (JournalTransaction) throws -> T) throws -> T {
        try counted { db in
            let transaction = JournalTransaction(db: db, journal: self)
            defer { transaction.invalidate() }
            return try body(transaction)
        }
    }

    /// One write transaction, counted in `stats` (see `commitCount()`).
    func counted<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.write { db in
            let value = try body(db)
            try db.cachedStatement(sql: "UPDATE stats SET value = value + 1 WHERE name = 'commits'").execute()
            return value
        }
    }

    /// How many write transactions this journal file has committed, by every process.
    public func commitCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT value FROM stats WHERE name = 'commits'") ?? 0 }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    // MARK: - Single-operation conveniences

    /// Inserts a new run (see `JournalTransaction.createRun`).
    public func createRun(_ run: RunRecord) throws {
        try write { try $0.createRun(run) }
    }

    /// Sets a run's status (see `JournalTransaction.updateRun`).
    public func updateRun(id: String, status: RunStatus, exitCode: Int? = nil, finishedAt: Date? = nil) throws {
        try write { try $0.updateRun(id: id, status: status, exitCode: exitCode, finishedAt: finishedAt) }
    }

    /// Inserts or replaces a step (see `JournalTransaction.upsertStep`).
    public func upsertStep(_ step: StepRecord) throws {
        try write { try $0.upsertStep(step) }
    }

    /// Appends one event to a run's chain and returns it as stored.
    @discardableResult
    public func appendEvent(
        runID: String,
        type: String,
        step: String? = nil,
        host: String? = nil,
        payload: [String: String] = [:]
    ) throws -> EventRecord {
        try write { try $0.appendEvent(runID: runID, type: type, step: step, host: host, payload: payload) }
    }

    /// Records an approval or rejection (see `JournalTransaction.recordApproval`).
    public func recordApproval(_ approval: ApprovalRecord) throws {
        try write { try $0.recordApproval(approval) }
    }

    // MARK: - Write-ahead attempts

    /// Commits the intent of an attempt before the caller acts, and returns its id.
    ///
    /// The row is durable when this returns: if the process dies while acting, a resume finds the
    /// attempt in `inFlightAttempts(runID:)` and must re-probe before doing anything again.
    public func beginAttempt(
        runID: String,
        nodeID: String,
        phase: AttemptPhase,
        number: Int,
        intent: String,
        startedAt: Date? = nil
    ) throws -> Int64 {
        let start = AttemptStart(
            nodeID: nodeID, phase: phase, number: number, intent: intent, startedAt: startedAt ?? now())
        return try write { tx in try tx.beginAttempt(runID: runID, start) }
    }

    /// Commits the outcome of an attempt started with `beginAttempt`.
    ///
    /// Output is redacted, then cut to `maxExcerptBytes` (keeping its head and tail).
    /// Throws `JournalError.attemptNotInFlight` if the attempt is unknown or already finished.
    public func finishAttempt(
        id: Int64,
        outcome: String,
        exitCode: Int? = nil,
        stdout: String = "",
        stderr: String = "",
        error: String? = nil,
        commands: [RanCommand] = [],
        finishedAt: Date? = nil
    ) throws {
        let end = AttemptEnd(
            outcome: outcome, exitCode: exitCode, stdout: stdout, stderr: stderr, error: error, commands: commands,
            finishedAt: finishedAt ?? now())
        try write { tx in try tx.finishAttempt(id: id, end) }
    }

    /// Attempts of a run that were started and never finished: what a resume must re-probe.
    public func inFlightAttempts(runID: String) throws -> [AttemptRecord] {
        try read { db in
            try AttemptRecord.fetchAll(
                db,
                sql: "SELECT * FROM attempts WHERE runID = ? AND outcome IS NULL ORDER BY id",
                arguments: [runID]
            )
        }
    }

    // MARK: - Reads

    /// The run with this exact id, or nil.
    public func run(id: String) throws -> RunRecord? {
        try read { db in try RunRecord.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]) }
    }

    /// Up to `limit` runs, newest first.
    public func runs(limit: Int = 50) throws -> [RunRecord] {
        try read { db in
            try RunRecord.fetchAll(
                db,
                sql: "SELECT * FROM runs ORDER BY startedAt DESC, id DESC LIMIT ?",
                arguments: [limit]
            )
        }
    }

    /// The newest run of this runbook against this inventory, or nil.
    public func latestRun(runbookName: String, inventoryName: String) throws -> RunRecord? {
        try read { db in
            try RunRecord.fetchOne(
                db,
                sql: """
                    SELECT * FROM runs WHERE runbookName = ? AND inventoryName = ?
                    ORDER BY startedAt DESC, id DESC LIMIT 1
                    """,
                arguments: [runbookName, inventoryName]
            )
        }
    }

    /// The steps of a run, in the order they were first inserted (document order).
    public func steps(runID: String) throws -> [StepRecord] {
        try read { db in
            try StepRecord.fetchAll(
                db,
                sql: "SELECT * FROM steps WHERE runID = ? ORDER BY ordinal",
                arguments: [runID]
            )
        }
    }

    /// One step of a run, or nil.
    public func step(runID: String, nodeID: String) throws -> StepRecord? {
        try read { db in try JournalTransaction.fetchStep(db, runID: runID, nodeID: nodeID) }
    }

    /// All attempts of a run, in the order they were begun.
    public func attempts(runID: String) throws -> [AttemptRecord] {
        try read { db in
            try AttemptRecord.fetchAll(
                db,
                sql: "SELECT * FROM attempts WHERE runID = ? ORDER BY id",
                arguments: [runID]
            )
        }
    }

    /// All approvals and rejections of a run, oldest first.
    public func approvals(runID: String) throws -> [ApprovalRecord] {
        try read { db in
            try ApprovalRecord.fetchAll(
                db,
                sql: "SELECT * FROM approvals WHERE runID = ? ORDER BY id",
                arguments: [runID]
            )
        }
    }

    /// The latest decision recorded at a gate of a run, or nil.
    public func approval(runID: String, gate: String) throws -> ApprovalRecord? {
        try read { db in try JournalTransaction.fetchApproval(db, runID: runID, gate: gate) }
    }

    /// The events of a run, by seq.
    public func events(runID: String) throws -> [EventRecord] {
        try read { db in
            try EventRecord.fetchAll(
                db,
                sql: "SELECT * FROM events WHERE runID = ? ORDER BY seq",
                arguments: [runID]
            )
        }
    }

    /// Resolves a full run id from a unique prefix (an exact id always wins), `last` (the newest
    /// run), or, when no id starts with it, a unique end of an id (its random suffix: `3f9a`).
    ///
    /// Throws `JournalError.noRunMatches` or `JournalError.ambiguousRunID` (listing the candidates).
    public func resolveRunID(prefix: String) throws -> String {
        let trimmed = prefix.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw JournalError.noRunMatches(prefix: prefix) }
        return try read { db in
            if try String.fetchOne(db, sql: "SELECT id FROM runs WHERE id = ?", arguments: [trimmed]) != nil {
                return trimmed
            }
            // `last`: the newest run (as `history` lists it first).
            if trimmed == "last" {
                guard
                    let newest = try String.fetchOne(
                        db, sql: "SELECT id FROM runs ORDER BY startedAt DESC, id DESC LIMIT 1")
                else { throw JournalError.noRunMatches(prefix: trimmed) }
                return newest
            }
            var candidates = try String.fetchAll(
                db,
                sql: "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 21",
                arguments: [trimmed.count, trimmed]
            )
            // The random suffix (`3f9a` of `20261125-091502-3f9a`), or any end of an id.
            if candidates.isEmpty {
                candidates = try String.fetchAll(
                    db,
                    sql: "SELECT id FROM runs WHERE length(id) > ? AND substr(id, -?) = ? ORDER BY id LIMIT 21",
                    arguments: [trimmed.count, trimmed.count, trimmed]
                )
            }
            switch candidates.count {
            case 0: throw JournalError.noRunMatches(prefix: trimmed)
            case 1: return candidates[0]
            default: throw JournalError.ambiguousRunID(prefix: trimmed, candidates: candidates)
            }
        }
    }

    // MARK: - Integrity

    /// Re-computes a run's event chain and reports the first event where it does not hold.
    ///
    /// Detects altered, removed, replaced or reordered events, events cut from the end (the run
    /// row records the chain head), and a run, step, attempt or approval row changed outside the
    /// journal (`RowDigest`). Does not detect a rewrite of the whole chain together with the rows
    /// and their digests by someone with write access to the file who knows the format.
    public func verifyChain(runID: String) throws -> ChainVerification {
        try read { db in
            guard
                let head = try Row.fetchOne(
                    db,
                    sql: "SELECT chainHeadSeq, chainHeadHash FROM runs WHERE id = ?",
                    arguments: [runID]
                )
            else {
                throw JournalError.runNotFound(runID)
            }
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT * FROM events WHERE runID = ? ORDER BY seq",
                arguments: [runID]
            )
            var expectedSeq = 1
            var previousHash = EventChain.genesisHash
            while let row = try rows.next() {
                let seq: Int = row["seq"]
                if seq != expectedSeq {
                    return .broken(seq: expectedSeq, reason: .missing(foundSeq: seq))
                }
                let prevHash: String = row["prevHash"]
                let stored: String = row["hash"]
                let tsText: String = row["ts"]
                if JournalTimestamp.parse(tsText) == nil {
                    return .broken(seq: seq, reason: .unreadable("timestamp \(tsText)"))
                }
                let computed = EventChain.hash(
                    prevHash: prevHash,
                    canonicalText: EventChain.canonicalText(
                        runID: row["runID"],
                        seq: seq,
                        ts: tsText,
                        type: row["type"],
                        step: row["step"],
                        host: row["host"],
                        payloadJSON: row["payloadJSON"]
                    )
                )
                if computed != stored {
                    return .broken(seq: seq, reason: .hashMismatch(stored: stored, computed: computed))
                }
                if prevHash != previousHash {
                    return .broken(seq: seq, reason: .prevHashMismatch(stored: prevHash, expected: previousHash))
                }
                previousHash = stored
                expectedSeq += 1
            }
            let headSeq: Int = head["chainHeadSeq"]
            let headHash: String = head["chainHeadHash"]
            if headSeq >= expectedSeq {
                return .broken(seq: expectedSeq, reason: .truncated(recordedLastSeq: headSeq))
            }
            if headSeq != expectedSeq - 1 || headHash != previousHash {
                return .broken(
                    seq: min(headSeq + 1, expectedSeq - 1),
                    reason: .headMismatch(recordedLastSeq: headSeq, recordedHash: headHash)
                )
            }
            // The rows a resume or rollback acts on, which the events do not cover (journals from
            // before the digests got them when they were migrated).
            for coverage in [
                RowDigest.runContent, RowDigest.runState, RowDigest.steps, RowDigest.attempts,
                RowDigest.approvals,
            ] {
                if let edited = try RowDigest.firstEdited(coverage, runID: runID, in: db) { return .rowEdited(edited) }
            }
            return .ok(eventCount: expectedSeq - 1)
        }
    }

    /// The SQLite journal mode in effect (`wal` for a journal).
    public func journalMode() throws -> String {
        try pool.write { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Copies the WAL into the main file and truncates the WAL (e.g. before a backup).
    public func checkpoint() throws {
        try pool.writeWithoutTransaction { db in
            _ = try db.checkpoint(.truncate)
        }
    }

    // MARK: - Helpers

    /// Cuts `text` to at most `maxBytes` UTF-8 bytes, keeping its head and tail around a marker.
    static func excerpt(_ text: String, maxBytes: Int) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > maxBytes else { return text }
        let headCount = maxBytes / 4
        let marker = "\n…[\(bytes.count - maxBytes) bytes elided]…\n"
        let tailCount = maxBytes - headCount
        // Decoding may replace a split multi-byte character at either cut with U+FFFD; harmless.
        let head = String(decoding: bytes[0..<headCount], as: UTF8.self)
        let tail = String(decoding: bytes[(bytes.count - tailCount)...], as: UTF8.self)
        return head + marker + tail
    }
}

/// `close(2)`, reachable from types that have a `close()` method of their own.
func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
