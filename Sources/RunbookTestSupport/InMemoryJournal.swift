import Foundation
import RunbookCore
import RunbookExecution
import Synchronization

/// A `RunJournal` in memory, for in-process tests of the executor, gates and rollback.
///
/// It keeps what the executor relies on: a batch applies all or nothing, attempt ids increase,
/// unfinished attempts are in flight, completion sequence numbers are given once, steps keep the
/// order of their first write, events are numbered per run and hash-chained like the SQLite
/// journal's. It does not redact. `failCommits` makes the next commits throw (writing nothing),
/// and `onCommit` lets a test look at each batch before it is applied.
public final class InMemoryJournal: RunJournal, Sendable {
    struct State {
        var runs: [String: RunRecord] = [:]
        var chainHeads: [String: (seq: Int, hash: String)] = [:]
        var steps: [String: [StepRecord]] = [:]
        var attempts: [AttemptRecord] = []
        var approvals: [ApprovalRecord] = []
        var events: [String: [EventRecord]] = [:]
        var nextAttemptID: Int64 = 1
        var commits = 0
        var failCommits = 0
        var batches: [[String]] = []
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Date

    /// Why a commit was refused (`failCommits`).
    public struct Refused: Error, CustomStringConvertible {
        public var description: String { "the in-memory journal refused this commit (failCommits)" }
    }

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = now
    }

    /// A run record for tests, with `planHash` and a `running` status.
    public static func run(id: String, planHash: String = "sha256:test") -> RunRecord {
        RunRecord(
            id: id, runbookName: "test", runbookPath: "/test/runbook.yaml", inventoryName: "test",
            inventoryPath: "/test/inventory.yaml", mode: "run", paramsJSON: "{}", planHash: planHash, planJSON: "{}",
            pid: 1, hostname: "test", startedAt: Date())
    }

    /// Makes the next `count` commits throw without writing anything.
    public func failCommits(_ count: Int) {
        state.withLock { $0.failCommits = count }
    }

    /// For every commit so far, the event types it journaled (and `+attempt`/`=attempt`/`~attempt`
    /// for attempts begun, finished and recorded), in order: the shape of each transaction.
    public var batches: [[String]] { state.withLock { $0.batches } }

    // MARK: - Reads

    public func run(id: String) throws -> RunRecord? { state.withLock { $0.runs[id] } }

    public func steps(runID: String) throws -> [StepRecord] { state.withLock { $0.steps[runID] ?? [] } }

    public func step(runID: String, nodeID: String) throws -> StepRecord? {
        state.withLock { $0.steps[runID]?.first { $0.nodeID == nodeID } }
    }

    public func attempts(runID: String) throws -> [AttemptRecord] {
        state.withLock { $0.attempts.filter { $0.runID == runID } }
    }

    public func inFlightAttempts(runID: String) throws -> [AttemptRecord] {
        state.withLock { $0.attempts.filter { $0.runID == runID && $0.outcome == nil } }
    }

    public func approvals(runID: String) throws -> [ApprovalRecord] {
        state.withLock { $0.approvals.filter { $0.runID == runID } }
    }

    public func approval(runID: String, gate: String) throws -> ApprovalRecord? {
        state.withLock { $0.approvals.last { $0.runID == runID && $0.gate == gate } }
    }

    public func events(runID: String) throws -> [EventRecord] { state.withLock { $0.events[runID] ?? [] } }

    public func commitCount() throws -> Int { state.withLock { $0.commits } }

    /// Whether every event of the run carries the hash of the one before (as `Journal.verifyChain`).
    public func chainIsIntact(runID: String) -> Bool {
        let events = state.withLock { $0.events[runID] ?? [] }
        var previous = EventChain.genesisHash
        for (index, event) in events.enumerated() {
            guard event.seq == index + 1, event.prevHash == previous, EventChain.expectedHash(of: event) == event.hash
            else { return false }
            previous = event.hash
        }
        return true
    }

    // MARK: - Writes

    @discardableResult
    public func commit(_ batch: JournalBatch) throws -> JournalCommit {
        let now = clock()
        return try state.withLock { state in
            if state.failCommits > 0 {
                state.failCommits -= 1
                throw Refused()
            }
            // Work on a copy: a batch that throws half-way leaves nothing behind.
            var copy = state
            let result = try Self.apply(batch, to: &copy, now: now)
            copy.commits += 1
            copy.batches.append(Self.shape(batch))
            state = copy
            return result
        }
    }

    @discardableResult
    public func commit(runID: String, nodeID: String, _ make: (RunRecord?, StepRecord?) throws -> JournalBatch)
        throws -> JournalCommit
    {
        let now = clock()
        return try state.withLock { state in
            let stored = state.steps[runID]?.first { $0.nodeID == nodeID }
            let batch = try make(state.runs[runID], stored)
            if state.failCommits > 0 {
                state.failCommits -= 1
                throw Refused()
            }
            var copy = state
            let result = try Self.apply(batch, to: &copy, now: now)
            copy.commits += 1
            copy.batches.append(Self.shape(batch))
            state = copy
            return result
        }
    }

    static func shape(_ batch: JournalBatch) -> [String] {
        var shape: [String] = []
        for write in batch.attempts {
            switch write {
            case .begin(let start): shape.append("+\(start.phase.rawValue)")
            case .finish: shape.append("=finish")
            case .record(let start, _): shape.append("~\(start.phase.rawValue)")
            }
        }
        return shape + batch.events.map(\.type)
    }

