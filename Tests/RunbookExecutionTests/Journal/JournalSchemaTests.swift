import Foundation
import GRDB
import RunbookCore
import Testing

@testable import RunbookExecution

@Suite struct JournalSchemaTests {
    @Test func createsSchemaInWALMode() throws {
        let dir = TempDir()
        let journal = try openJournal(dir)
        #expect(try journal.journalMode() == "wal")
        #expect(try journal.synchronousMode() == 2, "commits must be synced (FULL), not NORMAL")

        let raw = try DatabaseQueue(path: dir.file("journal.sqlite"))
        let tables = try raw.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        for table in ["approvals", "attempts", "events", "runs", "steps"] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        let triggers = try raw.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        }
        // The append-only events, and the digests of the rows a resume acts on (RowDigest).
        let digests = ["approvals", "attempts", "runs", "steps"].flatMap {
            ["\($0)_digest_insert", "\($0)_digest_update"]
        }
        #expect(triggers == (digests + ["events_no_delete", "events_no_update"]).sorted())
        let mode = try raw.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal", "WAL must be persistent in the file, not just on our connection")
    }

    @Test func refusesAJournalFromANewerVersion() throws {
        let dir = TempDir()
        try openJournal(dir).close()
        try DatabaseQueue(path: dir.file("journal.sqlite")).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999-future')")
        }
        #expect(throws: JournalError.newerSchema(path: dir.file("journal.sqlite"))) {
            try openJournal(dir)
        }
    }

    /// A journal from before `steps.chosenAlternative` (schema v5) gains it: its rows keep their
    /// digests (the run verifies), a step given an alternative is covered by its digest, and a
    /// step's alternative changed behind the journal's back breaks the run's chain.
    @Test func aJournalFromBeforeTheChosenAlternativeGainsItAndKeepsItsDigests() throws {
        let dir = TempDir()
        var config = Configuration()
        config.prepareDatabase { db in db.add(function: RowDigest.function) }
        let old = try DatabaseQueue(path: dir.file("journal.sqlite"), configuration: config)
        try Journal.migrator.migrate(old, upTo: "v5-row-digests")
        try old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (id, runbookName, runbookPath, inventoryName, inventoryPath, mode, paramsJSON,
                                      planHash, planJSON, status, pid, hostname, startedAt, updatedAt)
                    VALUES ('r1', 'rb', '/rb.yaml', 'inv', '/inv.yaml', 'run', '{}', 'h', '{}', 'failed', 1, 'ops',
                            '2026-11-25 09:15:02.000', '2026-11-25 09:15:02.000');
                    INSERT INTO steps (runID, nodeID, ordinal, stepID, state, changed, attempts)
                    VALUES ('r1', 'pick', 1, 'pick', 'succeeded', 1, 1);
                    """)
        }
        try old.close()

        let journal = try openJournal(dir)
        #expect(try journal.verifyChain(runID: "r1").isOK, "a row written before keeps its digest")
        var pick = try #require(try journal.step(runID: "r1", nodeID: "pick"))
        #expect(pick.chosenAlternative == nil)
        pick.chosenAlternative = 1
        try journal.upsertStep(pick)
        #expect(try journal.step(runID: "r1", nodeID: "pick")?.chosenAlternative == 1)
        #expect(try journal.verifyChain(runID: "r1").isOK)
        try journal.close()

        try DatabaseQueue(path: dir.file("journal.sqlite")).write { db in
            try db.execute(sql: "DROP TRIGGER steps_digest_update; UPDATE steps SET chosenAlternative = 0")
        }
        #expect(try openJournal(dir).verifyChain(runID: "r1").isOK == false, "the edited alternative is noticed")
    }

    @Test func journalFileIsOwnerOnly() throws {
        let dir = TempDir()
        _ = try openJournal(dir)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("journal.sqlite"))
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        #expect(mode & 0o077 == 0, "journal mode is \(String(mode, radix: 8))")
    }

    @Test func reopenPreservesData() throws {
        let dir = TempDir()
        let run = makeRun(id: "20261125-091502-3f9a")
        let steps = [
            StepRecord(runID: run.id, nodeID: "stop-session@gfs-a1", stepID: "stop-session", host: "gfs-a1"),
            StepRecord(runID: run.id, nodeID: "check-peers@gfs-b1", stepID: "check-peers", host: "gfs-b1"),
            StepRecord(runID: run.id, nodeID: "approve-cutover", stepID: "approve-cutover"),
        ]
        do {
            let journal = try openJournal(dir)
            try journal.createRun(run)
            for step in steps { try journal.upsertStep(step) }
            var finished = steps[0]
            finished.state = .succeeded
            finished.changed = true
            finished.completionSeq = 1
            finished.outputsJSON = #"{"stopped":"true"}"#
            finished.startedAt = fixedStart
            finished.finishedAt = fixedStart.addingTimeInterval(3)
            try journal.upsertStep(finished)
            try journal.appendEvent(runID: run.id, type: "run.started", payload: ["mode": "run"])
            let approval = ApprovalRecord(
                runID: run.id, gate: "approve-cutover", by: "alice", reason: "lag ok",
                planHash: "sha256:abc", at: fixedStart, decision: .approved
            )
            try journal.recordApproval(approval)
            try journal.close()
        }
        let reopened = try openJournal(dir)
        var storedRun = try #require(try reopened.run(id: run.id))
        storedRun.updatedAt = run.updatedAt
        #expect(storedRun == run)
        let stored = try reopened.steps(runID: run.id)
        #expect(stored.map(\.nodeID) == steps.map(\.nodeID), "document order is kept across upserts")
        #expect(stored[0].state == .succeeded)
        #expect(stored[0].changed)
        #expect(stored[0].completionSeq == 1)
        #expect(stored[0].finishedAt == fixedStart.addingTimeInterval(3))
        #expect(stored[1].state == .pending)
        #expect(try reopened.step(runID: run.id, nodeID: "approve-cutover")?.stepID == "approve-cutover")
        #expect(try reopened.events(runID: run.id).map(\.type) == ["run.started"])
        #expect(try reopened.approval(runID: run.id, gate: "approve-cutover")?.by == "alice")
        #expect(try reopened.verifyChain(runID: run.id) == .ok(eventCount: 1))
    }

    @Test func runQueries() throws {
        let dir = TempDir()
        let journal = try openJournal(dir)
        try journal.createRun(makeRun(id: "20261125-091502-aaaa", startedAt: fixedStart))
        try journal.createRun(makeRun(id: "20261125-101502-bbbb", startedAt: fixedStart.addingTimeInterval(3600)))
        try journal.createRun(
            makeRun(
                id: "20261125-111502-cccc", inventory: "site-b-to-a", startedAt: fixedStart.addingTimeInterval(7200))
        )
        #expect(
            try journal.runs(limit: 10).map(\.id) == [
                "20261125-111502-cccc", "20261125-101502-bbbb", "20261125-091502-aaaa",
            ])
        #expect(try journal.runs(limit: 1).count == 1)
        #expect(
            try journal.latestRun(runbookName: "georep-failover", inventoryName: "site-a-to-b")?.id
                == "20261125-101502-bbbb"
        )
        #expect(try journal.latestRun(runbookName: "other", inventoryName: "site-a-to-b") == nil)

        try journal.updateRun(id: "20261125-101502-bbbb", status: .failed, exitCode: 3, finishedAt: fixedStart)
        var run = try #require(try journal.run(id: "20261125-101502-bbbb"))
        #expect(run.status == .failed)
        #expect(run.exitCode == 3)
        #expect(run.finishedAt == fixedStart)
        // Resuming sets it running again and clears the end.
        try journal.write { tx in
            try tx.updateRun(id: "20261125-101502-bbbb", status: .running)
            try tx.updateRunOwner(id: "20261125-101502-bbbb", pid: 7, hostname: "ops-2")
        }
        run = try #require(try journal.run(id: "20261125-101502-bbbb"))
        #expect(run.status == .running)
        #expect(run.exitCode == nil)
        #expect(run.finishedAt == nil)
        #expect(run.pid == 7)
        #expect(run.hostname == "ops-2")
        #expect(throws: JournalError.runNotFound("nope")) {
            try journal.updateRun(id: "nope", status: .failed)
        }
    }

    @Test func completionSequenceAndApprovals() throws {
        let dir = TempDir()
        let journal = try openJournal(dir)
        let run = makeRun(id: "20261125-091502-0001")
        try journal.createRun(run)
        for (index, node) in ["a@h1", "b@h1", "c@h2"].enumerated() {
            try journal.write { tx in
                let seq = try tx.nextCompletionSeq(runID: run.id)
                #expect(seq == index + 1)
                try tx.upsertStep(
                    StepRecord(
                        runID: run.id, nodeID: node, stepID: String(node.prefix(1)), state: .succeeded,
                        changed: true, completionSeq: seq)
                )
            }
        }
        let reverse = try journal.steps(runID: run.id)
            .sorted { ($0.completionSeq ?? 0) > ($1.completionSeq ?? 0) }
            .map(\.nodeID)
        #expect(reverse == ["c@h2", "b@h1", "a@h1"])

        try journal.recordApproval(
            ApprovalRecord(
                runID: run.id, gate: "cutover", by: "bob", reason: "not yet", planHash: "p1", at: fixedStart,
                decision: .rejected))
        try journal.recordApproval(
            ApprovalRecord(
                runID: run.id, gate: "cutover", by: "alice", reason: "go", planHash: "p1",
                at: fixedStart.addingTimeInterval(60), decision: .approved))
        #expect(try journal.approvals(runID: run.id).map(\.decision) == [.rejected, .approved])
        #expect(try journal.approval(runID: run.id, gate: "cutover")?.by == "alice")
        #expect(try journal.approval(runID: run.id, gate: "other") == nil)
    }
}
