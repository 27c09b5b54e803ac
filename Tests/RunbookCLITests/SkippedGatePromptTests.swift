import Foundation
import RunbookTestSupport
import Testing

/// A gate its `when` skips runs nothing, so its prompt is not an error when it reads an output of
/// a step that was itself skipped (the shipped failback's `accept-differences` after a `reverify`
/// skipped because the first diff was clean: the lab's planned failback failed there, exit 1).
@Suite struct SkippedGatePromptTests {
    @Test func aGateSkippedByItsWhenDoesNotResolveItsPromptAgainstASkippedStep() throws {
        let scratch = try Scratch("skipped-gate")
        try FileManager.default.createDirectory(atPath: scratch.work + "/s", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.work + "/t", withIntermediateDirectories: true)
        let inventory = try scratch.write(
            "i.yaml",
            """
            apiVersion: runbook/v1
            kind: Inventory
            metadata: {name: q}
            hosts:
              localhost: {transport: local}
            """)
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: skipped-gate}
            steps:
              - id: reverify
                when: "false"
                probe: tree.diff
                with: {source: \(scratch.work)/s, target: \(scratch.work)/t}
              - id: accept
                needs: [reverify]
                when: "false"
                gate:
                  approval: {prompt: "left ${{ steps.reverify.outputs.differences }}", timeout: 1m, on_timeout: abort}
            """)
        let result = try runbook(scratch, ["run", file, "-i", inventory, "--yes"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let output = result.stdout + result.stderr
        #expect(output.contains("accept on localhost: skipped — when: false is false"), "\(output)")
    }
}
