import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// A gate's prompt that reads an earlier step's outputs is known only once that step ran:
/// `runbook status` of the parked run shows it as the run resolved it, not as `${{ ... }}` (seen
/// on the lab: the failback's `differences` gate showed `${{ steps.verify.outputs.listing }}`
/// instead of the paths that differ).
@Suite struct GatePromptStatusTests {
    let binary = PackagePaths.runbookExecutable

    @Test func statusShowsAWaitingGatesPromptWithTheOutputsItReads() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the runbook executable first")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-prompt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let inventory = root.appendingPathComponent("inventory.yaml").path
        try """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: local}
        defaults: {transport: local}
        hosts:
          here: {roles: [site]}
        """.write(toFile: inventory, atomically: true, encoding: .utf8)
        let runbook = root.appendingPathComponent("runbook.yaml").path
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: prompt}
        roles:
          site: {min: 1}
        steps:
          - id: verify
            action: shell
            with: {run: [printf, "%s", "- split/split-brain.txt"]}
          - id: differences
            needs: [verify]
            gate:
              approval:
                prompt: "The volumes differ: ${{ steps.verify.outputs.stdout }}. Accept?"
        """.write(toFile: runbook, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = root.appendingPathComponent("state").path
        environment["NO_COLOR"] = "1"

        let parked = try runProgram(binary, ["run", runbook, "-i", inventory, "--yes"], environment: environment)
        #expect(parked.status == 4, "\(parked.stdout)\(parked.stderr)")
        let journal = try Journal(
            path: root.appendingPathComponent("state/journal.sqlite").path, redactor: Redactor(secrets: []))
        let runID = try #require(try journal.runs(limit: 1).first?.id)

        let status = try runProgram(binary, ["status", runID], environment: environment)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(
            status.stdout.contains("differences: The volumes differ: - split/split-brain.txt. Accept?"),
            "\(status.stdout)")
        #expect(!status.stdout.contains("${{"), "\(status.stdout)")
    }
}
