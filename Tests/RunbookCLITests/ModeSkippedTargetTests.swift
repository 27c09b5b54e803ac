import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// A step skipped by its mode needs no host: for an `any(role)` target, neither the plan nor the
/// run asks the role's hosts whether they answer (found on the two-site lab: with site A frozen,
/// the unplanned failover's planned-only steps on `any(primary)` each waited for A's connect
/// timeout in the plan, and failed the run with "no host of any(primary) answered").
@Suite struct ModeSkippedTargetTests {
    let binary = PackagePaths.runbookExecutable

    @Test func aModeSkippedAnyTargetAsksNoHostInThePlanOrTheRun() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the runbook executable first")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "runbook-modeskip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let marker = root.appendingPathComponent("done").path
        let runbookPath = root.appendingPathComponent("r.yaml").path
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: mode-skip}
        modes: [planned, unplanned]
        roles:
          lost: {min: 1}
          here: {min: 1}
        steps:
          - id: needs-lost
            modes: [planned]
            on: any(lost)
            probe: command
            with: {script: "true"}
          - id: local
            needs: [needs-lost]
            on: any(here)
            action: shell
            with: {run: [touch, "\(marker)"], check: [test, -e, "\(marker)"]}
            undo: {action: shell, with: {run: [rm, -f, "\(marker)"]}}
        """.write(toFile: runbookPath, atomically: true, encoding: .utf8)
        // `gone` refuses every connection (nothing listens on port 1).
        let inventoryPath = root.appendingPathComponent("i.yaml").path
        try """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: mode-skip}
        hosts:
          gone: {address: 127.0.0.1, port: 1, transport: ssh, connect_timeout: 2s, roles: [lost]}
          here: {transport: local, roles: [here]}
        """.write(toFile: inventoryPath, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = root.appendingPathComponent("state").path
        environment["NO_COLOR"] = "1"

        let plan = try runProgram(
            binary, ["plan", runbookPath, "-i", inventoryPath, "--mode", "unplanned"], environment: environment)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("- needs-lost"), "\(plan.stdout)")
        #expect(plan.stdout.contains("skipped: mode 'unplanned'"), "\(plan.stdout)")
        #expect(!plan.stdout.contains("no host of any(lost) answered"), "\(plan.stdout)")

        let run = try runProgram(
            binary, ["run", runbookPath, "-i", inventoryPath, "--mode", "unplanned", "--yes"], environment: environment)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: marker))
        let journal = try Journal(
            path: root.appendingPathComponent("state/journal.sqlite").path, redactor: Redactor(secrets: []))
        let runID = try #require(try journal.runs(limit: 1).first?.id)
        let steps = try journal.steps(runID: runID)
        #expect(steps.first { $0.nodeID == "needs-lost" }?.state == .skipped)
        #expect(steps.first { $0.nodeID == "local" }?.state == .succeeded)
    }
}
