import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Rollback: newest first, only what changed, never past a commit point unless asked, once.
@Suite struct RollbackTests {
    /// a, b (a commit point), c, d (found done), e; then `boom` fails.
    static let body =
        "on_failure: rollback\nconcurrency: 1\nsteps:\n" + shell("a")
        + shell("b", needs: ["a"], extra: ["commit: true"])
        + shell("c", needs: ["b"]) + shell("d", needs: ["c"], check: true) + shell("e", needs: ["d"])
        + shell("boom", needs: ["e"]) + shell("never", needs: ["boom"])

    static func hosts() -> ScriptedHosts {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "d"], with: .ok())
        hosts.answer(["do", "boom"], with: .exit(1))
        return hosts
    }

    @Test func aFailureUndoesNewestFirstAndStopsAtTheCommitPoint() async throws {
        let hosts = Self.hosts()
        let harness = try Harness(Self.body, hosts: hosts)
        guard case .rolledBack = await harness.run() else {
            Issue.record("expected a rollback")
            return
        }
        // boom applied (and failed): its undo runs first; d changed nothing; b is the commit point.
        #expect(hosts.commands().filter { $0.hasPrefix("undo") } == ["undo boom", "undo e", "undo c"])
        for id in ["boom", "e", "c"] { #expect(try harness.state(id) == .undone) }
        #expect(try harness.state("b") == .succeeded)
        #expect(try harness.state("a") == .succeeded)
        #expect(try harness.state("d") == .alreadyDone)
        #expect(try harness.state("never") == .pending)
        let started = harness.events.all.compactMap { event -> RunEvent.RollbackStarted? in
            if case .rollbackStarted(let started) = event { return started }
            return nil
        }
        #expect(started.map(\.steps) == [["boom", "e", "c"]])
        #expect(started.map(\.stopsAt) == ["b"])
        #expect(harness.journal.chainIsIntact(runID: harness.runID))
    }

    @Test func pastTheCommitPointOnRequestAndNeverTwice() async throws {
        let hosts = Self.hosts()
        let harness = try Harness(Self.body, hosts: hosts)
        _ = await harness.run()
        let rollback = Rollback(executor: harness.executor())
        let dry = rollback.entries(pastCommit: true)
        #expect(dry.entries.map(\.nodeID) == ["b", "a"])
        #expect(dry.stoppedAt == nil)
        let result = await rollback.run(pastCommit: true, dryRun: false, reason: "test")
        #expect(result.undone == ["b", "a"])
        #expect(result.failed.isEmpty)
        let again = await rollback.run(pastCommit: true, dryRun: false, reason: "test")
        #expect(again.undone.isEmpty)
        #expect(
            hosts.commands().filter { $0.hasPrefix("undo") } == ["undo boom", "undo e", "undo c", "undo b", "undo a"])
    }

    @Test func eachUndoCommitsItsIntentBeforeItRuns() async throws {
        let journal = InMemoryJournal()
        let hosts = ScriptedHosts(onRun: { _, argv in
            guard argv.first == "undo" else { return }
            let inFlight = (try? journal.inFlightAttempts(runID: "run-1")) ?? []
            // The undo's intent is the one attempt in flight when it runs.
            precondition(inFlight.map(\.phase) == [.undo] && inFlight[0].nodeID == argv[1], "\(argv): \(inFlight)")
        })
        hosts.answer(["do", "b"], with: .exit(1))
        let harness = try Harness(
            "on_failure: rollback\nsteps:\n" + shell("a") + shell("b", needs: ["a"]), hosts: hosts, journal: journal)
        guard case .rolledBack = await harness.run() else {
            Issue.record("expected a rollback")
            return
        }
        #expect(hosts.commands() == ["do a", "do b", "undo b", "undo a"])
        #expect(try harness.attempts() == ["apply a", "apply b", "undo b", "undo a"])
        #expect(try journal.inFlightAttempts(runID: harness.runID).isEmpty)
    }

    @Test func aFailedUndoIsReportedAndTheRestStillRun() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "c"], with: .exit(1))
        hosts.answer(["undo", "b"], with: .exit(5, stderr: "stuck\n"))
        let harness = try Harness(
            "on_failure: rollback\nconcurrency: 1\nsteps:\n" + shell("a") + shell("b", needs: ["a"])
                + shell("c", needs: ["b"]), hosts: hosts)
        guard case .rollbackFailed(let why) = await harness.run() else {
            Issue.record("expected rollbackFailed")
            return
        }
        #expect(
            why.contains("ROLLBACK INCOMPLETE: 1 undo failed:\n  b on localhost: undo `undo b` exited 5: stuck"),
            "\(why)")
        #expect(hosts.commands().filter { $0.hasPrefix("undo") } == ["undo c", "undo b", "undo a"])
        #expect(try harness.state("b") == .undoFailed)
        #expect(try harness.state("a") == .undone)
    }

    @Test func irreversibleStepsAreReportedNotUndone() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "boom"], with: .exit(1))
        let harness = try Harness(
            """
            on_failure: rollback
            steps:
              - id: go
                gate: {approval: {}}
                commit: true
              - id: burn
                needs: [go]
                action: shell
                with: {run: [do, burn]}
                irreversible: true

            """ + shell("boom", needs: ["burn"]), hosts: hosts)
        guard case .rolledBack = await harness.run({ $0.approvals = ["go"] }) else {
            Issue.record("expected a rollback")
            return
        }
        #expect(hosts.commands() == ["do burn", "do boom", "undo boom"])
        #expect(harness.events.lines.contains("rollback.skipped burn"))
    }

    /// a's undo is already done (its check exits 0); b's is not: its check, then the undo (the
    /// check's attempt committed with the undo's intent), then its verify.
    static let checked = """
        on_failure: rollback
        concurrency: 1
        steps:
          - id: a
            action: shell
            with: {run: [do, a]}
            undo: {action: shell, with: {run: [undo, a], check: [undone, a]}}
          - id: b
            needs: [a]
            action: shell
            with: {run: [do, b]}
            undo: {action: shell, with: {run: [undo, b], check: [undone, b], verify: [verify-undo, b]}}

        """ + shell("c", needs: ["b"])

    @Test func anUndosCheckRunsFirstAndAnUndoAlreadyDoneIsNotRun() async throws {
        let journal = InMemoryJournal()
        let hosts = ScriptedHosts(onRun: { _, argv in
            guard argv == ["undo", "b"] else { return }
            let attempts = (try? journal.attempts(runID: "run-1")) ?? []
            let check = attempts.first { $0.phase == .undoCheck && $0.nodeID == "b" }
            precondition(check?.outcome == "notDone", "the check's observation is durable first: \(attempts)")
            let inFlight = (try? journal.inFlightAttempts(runID: "run-1")) ?? []
            precondition(inFlight.map(\.phase) == [.undo], "\(inFlight)")
        })
        hosts.answer(["do", "c"], with: .exit(1))
        hosts.answer(["undone", "b"], with: .exit(1))
        let harness = try Harness(Self.checked, hosts: hosts, journal: journal)
        guard case .rolledBack = await harness.run() else {
            Issue.record("expected a rollback")
            return
        }
        #expect(
            hosts.commands().filter { !$0.hasPrefix("do") } == [
                "undo c", "undone b", "undo b", "verify-undo b", "undone a",
            ])
        #expect(
            try harness.attempts() == [
                "apply a", "apply b", "apply c", "undo c", "undoCheck b", "undo b", "undoVerify b", "undoCheck a",
            ])
        for id in ["a", "b", "c"] { #expect(try harness.state(id) == .undone) }
        #expect(try journal.inFlightAttempts(runID: harness.runID).isEmpty)
        let finished = harness.events.all.compactMap { event -> RunEvent.UndoFinished? in
            if case .undoFinished(let finished) = event { return finished }
            return nil
        }
        #expect(finished.first { $0.step == "a" }?.summary == "already undone: check exited 0")
        #expect(!harness.events.lines.contains("undo.started a"))
        #expect(harness.journal.chainIsIntact(runID: harness.runID))
    }

    @Test func aFailedUndoVerifyFailsTheUndo() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "c"], with: .exit(1))
        hosts.answer(["undone", "b"], with: .exit(1))
        hosts.answer(["undone", "a"], with: .exit(1))
        hosts.answer(["verify-undo", "b"], with: .exit(2, stderr: "still there\n"))
        let harness = try Harness(Self.checked, hosts: hosts)
        guard case .rollbackFailed(let why) = await harness.run() else {
            Issue.record("expected rollbackFailed")
            return
        }
        #expect(why.contains("b on localhost: undo verify `verify-undo b` exited 2: still there"), "\(why)")
        #expect(try harness.state("b") == .undoFailed)
        #expect(try harness.state("a") == .undone)
        #expect(hosts.commands().contains("undo a"))
    }

    /// A step whose apply was in flight when `runbook` died (no outcome journaled, so not marked
    /// changed) may have changed the world: `runbook rollback` undoes it too.
    @Test func anApplyInFlightWhenKilledIsUndone() async throws {
        let journal = InMemoryJournal()
        let hosts = ScriptedHosts()
        hosts.answer(["do", "b"], with: .exit(1))
        let harness = try Harness(
            "on_failure: stop\nconcurrency: 1\nsteps:\n" + shell("a") + shell("b", needs: ["a"])
                + shell("c", needs: ["a"]), hosts: hosts, journal: journal)
        _ = await harness.run()
        // What a kill during c's apply leaves: c running, its apply attempt begun, not finished.
        var killed = JournalBatch(runID: harness.runID)
        killed.step("c", stepID: "c", host: "localhost") {
            $0.state = .running
            $0.changed = false
        }
        killed.attempts = [.begin(AttemptStart(nodeID: "c", phase: .apply, number: 2, intent: "do c"))]
        try journal.commit(killed)
        let rollback = Rollback(executor: harness.executor())
        #expect(rollback.entries(pastCommit: false).entries.map(\.nodeID).contains("c"))
        let result = await rollback.run(pastCommit: false, dryRun: false, reason: "test")
        #expect(result.undone.contains("c"), "\(result)")
        #expect(try harness.state("c") == .undone)
    }
}
