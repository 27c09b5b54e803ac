import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// `runbook plan` (live, `transport: local`) when one `for_each` item's precondition fails under
/// `on_item_failure: isolate`: the plan says that item is left out and the others run, instead of
/// "a run would stop before changing anything" (which the run would not do).
extension RunTests {
    @Test func thePlanSaysWhichItemIsLeftOutAndThatTheOthersRun() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        let work = scratch.work
        let inventory = try scratch.write(
            "inventory.yaml",
            TestDocuments.localInventory(vars: ["workdir: \(work)", "sessions:", "  - {name: gv0}", "  - {name: gv1}"]))
        let runbook = try scratch.write(
            "runbook.yaml",
            """
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
            """)

        let plan = try RunbookTestSupport.runbook(scratch, ["plan", runbook, "-i", inventory])
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
        let run = try RunbookTestSupport.runbook(scratch, ["run", runbook, "-i", inventory, "--yes"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("item [gv1] left out: precondition healthy[gv1]@here failed"), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: work + "/stopped-gv0"))
        #expect(!FileManager.default.fileExists(atPath: work + "/stopped-gv1"))
        #expect(!FileManager.default.fileExists(atPath: work + "/clients"))
    }
}
