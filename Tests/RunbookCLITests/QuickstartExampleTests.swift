import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// `Examples/quickstart/checked-copy.yaml`, the example of a precondition, a probe step with
/// `expect`, an `until` gate and `undo: none` that docs/FORMAT.md and the README point a new
/// author at, run as the README says (the built binary, the quickstart inventory), so it cannot rot.
extension RunTests {
    static let quickstart = PackagePaths.root.appendingPathComponent("Examples/quickstart")

    func checkedCopy(_ scratch: Scratch, _ command: String, _ extra: [String]) throws -> ProcessOutput {
        try runbook(
            scratch,
            [
                command, Self.quickstart.appendingPathComponent("checked-copy.yaml").path, "-i",
                Self.quickstart.appendingPathComponent("inventory.yaml").path,
            ] + extra)
    }

    @Test func theCheckedCopyExampleRunsToItsEndAndARerunChangesNothing() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let workdir = scratch.work + "/sites"
        let validate = try runbook(
            scratch,
            [
                "validate", Self.quickstart.appendingPathComponent("checked-copy.yaml").path, "-i",
                Self.quickstart.appendingPathComponent("inventory.yaml").path,
            ])
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(!validate.stderr.contains("warning"), "\(validate.stderr)")

        let run = try checkedCopy(scratch, "run", ["--yes", "-p", "workdir=\(workdir)"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: workdir + "/site-b/COPIED"))
        #expect(FileManager.default.fileExists(atPath: workdir + "/site-b/file3.txt"))
        let runID = try latestRunID(scratch)
        let steps = try scratch.journal().steps(runID: runID)
        for id in ["wait-copied", "same-files", "mark-copied"] {
            #expect(steps.contains { $0.nodeID == id && $0.state == .succeeded }, "\(id): \(steps.map(\.nodeID))")
        }
        for host in ["site-a", "site-b"] {
            #expect(
                (run.stdout + run.stderr).contains("✓ precondition parent-writable@\(host) on \(host): exited 0"),
                "\(run.stdout)")
        }
        #expect(
            (run.stdout + run.stderr).contains("wait-copied poll 1: outputs.exit_code == 0 is true"), "\(run.stdout)")

        let plan = try checkedCopy(scratch, "plan", ["-p", "workdir=\(workdir)"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("0 will change"), "\(plan.stdout)")
    }

    @Test func theCheckedCopyExamplesPreconditionStopsTheRunBeforeAnythingChanges() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let blocker = try scratch.write("not-a-directory", "")
        let run = try checkedCopy(scratch, "run", ["--yes", "-p", "workdir=\(blocker)/below/sites"])
        #expect(run.status == 3, "\(run.stdout)\n\(run.stderr)")
        #expect((run.stdout + run.stderr).contains("the work directory's parent is missing or cannot be written"))
        #expect(!FileManager.default.fileExists(atPath: blocker + "/below"))
    }
}
