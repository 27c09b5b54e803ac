import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// A `for_each` run through the real executable on this machine (`transport: local`): files in a
/// scratch directory stand in for two sessions; one of them fails.
@Suite struct ForEachRunTests {
    let binary = PackagePaths.runbookExecutable

    @Test func oneSessionFailsAndIsRolledBackTheOtherIsDoneAndEveryOutputSaysWhichIsWhich() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the runbook executable first")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-foreach-\(UUID().uuidString)")
        let work = root.appendingPathComponent("work").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let inventory = root.appendingPathComponent("inventory.yaml").path
        try TestDocuments.localInventory(vars: [
            "workdir: \(work)", "sessions:", "  - {name: gv0}", "  - {name: gv1, broken: true}",
        ]).write(toFile: inventory, atomically: true, encoding: .utf8)
        let runbook = root.appendingPathComponent("runbook.yaml").path
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: sessions}
        on_failure: rollback
        roles:
          site: {min: 1}
        steps:
          - id: stop
            for_each: vars.sessions
            key: item.name
            on: site
            action: shell
            with: {run: [touch, "${{ vars.workdir }}/stopped-${{ item.name }}"]}
            undo: {action: shell, with: {run: [rm, "${{ vars.workdir }}/stopped-${{ item.name }}"]}}
          - id: promote
            for_each: vars.sessions
            key: item.name
            needs: [stop]
            on: site
            action: shell
            with: {run: [test, "${{ item.name }}", "!=", gv1]}
            undo: {action: shell, with: {run: ["true"]}}
          - id: clients
            needs: [promote]
            action: shell
            with: {run: [touch, "${{ vars.workdir }}/clients"]}
            undo: {action: shell, with: {run: [rm, "${{ vars.workdir }}/clients"]}}
        """.write(toFile: runbook, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = root.appendingPathComponent("state").path
        environment["NO_COLOR"] = "1"
        let events = root.appendingPathComponent("events.jsonl").path

        let plan = try runProgram(binary, ["plan", runbook, "-i", inventory, "--offline"], environment: environment)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("[gv0] (vars.sessions[0]):"))
        #expect(plan.stdout.contains("(on_item_failure: isolate)"))

        let run = try runProgram(
            binary, ["run", runbook, "-i", inventory, "--yes", "--events", events], environment: environment)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("item [gv1]: failed at promote[gv1]@here"), "\(run.stderr)")
        #expect(run.stderr.contains("item [gv0]: done"), "\(run.stderr)")
        // gv0 stands; gv1's change was undone; the step that needs both did not run.
        #expect(FileManager.default.fileExists(atPath: work + "/stopped-gv0"))
        #expect(!FileManager.default.fileExists(atPath: work + "/stopped-gv1"))
        #expect(!FileManager.default.fileExists(atPath: work + "/clients"))

        let lines = try String(contentsOfFile: events, encoding: .utf8).split(separator: "\n")
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        let started = objects.filter { $0["type"] as? String == "step.started" }
        #expect(started.contains { $0["step"] as? String == "stop[gv1]@here" && $0["item"] as? String == "gv1" })
        #expect(objects.filter { $0["type"] as? String == "rollback.started" }.map { $0["item"] as? String } == ["gv1"])
        #expect(objects.allSatisfy { $0["v"] as? Int == 1 })

        let runID = try #require(
            objects.first { $0["type"] as? String == "run.started" }?["run"] as? String)
        let status = try runProgram(binary, ["status", runID], environment: environment)
        #expect(status.stdout.contains("per item (for_each):"), "\(status.stdout)")
        let gv0 = status.stdout.split(separator: "\n").first { $0.contains("[gv0]") && $0.contains("done,") }
        let gv1 = status.stdout.split(separator: "\n").first { $0.contains("[gv1]") && $0.contains("done,") }
        #expect(gv0?.hasSuffix("done") == true, "\(status.stdout)")
        #expect(gv1?.contains("FAILED at promote[gv1]@here") == true, "\(status.stdout)")
    }
}
