import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// The saved plan (`plan -o`) and the journaled plan are the plan document `plan --format json`
/// prints, read back with its one decoder.
extension RunTests {
    @Test func aSavedPlanIsThePlanDocumentAndRefusesToRunWhenItsFilesChanged() throws {
        let scratch = try Scratch()
        let runbookText = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: saved-document}
            params:
              names: {type: list, default: [unused]}
              settle: {type: duration, default: 1m}
            steps:
              - id: make
                action: shell
                with:
                  run: [touch, "\(scratch.work)/${{ params.names[0] }}", "\(scratch.work)/${{ params.names[1] }}"]
                undo: {action: shell, with: {run: [rm, "\(scratch.work)/${{ params.names[0] }}"]}}
            """
        let file = try scratch.write("r.yaml", runbookText)
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let planFile = scratch.root.appendingPathComponent("plan.json").path
        let plan = try runbook(
            scratch, ["plan", file, "-i", inventory, "-p", "names=[one, two]", "-p", "settle=90s", "-o", planFile])
        #expect(plan.status == 0, "\(plan.stderr)")

        let document = try PlanDocument.decode(Data(contentsOf: URL(fileURLWithPath: planFile)))
        #expect(document.planHash?.count == 64 && document.createdAt != nil && document.facts?.isEmpty == false)
        let inputs = try #require(document.inputs)
        #expect(
            inputs.runbookSHA256.count == 64 && inputs.inventorySHA256.count == 64
                && inputs.runbookSHA256 != inputs.inventorySHA256)
        #expect(document.runbook == PlanDocument.Source(name: "saved-document", file: file))
        #expect(document.params.first { $0.name == "settle" }?.value == .duration(90))
        #expect(document.commandLineParams == ["names": #"["one", "two"]"#, "settle": "1m30s"])
        #expect(
            document.steps.map(\.id) == ["make"]
                && document.steps[0].commands.first?.command.argv.last == scratch.work + "/two")

        // Drift: the inventory, then the runbook, changed since the plan was made.
        try (Self.inventory + "\n# edited\n").write(toFile: inventory, atomically: true, encoding: .utf8)
        let inventoryChanged = try runbook(scratch, ["run", planFile, "-i", inventory, "--yes"])
        #expect(inventoryChanged.status == 1)
        #expect(inventoryChanged.stderr.contains("the inventory \(inventory) changed"))
        try Self.inventory.write(toFile: inventory, atomically: true, encoding: .utf8)
        try (runbookText + "\n# edited\n").write(toFile: file, atomically: true, encoding: .utf8)
        let runbookChanged = try runbook(scratch, ["run", planFile, "-i", inventory, "--yes"])
        #expect(runbookChanged.status == 1)
        #expect(runbookChanged.stderr.contains("the runbook \(file) changed"))
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/one"))

        // Unchanged again: it runs with the params it was saved with.
        try runbookText.write(toFile: file, atomically: true, encoding: .utf8)
        let runs = try runbook(scratch, ["run", planFile, "-i", inventory, "--yes"])
        #expect(runs.status == 0, "\(runs.stderr)")
        #expect(
            FileManager.default.fileExists(atPath: scratch.work + "/one")
                && FileManager.default.fileExists(atPath: scratch.work + "/two"))
    }

    @Test func theJournaledPlanIsThePlanDocumentWithItsInputs() throws {
        let scratch = try Scratch()
        let secret = "tok-\(UUID().uuidString)"
        let file = try scratch.write(
            "r.yaml",
            """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: journaled-document}
            modes: [planned, drill]
            params:
              token: {type: string, secret: true, from_env: DR_TOKEN}
              label: {type: string, default: blue}
            steps:
              - id: use
                action: shell
                with: {run: [echo, "${{ params.token }}", "${{ params.label }}"]}
                undo: {action: shell, with: {run: ["true"]}}
              - id: go-ahead
                needs: [use]
                gate: {approval: {prompt: "Promote ${{ params.label }}?", approvers: [alice]}}
                commit: true
            """)
        let inventory = try scratch.write("i.yaml", Self.inventory)
        let parked = try runbook(
            scratch, ["run", file, "-i", inventory, "--mode", "drill", "--yes"], extraEnvironment: ["DR_TOKEN": secret]
        )
        #expect(parked.status == 4, "\(parked.stderr)")
        let runID = try latestRunID(scratch)
        let planJSON = try #require(try scratch.journal().run(id: runID)?.planJSON)
        #expect(!planJSON.contains(secret))
        let document = try PlanDocument.decode(planJSON)
        #expect(document.mode == "drill" && document.inputs?.inventorySHA256.count == 64)
        #expect(document.params.map(\.name) == ["token", "label"] && document.params[0].value == .string("***"))
        #expect(document.commandLineParams == ["label": "blue"])
        #expect(document.steps.first { $0.id == "use" }?.commands.first?.command.argv == ["echo", "***", "blue"])
        let gate = try #require(document.steps.first { $0.kind == .gate }?.gate)
        #expect(gate.prompt == "Promote blue?" && gate.approvers == ["alice"])

        // What `status` and `approve` read from it.
        let status = try runbook(scratch, ["status", runID])
        #expect(status.stdout.contains("go-ahead: Promote blue?"), "\(status.stdout)")
        let notAllowed = try runbook(scratch, ["approve", runID, "go-ahead", "--by", "mallory", "--reason", "x"])
        #expect(notAllowed.status != 0 && notAllowed.stderr.contains("not among the approvers"))
        let approved = try runbook(scratch, ["approve", runID, "go-ahead", "--by", "alice", "--reason", "CHG-1"])
        #expect(approved.status == 0, "\(approved.stderr)")
        let resumed = try runbook(scratch, ["resume", runID], extraEnvironment: ["DR_TOKEN": secret])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }
}
