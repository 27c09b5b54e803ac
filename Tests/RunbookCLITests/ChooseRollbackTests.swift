import Foundation
import RunbookCore
import RunbookExecution
import RunbookRuntime
import RunbookTestSupport
import Testing

@testable import RunbookCLI

/// Issue 18, defect 1: a `choose` decided at run time (its `when` reads a probe's output) is
/// undone like any step: the plan's rollback order and `rollback --dry-run` list it, the
/// automatic rollback and `runbook rollback` undo the alternative it took, and so does the
/// rollback that finishes one killed while it ran.
@Suite(.serialized) struct ChooseRollbackTests {
    let run = RunTests()
    let crash = CrashResumeTests()

    /// `prep` makes a directory, `look` reads `a`, `pick` (decided at run time) touches a file
    /// in it, `boom` fails. `prep`'s undo (`rmdir`) fails unless `pick` was undone first.
    static func runbook(_ work: String, policy: String, undoSleep: Double = 0) -> String {
        """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: choose-undo}
        on_failure: \(policy)
        steps:
          - id: prep
            action: shell
            with: {run: [mkdir, \(work)/dir], check: [test, -d, \(work)/dir]}
            undo: {action: shell, with: {run: [rmdir, \(work)/dir], check: [test, '!', -e, \(work)/dir]}}
          - id: look
            needs: [prep]
            probe: command
            with: {run: [echo, a]}
          - id: pick
            needs: [look]
            choose:
              - when: steps.look.outputs.stdout == 'a'
                step:
                  action: shell
                  with: {run: [touch, \(work)/dir/a], check: [test, -e, \(work)/dir/a]}
                  undo:
                    action: shell
                    with:
                      script: 'echo undo-a >> \(work)/undos; sleep \(undoSleep); rm -f \(work)/dir/a'
                      check: [test, '!', -e, \(work)/dir/a]
              - otherwise:
                  action: shell
                  with: {run: [touch, \(work)/dir/b], check: [test, -e, \(work)/dir/b]}
                  undo: {action: shell, with: {run: [rm, -f, \(work)/dir/b]}}
          - id: boom
            needs: [pick]
            action: shell
            with: {run: ["false"]}
            undo: {action: shell, with: {run: ["true"]}}
        """
    }

    func files(_ scratch: Scratch) -> (dir: Bool, a: Bool) {
        (
            FileManager.default.fileExists(atPath: scratch.work + "/dir"),
            FileManager.default.fileExists(atPath: scratch.work + "/dir/a")
        )
    }

    @Test func thePlanListsTheChooseInItsRollbackOrder() throws {
        let scratch = try Scratch()
        let file = try scratch.write("r.yaml", Self.runbook(scratch.work, policy: "rollback"))
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        let plan = try RunbookTestSupport.runbook(scratch, ["plan", file, "-i", inventory, "--offline"])
        #expect(plan.status == 0, "\(plan.stderr)")
        let order = plan.stdout.components(separatedBy: "Rollback order").last ?? ""
        #expect(order.contains("1. boom"), "\(plan.stdout)")
        #expect(order.contains("2. pick: the undo of the alternative taken at run time"), "\(plan.stdout)")
        #expect(order.contains("3. prep"), "\(plan.stdout)")
    }

    /// In-process through the run controller (the rollback is the subject, not the process).
    @Test func theAutomaticRollbackUndoesTheAlternativeTaken() async throws {
        let scratch = try Scratch()
        let file = try scratch.write("r.yaml", Self.runbook(scratch.work, policy: "rollback"))
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        let end = try await InProcessRun(scratch).start(file, inventory: inventory)
        #expect(end.exitCode == 1, "\(end.outcome)")
        #expect(files(scratch) == (false, false), "\(end.outcome)")
        let runID = end.runID
        let steps = try scratch.journal().steps(runID: runID)
        #expect(steps.first { $0.nodeID == "pick" }?.state == .undone, "\(steps.map { "\($0.nodeID)=\($0.state)" })")
        #expect(steps.first { $0.nodeID == "prep" }?.state == .undone, "\(steps.map { "\($0.nodeID)=\($0.state)" })")
        #expect(try scratch.journal().run(id: runID)?.status == .rolledBack)
    }

    /// In-process through the run controller (the rollback is the subject, not the process).
    @Test func rollbackDryRunListsItAndRunbookRollbackUndoesIt() async throws {
        let scratch = try Scratch()
        let file = try scratch.write("r.yaml", Self.runbook(scratch.work, policy: "stop"))
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        let run = try InProcessRun(scratch)
        let end = try await run.start(file, inventory: inventory)
        #expect(end.exitCode == 1, "\(end.outcome)")
        #expect(files(scratch) == (true, true))
        let dry = try await run.rollback(end.runID, dryRun: true)
        #expect(dry.result == nil)
        let listing = RunbookCommand.RollbackCommand.listing(
            runID: end.runID, dry.listed.entries, stoppedAt: dry.listed.stoppedAt)
        #expect(listing.contains("pick"), "\(listing)")
        #expect(listing.contains("rm -f \(scratch.work)/dir/a"), "\(listing)")
        #expect(files(scratch) == (true, true))
        let rollback = try await run.rollback(end.runID)
        #expect(rollback.result?.failed.isEmpty == true, "\(String(describing: rollback.result))")
        #expect(files(scratch) == (false, false), "\(String(describing: rollback.result))")
    }

    /// Killed while `pick`'s undo runs, then `runbook rollback RUN` (or `resume`) finishes it.
    @Test(arguments: ["rollback", "resume"])
    func aRollbackKilledWhileUndoingTheChooseIsFinished(_ finish: String) throws {
        let scratch = try Scratch()
        let file = try scratch.write("r.yaml", Self.runbook(scratch.work, policy: "rollback", undoSleep: 0.5))
        let inventory = try scratch.write("i.yaml", RunTests.inventory)
        let undos = scratch.work + "/undos"
        let process = try crash.start(["run", file, "-i", inventory, "--yes"], state: scratch.state)
        #expect(crash.kill(process, .atEntry("undo-a"), file: undos), "the run ended before pick's undo began")
        let runID = try run.latestRunID(scratch)
        var exits: [Int32] = []
        for _ in 0..<3 {
            let again = try crash.start([finish, runID, "--yes"], state: scratch.state)
            exits.append(crash.wait(again, seconds: 30) ?? -1)
            if try scratch.journal().run(id: runID)?.status == .rolledBack { break }
        }
        #expect(try scratch.journal().run(id: runID)?.status == .rolledBack, "exits \(exits)")
        #expect(files(scratch) == (false, false), "exits \(exits)")
        let steps = try scratch.journal().steps(runID: runID)
        #expect(steps.first { $0.nodeID == "pick" }?.state == .undone, "\(steps.map { "\($0.nodeID)=\($0.state)" })")
        #expect(try scratch.journal().verifyChain(runID: runID).isOK)
    }
}
