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
        #expect(why.contains("b: undo `undo b` exited 5: stuck"))
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
}
