import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// The alternative a `choose` decided at run time took is journaled when it is decided: a
/// rollback undoes that one and a resume keeps to it, even when the probe it read says something
/// else by then (a resume runs the probe again and journals its new outputs). Finding it again
/// from those outputs undid the wrong alternative, and a resume applied the other one on top.
@Suite(.serialized) struct ChooseJournalTests {
    let run = RunTests()

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
        let file: String
        let inventory: String

        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: scratch.work + "/" + name) }
        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: scratch.work + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    /// The first run, with `look` printing `a`: it stops at `pick` (without `go`) or at `boom`.
    func firstRun(go: Bool) throws -> (setup: Setup, runID: String) {
        let scratch = try Scratch()
        let setup = Setup(
            scratch: scratch, file: try scratch.write("r.yaml", Self.runbook(scratch.work)),
            inventory: try scratch.write("i.yaml", RunTests.inventory))
        try setup.write("site", "a\n")
        if go { try setup.write("go", "") }
        let first = try RunbookTestSupport.runbook(scratch, ["run", setup.file, "-i", setup.inventory, "--yes"])
        #expect(first.status == 1, "\(first.stdout)\(first.stderr)")
        #expect(setup.exists("dir/a") && !setup.exists("dir/b"), "\(first.stdout)\(first.stderr)")
        return (setup, try run.latestRunID(scratch))
    }

    /// `runbook rollback RUN` undoes everything (`pick`'s `a` first, or `prep`'s `rmdir` fails).
    func rollsBackEverything(_ setup: Setup, _ runID: String) throws {
        let rollback = try RunbookTestSupport.runbook(setup.scratch, ["rollback", runID, "--yes"])
        #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
        #expect(!setup.exists("dir"), "\(rollback.stdout)\(rollback.stderr)")
        #expect(try pick(setup, runID)?.state == .undone)
        #expect(try setup.scratch.journal().verifyChain(runID: runID).isOK)
    }

    func pick(_ setup: Setup, _ runID: String) throws -> StepRecord? {
        try setup.scratch.journal().steps(runID: runID).first { $0.nodeID == "pick" }
    }

    /// `pick` took `a` and failed after touching `dir/a`; `site` now says `b`: the resume does not
    /// touch `dir/b` on top, it says why, and the rollback then undoes `a`.
    @Test func aResumeAfterTheProbeChangedDoesNotApplyTheOtherAlternative() throws {
        let (setup, runID) = try firstRun(go: false)
        try setup.write("site", "b\n")
        try setup.write("go", "")
        let resumed = try RunbookTestSupport.runbook(setup.scratch, ["resume", runID, "--yes"])
        let said = resumed.stdout + resumed.stderr
        #expect(resumed.status != 0, "\(said)")
        #expect(!setup.exists("dir/b"), "the other alternative was applied on top: \(said)")
        #expect(
            said.contains("chose alternative 1 when it ran; now alternative 2 would be chosen"), "\(said)")
        #expect(said.contains("steps.look.outputs.stdout == 'a' is false"), "\(said)")
        try rollsBackEverything(setup, runID)
    }

    /// `pick` took `a`, `boom` failed; a resume runs `look` again, which now prints `b`: the
    /// re-verify of `pick` says which alternative it took and which would be chosen now, and the
    /// rollback (dry run and real) undoes `a`, the one applied.
    @Test func aRollbackAfterTheProbeChangedUndoesTheAlternativeApplied() throws {
        let (setup, runID) = try firstRun(go: true)
        try setup.write("site", "b\n")
        let resumed = try RunbookTestSupport.runbook(setup.scratch, ["resume", runID, "--yes"])
        let said = resumed.stdout + resumed.stderr
        #expect(resumed.status != 0, "\(said)")
        #expect(
            said.contains("chose alternative 1 when it ran; now alternative 2 would be chosen"), "\(said)")
        let look = try setup.scratch.journal().steps(runID: runID).first { $0.nodeID == "look" }
        #expect(look?.outputsJSON?.contains("\"b") == true, "the resume journaled look's new output: \(look as Any)")

        let show = try RunbookTestSupport.runbook(setup.scratch, ["show", runID])
        #expect(show.stdout.contains("took alternative 1"), "\(show.stdout)")
        let status = try RunbookTestSupport.runbook(setup.scratch, ["status", runID])
        #expect(status.stdout.contains("took alternative 1"), "\(status.stdout)")

        let dry = try RunbookTestSupport.runbook(setup.scratch, ["rollback", runID, "--dry-run"])
        #expect(dry.stdout.contains("rm -f \(setup.scratch.work)/dir/a"), "\(dry.stdout)")
        #expect(!dry.stdout.contains("/dir/b"), "\(dry.stdout)")
        try rollsBackEverything(setup, runID)
    }

    /// A journal written before the alternative was kept (none recorded): the rollback finds it
    /// again from the journaled outputs, as it did.
    @Test func withoutARecordTheRollbackFindsTheAlternativeFromTheOutputs() throws {
        let (setup, runID) = try firstRun(go: true)
        var record = try #require(try pick(setup, runID))
        record.chosenAlternative = nil
        try setup.scratch.journal().upsertStep(record)
        #expect(try pick(setup, runID)?.chosenAlternative == nil)
        try rollsBackEverything(setup, runID)
    }
}
