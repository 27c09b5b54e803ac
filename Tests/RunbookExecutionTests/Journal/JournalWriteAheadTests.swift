import Foundation
import RunbookCore
import Testing

@testable import RunbookExecution

@Suite struct JournalWriteAheadTests {
    @Test func beginAttemptIsVisibleToAnotherJournalBeforeFinish() throws {
        let dir = TempDir()
        let writer = try openJournal(dir)
        let run = makeRun(id: "20261125-091502-0a0a")
        try writer.createRun(run)
        let id = try writer.beginAttempt(
            runID: run.id, nodeID: "stop-session@gfs-a1", phase: .apply, number: 1,
            intent: "gluster volume geo-replication gv0 gfs-b1::gv0 stop"
        )

        // A second journal on the same file, as a resuming process after a crash would open it.
        let reader = try openJournal(dir)
        let inFlight = try reader.inFlightAttempts(runID: run.id)
        #expect(inFlight.count == 1)
        #expect(inFlight.first?.id == id)
        #expect(inFlight.first?.intent == "gluster volume geo-replication gv0 gfs-b1::gv0 stop")
        #expect(inFlight.first?.phase == .apply)
        #expect(inFlight.first?.outcome == nil)
        #expect(inFlight.first?.isInFlight == true)

        try writer.finishAttempt(id: id, outcome: AttemptOutcome.ok, exitCode: 0, stdout: "Stopping: success")
        #expect(try reader.inFlightAttempts(runID: run.id).isEmpty)
        let attempts = try reader.attempts(runID: run.id)
        #expect(attempts.count == 1)
        #expect(attempts.first?.outcome == "ok")
        #expect(attempts.first?.exitCode == 0)
        #expect(attempts.first?.stdoutExcerpt == "Stopping: success")
        #expect(attempts.first?.finishedAt != nil)

        #expect(throws: JournalError.attemptNotInFlight(id)) {
            try writer.finishAttempt(id: id, outcome: AttemptOutcome.failed)
        }
    }

    @Test func longOutputIsCutToAnExcerpt() throws {
        let dir = TempDir()
        let journal = try Journal(path: dir.file("j.sqlite"), redactor: Redactor(secrets: []), maxExcerptBytes: 4096)
        let run = makeRun(id: "20261125-091502-0b0b")
        try journal.createRun(run)
        let id = try journal.beginAttempt(runID: run.id, nodeID: "n", phase: .verify, number: 1, intent: "x")
        let output = "HEAD" + String(repeating: "x", count: 100_000) + "TAIL"
        try journal.finishAttempt(id: id, outcome: "ok", stdout: output)
        let excerpt = try #require(try journal.attempts(runID: run.id).first?.stdoutExcerpt)
        #expect(excerpt.hasPrefix("HEAD"))
        #expect(excerpt.hasSuffix("TAIL"))
        #expect(excerpt.contains("bytes elided"))
        #expect(excerpt.utf8.count < 4096 + 100)
    }

    @Test func errorInsideWriteRollsBackStepAndEvent() throws {
        struct Boom: Error {}
        let dir = TempDir()
        let journal = try openJournal(dir)
        let run = makeRun(id: "20261125-091502-0c0c")
        try journal.createRun(run)
        try journal.upsertStep(StepRecord(runID: run.id, nodeID: "a@h", stepID: "a"))

        #expect(throws: Boom.self) {
            try journal.write { tx in
                try tx.upsertStep(StepRecord(runID: run.id, nodeID: "a@h", stepID: "a", state: .running))
                try tx.upsertStep(StepRecord(runID: run.id, nodeID: "b@h", stepID: "b"))
                try tx.appendEvent(runID: run.id, type: "step.started", step: "a", host: "h")
                throw Boom()
            }
        }
        #expect(try journal.step(runID: run.id, nodeID: "a@h")?.state == .pending)
        #expect(try journal.step(runID: run.id, nodeID: "b@h") == nil)
        #expect(try journal.events(runID: run.id).isEmpty)
        #expect(try journal.verifyChain(runID: run.id) == .ok(eventCount: 0))

        // The same writes commit together when nothing throws.
        let event = try journal.write { tx in
            try tx.upsertStep(StepRecord(runID: run.id, nodeID: "a@h", stepID: "a", state: .running))
            return try tx.appendEvent(runID: run.id, type: "step.started", step: "a", host: "h")
        }
        #expect(event.seq == 1)
        #expect(try journal.step(runID: run.id, nodeID: "a@h")?.state == .running)
        #expect(try journal.events(runID: run.id) == [event])
    }

    @Test func transactionCannotBeUsedAfterItsClosure() throws {
        let dir = TempDir()
        let journal = try openJournal(dir)
        try journal.createRun(makeRun(id: "r1"))
        let escaped = try journal.write { $0 }
        #expect(throws: JournalError.transactionEnded) {
            try escaped.appendEvent(runID: "r1", type: "x")
        }
    }
}
