import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime
import RunbookTestSupport
import Testing

@testable import RunbookCLI

/// The alternative a `choose` decided at run time took is journaled when it is decided: a
/// rollback undoes that one and a resume keeps to it, even when the probe it read says something
/// else by then (a resume runs the probe again and journals its new outputs). Finding it again
/// from those outputs undid the wrong alternative, and a resume applied the other one on top.
/// The runs, resumes and rollbacks are driven in-process through the run controller (they are
/// the subject, not the process); `show` and `status` are spawned.
@Suite(.serialized) struct ChooseJournalTests {

    /// `prep` makes a directory, `look` prints the file `site`, `pick` touches `dir/a` when it
    /// reads `a` and `dir/b` otherwise (failing until the file `go` exists), `boom` (after both,
    /// so a resume runs `look` again) fails until the file `pass` exists. `prep`'s undo (`rmdir`) fails unless `pick` was undone first.
    static func runbook(_ work: String) -> String {
        """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: choose-journal}
        on_failure: stop
        steps:
          - id: prep
            action: shell
            with: {run: [mkdir, \(work)/dir], check: [test, -d, \(work)/dir]}
            undo: {action: shell, with: {run: [rmdir, \(work)/dir], check: [test, '!', -e, \(work)/dir]}}
          - id: look
            needs: [prep]
            probe: command
            with: {run: [cat, \(work)/site]}
          - id: pick
            needs: [look]
            choose:
              - when: steps.look.outputs.stdout == 'a'
                step:
                  action: shell
                  with: {script: 'touch \(work)/dir/a; test -e \(work)/go', check: [test, -e, \(work)/dir/a]}
                  undo: {action: shell, with: {run: [rm, -f, \(work)/dir/a], check: [test, '!', -e, \(work)/dir/a]}}
              - otherwise:
                  action: shell
                  with: {script: 'touch \(work)/dir/b; test -e \(work)/go', check: [test, -e, \(work)/dir/b]}
                  undo: {action: shell, with: {run: [rm, -f, \(work)/dir/b], check: [test, '!', -e, \(work)/dir/b]}}
          - id: boom
            needs: [look, pick]
            action: shell
            with: {script: 'test -e \(work)/pass'}
        """
    }

    struct Setup {
        let scratch: Scratch
        let run: InProcessRun
        let file: String
        let inventory: String

        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: scratch.work + "/" + name) }
        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: scratch.work + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    /// The first run, with `look` printing `a`: it stops at `pick` (without `go`) or at `boom`.
    func firstRun(go: Bool) async throws -> (setup: Setup, runID: String) {
        let scratch = try Scratch()
        let setup = Setup(
            scratch: scratch, run: try InProcessRun(scratch),
            file: try scratch.write("r.yaml", Self.runbook(scratch.work)),
            inventory: try scratch.write("i.yaml", RunTests.inventory))
        try setup.write("site", "a\n")
        if go { try setup.write("go", "") }
        let first = try await setup.run.start(setup.file, inventory: setup.inventory)
        #expect(first.exitCode == 1, "\(first.outcome) \(setup.run.printed.all)")
        #expect(setup.exists("dir/a") && !setup.exists("dir/b"), "\(setup.run.printed.all)")
        return (setup, first.runID)
    }

    /// `runbook rollback RUN` undoes everything (`pick`'s `a` first, or `prep`'s `rmdir` fails).
    func rollsBackEverything(_ setup: Setup, _ runID: String) async throws {
        // Exit 0: nothing failed to undo (a failed undo exits 7).
        let rollback = try await setup.run.rollback(runID)
        #expect(rollback.result?.failed.isEmpty == true, "\(String(describing: rollback.result))")
        #expect(!setup.exists("dir"), "\(setup.run.printed.all)")
        #expect(try pick(setup, runID)?.state == .undone)
        #expect(try setup.scratch.journal().verifyChain(runID: runID).isOK)
    }

    func pick(_ setup: Setup, _ runID: String) throws -> StepRecord? {
        try setup.scratch.journal().steps(runID: runID).first { $0.nodeID == "pick" }
    }

    /// `pick` took `a` and failed after touching `dir/a`; `site` now says `b`: the resume does not
    /// touch `dir/b` on top, it says why, and the rollback then undoes `a`.
    @Test func aResumeAfterTheProbeChangedDoesNotApplyTheOtherAlternative() async throws {
        let (setup, runID) = try await firstRun(go: false)
        try setup.write("site", "b\n")
        try setup.write("go", "")
        let resumed = try await setup.run.resume(runID)
        let said = setup.run.printed.all
        #expect(resumed.exitCode != 0, "\(resumed.outcome) \(said)")
        #expect(!setup.exists("dir/b"), "the other alternative was applied on top: \(said)")
        #expect(
            said.contains("chose alternative 1 when it ran; now alternative 2 would be chosen"), "\(said)")
        #expect(said.contains("steps.look.outputs.stdout == 'a' is false"), "\(said)")
        try await rollsBackEverything(setup, runID)
    }

    /// `pick` took `a`, `boom` failed; a resume runs `look` again, which now prints `b`: the
    /// re-verify of `pick` says which alternative it took and which would be chosen now, and the
    /// rollback (dry run and real) undoes `a`, the one applied.
    @Test func aRollbackAfterTheProbeChangedUndoesTheAlternativeApplied() async throws {
        let (setup, runID) = try await firstRun(go: true)
        try setup.write("site", "b\n")
        let resumed = try await setup.run.resume(runID)
        let said = setup.run.printed.all
        #expect(resumed.exitCode != 0, "\(resumed.outcome) \(said)")
        #expect(
            said.contains("chose alternative 1 when it ran; now alternative 2 would be chosen"), "\(said)")
        let look = try setup.scratch.journal().steps(runID: runID).first { $0.nodeID == "look" }
        #expect(look?.outputsJSON?.contains("\"b") == true, "the resume journaled look's new output: \(look as Any)")

        let show = try RunbookTestSupport.runbook(setup.scratch, ["show", runID])
        #expect(show.stdout.contains("took alternative 1"), "\(show.stdout)")
        let status = try RunbookTestSupport.runbook(setup.scratch, ["status", runID])
        #expect(status.stdout.contains("took alternative 1"), "\(status.stdout)")

        let dry = try await setup.run.rollback(runID, dryRun: true)
        #expect(dry.result == nil)
        let listing = RunbookCommand.RollbackCommand.listing(
            runID: runID, dry.listed.entries, stoppedAt: dry.listed.stoppedAt)
        #expect(listing.contains("rm -f \(setup.scratch.work)/dir/a"), "\(listing)")
        #expect(!listing.contains("/dir/b"), "\(listing)")
        try await rollsBackEverything(setup, runID)
    }

    /// A journal written before the alternative was kept (none recorded): the rollback finds it
    /// again from the journaled outputs, as it did.
    @Test func withoutARecordTheRollbackFindsTheAlternativeFromTheOutputs() async throws {
        let (setup, runID) = try await firstRun(go: true)
        var record = try #require(try pick(setup, runID))
        record.chosenAlternative = nil
        try setup.scratch.journal().upsertStep(record)
        #expect(try pick(setup, runID)?.chosenAlternative == nil)
        try await rollsBackEverything(setup, runID)
    }
}
