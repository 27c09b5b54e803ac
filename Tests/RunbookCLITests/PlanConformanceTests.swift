import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// What ran is what was planned: the journal's attempts against the journaled plan.
@Suite struct PlanConformanceTests {
    @Test func theQuickstartRunsOnlyWhatItsPlanShows() throws {
        let scratch = try Scratch()
        let work = scratch.work + "/qs"
        let runTests = RunTests()
        let quickstart = PackagePaths.root.appendingPathComponent("Examples/quickstart")
        let result = try RunbookTestSupport.runbook(
            scratch,
            [
                "run", quickstart.appendingPathComponent("failover.yaml").path,
                "-i", quickstart.appendingPathComponent("inventory.yaml").path,
                "-p", "workdir=\(work)", "--yes", "--approve", "go-ahead",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let runID = try runTests.latestRunID(scratch)
        let (violations, checked) = try PlanConformance.check(journal: try scratch.journal(), runID: runID)
        #expect(checked >= 4, "the journal recorded \(checked) commands")
        #expect(violations.isEmpty, "\(violations.map(\.description).joined(separator: "\n"))")

        // The checker itself: a command the plan does not show is reported.
        let run = try #require(try scratch.journal().run(id: runID))
        let document = try PlanDocument.decode(run.planJSON)
        let node = try #require(document.steps.first { !$0.commands.isEmpty })
        #expect(
            !PlanConformance.allowed(RanCommand(host: node.host, argv: ["rm", "-rf", "/"]), phase: .apply, in: node))
        let planned = try #require(node.commands.first)
        #expect(
            !PlanConformance.allowed(RanCommand(host: "elsewhere", argv: planned.command.argv), phase: .apply, in: node)
        )
    }
}
