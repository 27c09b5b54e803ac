import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// A gate's prompt that reads an earlier step's outputs is known only once that step ran:
/// `runbook status` of the parked run shows it as the run resolved it, not as `${{ ... }}` (seen
/// on the lab: the failback's `differences` gate showed `${{ steps.verify.outputs.listing }}`
/// instead of the paths that differ).
extension RunTests {
    @Test func statusShowsAWaitingGatesPromptWithTheOutputsItReads() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let inventory = try scratch.write("inventory.yaml", Self.inventory)
        let runbook = try scratch.write(
            "runbook.yaml",
            """
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
            """)

        let parked = try RunbookTestSupport.runbook(scratch, ["run", runbook, "-i", inventory, "--yes"])
        #expect(parked.status == 4, "\(parked.stdout)\(parked.stderr)")
        let runID = try latestRunID(scratch)

        let status = try RunbookTestSupport.runbook(scratch, ["status", runID])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(
            status.stdout.contains("differences: The volumes differ: - split/split-brain.txt. Accept?"),
            "\(status.stdout)")
        #expect(!status.stdout.contains("${{"), "\(status.stdout)")
    }
}
