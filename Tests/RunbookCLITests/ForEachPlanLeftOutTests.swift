import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// `runbook plan` (live, `transport: local`) when one `for_each` item's precondition fails under
/// `on_item_failure: isolate`: the plan says that item is left out and the others run, instead of
/// "a run would stop before changing anything" (which the run would not do).
@Suite struct ForEachPlanLeftOutTests {
    let binary = PackagePaths.runbookExecutable

    @Test func thePlanSaysWhichItemIsLeftOutAndThatTheOthersRun() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the runbook executable first")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-leftout-\(UUID().uuidString)")
        let work = root.appendingPathComponent("work").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let inventory = root.appendingPathComponent("inventory.yaml").path
        try """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: local}
        defaults: {transport: local}
        hosts:
          here: {roles: [site]}
        vars:
          workdir: \(work)
          sessions:
            - {name: gv0}
            - {name: gv1}
        """.write(toFile: inventory, atomically: true, encoding: .utf8)
        let runbook = root.appendingPathComponent("runbook.yaml").path
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: sessions}
        roles:
          site: {min: 1}
        preconditions:
          - id: healthy
            for_each: vars.sessions
            key: item.name
            on: site
            probe: command
            with: {run: [test, "${{ item.name }}", "!=", gv1]}
        steps:
          - id: stop
            for_each: vars.sessions
            key: item.name
            on: site
            action: shell
            with:
              run: [touch, "${{ vars.workdir }}/stopped-${{ item.name }}"]
              check: [test, -e, "${{ vars.workdir }}/stopped-${{ item.name }}"]
            undo: {action: shell, with: {run: [rm, "${{ vars.workdir }}/stopped-${{ item.name }}"]}}
          - id: clients
            needs: [stop]
            action: shell
            with:
              run: [touch, "${{ vars.workdir }}/clients"]
              check: [test, -e, "${{ vars.workdir }}/clients"]
            undo: {action: shell, with: {run: [rm, "${{ vars.workdir }}/clients"]}}
        """.write(toFile: runbook, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["RUNBOOK_STATE_DIR"] = root.appendingPathComponent("state").path
        environment["NO_COLOR"] = "1"

        let plan = try runProgram(binary, ["plan", runbook, "-i", inventory], environment: environment)
        #expect(plan.status == 3, "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stderr.contains("item [gv1] would be left out (on_item_failure: isolate)"), "\(plan.stderr)")
        #expect(plan.stderr.contains("precondition healthy[gv1]@here on here fails"), "\(plan.stderr)")
        #expect(plan.stderr.contains("the other items would run to their end"), "\(plan.stderr)")
        #expect(!plan.stderr.contains("would stop before changing anything"), "\(plan.stderr)")
        #expect(plan.stdout.contains("+ stop[gv0]@here"), "\(plan.stdout)")
        #expect(plan.stdout.contains("- stop[gv1]@here"), "\(plan.stdout)")
        #expect(plan.stdout.contains("item [gv1] left out: precondition healthy[gv1]@here fails"), "\(plan.stdout)")
        #expect(plan.stdout.contains("- clients"), "\(plan.stdout)")
        #expect(plan.stdout.contains("needs every item: item [gv1] left out"), "\(plan.stdout)")
        // The rollback order lists what would run only.
        let rollback = plan.stdout.components(separatedBy: "Rollback order").last ?? ""
        #expect(rollback.contains("stop[gv0]@here"), "\(rollback)")
        #expect(!rollback.contains("stop[gv1]@here") && !rollback.contains("clients"), "\(rollback)")
        // Nothing ran: the plan changes nothing.
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty)

        // And the run does what the plan said: gv0 stopped, gv1 left out, clients not switched.
        let run = try runProgram(binary, ["run", runbook, "-i", inventory, "--yes"], environment: environment)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("item [gv1] left out: precondition healthy[gv1]@here failed"), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: work + "/stopped-gv0"))
        #expect(!FileManager.default.fileExists(atPath: work + "/stopped-gv1"))
        #expect(!FileManager.default.fileExists(atPath: work + "/clients"))
    }
}