    static func apply(_ batch: JournalBatch, to state: inout State, now: Date) throws -> JournalCommit {
        let runID = batch.runID
        var result = JournalCommit()
        if let run = batch.newRun {
            guard state.runs[run.id] == nil else { throw JournalError.corrupt("run \(run.id) exists") }
            state.runs[run.id] = run
        }
        if let change = batch.runStatus {
            guard var run = state.runs[runID] else { throw JournalError.runNotFound(runID) }
            run.status = change.status
            if change.status == .running {
                run.exitCode = change.exitCode
                run.finishedAt = change.finishedAt
            } else {
                run.exitCode = change.exitCode ?? run.exitCode
                run.finishedAt = change.finishedAt ?? run.finishedAt
            }
            run.updatedAt = now
            state.runs[runID] = run
        }
        if let owner = batch.runOwner {
            guard var run = state.runs[runID] else { throw JournalError.runNotFound(runID) }
            run.pid = owner.pid
            run.hostname = owner.hostname
            state.runs[runID] = run
        }
        for write in batch.steps {
            var steps = state.steps[runID] ?? []
            let index = steps.firstIndex { $0.nodeID == write.nodeID }
            let record = write.apply(to: index.map { steps[$0] }, runID: runID) {
                (steps.compactMap(\.completionSeq).max() ?? 0) + 1
            }
            if let index { steps[index] = record } else { steps.append(record) }
            state.steps[runID] = steps
            result.steps.append(record)
        }
        for write in batch.attempts {
            switch write {
            case .begin(let start):
                result.attemptIDs.append(begin(start, runID: runID, in: &state))
            case .finish(let id, let end):
                try finish(id, end, in: &state)
            case .record(let start, let end):
                let id = begin(start, runID: runID, in: &state)
                try finish(id, end, in: &state)
                result.attemptIDs.append(id)
            }
        }
        for var approval in batch.approvals {
            approval.id = Int64(state.approvals.count + 1)
            state.approvals.append(approval)
        }
        for event in batch.events {
            guard state.runs[runID] != nil else { throw JournalError.runNotFound(runID) }
            let head = state.chainHeads[runID] ?? (0, EventChain.genesisHash)
            let seq = head.seq + 1
            let ts = JournalTimestamp.truncated(now)
            let payloadJSON = EventChain.canonicalPayload(event.fields)
            let hash = EventChain.hash(
                prevHash: head.hash,
                canonicalText: EventChain.canonicalText(
                    runID: runID, seq: seq, ts: JournalTimestamp.format(ts), type: event.type, step: event.step,
                    host: event.host, payloadJSON: payloadJSON))
            let record = EventRecord(
                runID: runID, seq: seq, ts: ts, type: event.type, step: event.step, host: event.host,
                payloadJSON: payloadJSON, prevHash: head.hash, hash: hash)
            state.events[runID, default: []].append(record)
            state.chainHeads[runID] = (seq, hash)
            result.events.append(record)
        }
        return result
    }

    static func begin(_ start: AttemptStart, runID: String, in state: inout State) -> Int64 {
        let id = state.nextAttemptID
        state.nextAttemptID += 1
        state.attempts.append(
            AttemptRecord(
                id: id, runID: runID, nodeID: start.nodeID, phase: start.phase, number: start.number,
                intent: start.intent, startedAt: start.startedAt, stdoutExcerpt: "", stderrExcerpt: ""))
        return id
    }

    static func finish(_ id: Int64, _ end: AttemptEnd, in state: inout State) throws {
        guard let index = state.attempts.firstIndex(where: { $0.id == id }), state.attempts[index].outcome == nil else {
            throw JournalError.attemptNotInFlight(id)
        }
        state.attempts[index].finishedAt = end.finishedAt
        state.attempts[index].outcome = end.outcome
        state.attempts[index].exitCode = end.exitCode
        state.attempts[index].stdoutExcerpt = end.stdout
        state.attempts[index].stderrExcerpt = end.stderr
        state.attempts[index].error = end.error
        state.attempts[index].commandsJSON = RanCommand.json(end.commands)
    }
}

// MARK: - Reads for the reports (RunbookReports)

extension InMemoryJournal {
    /// Up to `limit` runs, newest first (by start time, then id), as `Journal.runs(limit:)`.
    public func runs(limit: Int) throws -> [RunRecord] {
        let runs = state.withLock { Array($0.runs.values) }
        return Array(runs.sorted { ($0.startedAt, $0.id) > ($1.startedAt, $1.id) }.prefix(max(0, limit)))
    }

    /// The run's event chain checked as `Journal.verifyChain(runID:)` checks it (sequence, hashes,
    /// links, the recorded head); there are no row digests in memory.
    public func verifyChain(runID: String) throws -> ChainVerification {
        let (known, events, head) = state.withLock {
            ($0.runs[runID] != nil, $0.events[runID] ?? [], $0.chainHeads[runID])
        }
        guard known else { throw JournalError.runNotFound(runID) }
        var previous = EventChain.genesisHash
        for (index, event) in events.enumerated() {
            guard event.seq == index + 1 else { return .broken(seq: index + 1, reason: .missing(foundSeq: event.seq)) }
            let computed = EventChain.expectedHash(of: event)
            guard computed == event.hash else {
                return .broken(seq: event.seq, reason: .hashMismatch(stored: event.hash, computed: computed))
            }
            guard event.prevHash == previous else {
                return .broken(seq: event.seq, reason: .prevHashMismatch(stored: event.prevHash, expected: previous))
            }
            previous = event.hash
        }
        let recorded = head ?? (0, EventChain.genesisHash)
        guard recorded.seq == events.count, recorded.hash == previous else {
            return .broken(
                seq: min(recorded.seq + 1, max(events.count, 1)),
                reason: .headMismatch(recordedLastSeq: recorded.seq, recordedHash: recorded.hash))
        }
        return .ok(eventCount: events.count)
    }
}
