import Foundation
import FoundationXML
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

@testable import RunbookReports

/// The reports of a real run, driven in-process by the executor over an `InMemoryJournal` and
/// scripted hosts: a `for_each` drill where one item is left out by its precondition, the other
/// fails on one host and is rolled back. Every report reads it through `any RunJournal`.
@Suite struct ItemsRunReportTests {
    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: mem}
        hosts:
          b1: {roles: [secondary]}
          b2: {roles: [secondary]}
        vars:
          sessions:
            - {name: gv0, secondary: gs0}
            - {name: gv1, secondary: gs1}
        """

    static let runbook =
        TestDocuments.runbookHeader(name: "items")
            + """
            roles:
              secondary: {min: 1}
            preconditions:
              - id: bricks
                for_each: vars.sessions
                key: item.name
                probe: command
                with: {run: [bricks, "${{ item.secondary }}"]}
            steps:
              - id: checkpoint
                for_each: vars.sessions
                key: item.name
                action: shell
                with: {run: [checkpoint, "${{ item.name }}"]}
                undo: {action: shell, with: {run: [uncheckpoint, "${{ item.name }}"]}}
              - id: promote
                for_each: vars.sessions
                key: item.name
                needs: [checkpoint]
                on: secondary
                action: shell
                with: {run: [promote, "${{ item.secondary }}", "${{ host.name }}"]}
                undo: {action: shell, with: {run: [demote, "${{ item.secondary }}", "${{ host.name }}"]}}
              - id: report
                needs: [promote]
                action: shell
                with: {run: [report]}
            """

    static let runID = "20261207-010000-a1b2"

    struct Ran {
        let journal: InMemoryJournal
        let plan: Plan
        let report: RunReport
        let rehearsal: Rehearsal
    }

    /// Runs the drill: gv1's bricks are offline (its precondition failed: left out), gv0's promote
    /// fails on b2, then the run is rolled back and finished as `runbook run` finishes it.
    static func ran() async throws -> Ran {
        var diagnostics = Diagnostics()
        let registry = ActionRegistry.builtIn
        let compiler = Compiler(registry: registry)
        let loaded = RunbookLoader.load(text: runbook, file: "r.yaml", diagnostics: &diagnostics)
        let inventory = InventoryLoader.load(text: Self.inventory, file: "i.yaml", diagnostics: &diagnostics)
        let plan = try #require(
            loaded.flatMap { runbook in
                inventory.flatMap {
                    compiler.compile(Compiler.Request(runbook: runbook, inventory: $0), diagnostics: &diagnostics)
                }
            }, "\(diagnostics.all)")
        try #require(!diagnostics.hasErrors, "\(diagnostics.all)")

        let journal = InMemoryJournal()
        var create = JournalBatch(runID: runID)
        create.newRun = RunRecord(
            id: runID, runbookName: "items", runbookPath: "/etc/runbook/items.yaml", inventoryName: "mem",
            inventoryPath: "/etc/runbook/mem.yaml", mode: "drill", paramsJSON: "{}", planHash: "sha256:items",
            planJSON: String(
                decoding: PlanDocument(plan: plan).encoded(redactor: plan.redactor, pretty: false), as: UTF8.self),
            pid: 4242, hostname: "ops-1", startedAt: Date())
        // The run, its start and its preconditions' results in one commit, as `runbook run` journals
        // them (the live planner ran the preconditions).
        create.events = [
            .runStarted(.init(runbook: "items", inventory: "mem", mode: "drill", planHash: "sha256:items")),
            .preconditionPassed(.init(step: "bricks[gv0]", host: "localhost", summary: "exit_code = 0")),
            .preconditionFailed(.init(step: "bricks[gv1]", host: "localhost", summary: "brick b2:/bricks/gs1 offline")),
        ]
        try journal.commit(create)

        let hosts = ScriptedHosts()
        hosts.answer(["promote", "gs0", "b2"], with: .exit(1, stderr: "promote: volume gs0 is busy"))
        var options = ExecutionOptions()
        options.defaultRetryDelay = 0.01
        options.approver = "tester"
        let executor = Executor(
            plan: plan, runID: runID, planHash: "sha256:items", journal: journal, hosts: hosts, compiler: compiler,
            options: options, observer: ObserverList([]), stop: StopController())
        guard case .failed = await executor.run() else {
            Issue.record("expected a failed run")
            throw CancellationError()
        }
        let rollback = await Rollback(executor: executor).run(
            pastCommit: false, dryRun: false, reason: "the run failed")
        #expect(rollback.failed.isEmpty)

        var finish = JournalBatch(runID: runID)
        finish.runStatus = RunStatusChange(status: .rolledBack, exitCode: 1, finishedAt: Date())
        finish.events = [.runFinished(.init(status: .rolledBack, exitCode: 1))]
        try journal.commit(finish)

        let record = try #require(try journal.run(id: runID))
        let report = try RunReport.load(record, from: journal)
        return Ran(journal: journal, plan: plan, report: report, rehearsal: Rehearsal.load(report, journal: journal))
    }

    static let leftOut =
        "item [gv1] left out: precondition bricks[gv1] failed: brick b2:/bricks/gs1 offline; nothing of it was run"
    static let busy = "run `promote gs0 b2` exited 1: promote: volume gs0 is busy"

    @Test func itemStatusSaysWhereEachItemStands() async throws {
        let ran = try await Self.ran()
        let nodes = try #require(RunReport.plan(ran.report.run)).steps
        #expect(
            ItemStatus.block(ran.report.steps, nodes: nodes, events: ran.report.events)
                == """
                per item (for_each):
                  [gv0]  0/3 done, 3 changed  FAILED at promote[gv0]@b2: \(Self.busy); rolled back (3 undone)
                  [gv1]  0/3 done, 0 changed  stopped: \(Self.leftOut.prefix(80))

                """)
    }

    @Test func text() async throws {
        let ran = try await Self.ran()
        let out = RunReportText.render(ran.report, color: false).split(separator: "\n").map(String.init)
        #expect(out.contains("status:     rolledBack (exit 1)"))
        #expect(out.contains("steps (7):"))
        let failed = try #require(out.firstIndex(of: "  ✗ promote[gv0]@b2  failed, undone"))
        #expect(out[failed + 1] == "      host b2, 1 attempt, changed")
        #expect(out[failed + 3] == "      error: \(Self.busy)")
        let checkpoint = try #require(out.firstIndex(of: "  ↩ checkpoint[gv0]  undone"))
        #expect(out[checkpoint + 1] == "      host localhost, 1 attempt, changed, completed #1")
        let skipped = try #require(out.firstIndex(of: "  - checkpoint[gv1]  skipped"))
        #expect(out[skipped + 2] == "      error: \(Self.leftOut)")
        #expect(out.contains("attempts (6):"))
        #expect(out.contains("      $ [b2] demote gs0 b2"))
        #expect(out.contains("      stderr: promote: volume gs0 is busy"))
        #expect(out.contains("event chain: \(ran.report.events.count) events, intact"))
    }

    @Test func junit() async throws {
        let ran = try await Self.ran()
        let xml = RunReportJUnit.render(ran.report)
        #expect(XMLParser(data: Data(xml.utf8)).parse())
        #expect(xml.contains(#"<testsuites name="runbook" tests="7" failures="1" errors="0" skipped="4""#), "\(xml)")
        // The failed step rolled back since is still a failure: a failed drill is red.
        #expect(
            xml.contains(
                """
                      <failure message="run `promote gs0 b2` exited 1: promote: volume gs0 is busy (failed, undone)" type="failed">
                """.dropLast()), "\(xml)")
        #expect(xml.contains(#"<property name="status" value="rolledBack"/>"#))
    }

    @Test func theRehearsalNamesTheFailedStepAndThePreconditionThatLeftAnItemOut() async throws {
        let ran = try await Self.ran()
        let verdict = ran.rehearsal.verdict
        #expect(verdict.kind == .failed)
        #expect(
            verdict.detail
                == "The run failed and was rolled back: promote[gv0]@b2 on b2: \(Self.busy) (failed, undone); "
                + "precondition bricks[gv1] on localhost: brick b2:/bricks/gs1 offline.")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(RehearsalJSON.render(ran.rehearsal).utf8)) as? [String: Any])
        #expect((json["verdict"] as? [String: Any])?["kind"] as? String == "failed")
        let timeline = try #require(json["timeline"] as? [[String: Any]])
        #expect(timeline.first { $0["node"] as? String == "promote[gv0]@b2" }?["state"] as? String == "undone")
        let probes = try #require(json["probes"] as? [[String: Any]])
        #expect(probes.contains { $0["node"] as? String == "bricks[gv1]" && $0["state"] as? String == "FAILED" })

        let markdown = RehearsalMarkdown.render(ran.rehearsal)
        #expect(markdown.hasPrefix("# FAILED: items on mem\n\n\(verdict.detail)\n"), "\(markdown)")
        #expect(markdown.contains("| b2 | promote[gv0]@b2 | failed, undone |"), "\(markdown)")
        let html = RehearsalHTML.render(ran.rehearsal)
        #expect(html.contains("FAILED") && html.contains("promote[gv0]@b2") && html.contains("failed, undone"))
        #expect(html.contains("volume gs0 is busy"))
    }

    @Test func metrics() async throws {
        let ran = try await Self.ran()
        let text = Metrics.render(ran.rehearsal)
        let labels = #"runbook="items",inventory="mem",mode="drill""#
        let samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(
            samples.map { String($0.prefix { $0 != "{" }) } == [
                "runbook_last_run_success", "runbook_last_run_exit_code", "runbook_last_run_start_time_seconds",
                "runbook_last_run_end_time_seconds", "runbook_last_run_duration_seconds",
                "runbook_last_run_waited_seconds",
            ], "a failed run proves no RTO: \(text)")
        #expect(text.contains("runbook_last_run_success{\(labels)} 0\n"))
        #expect(text.contains("runbook_last_run_exit_code{\(labels)} 1\n"))
        #expect(text.contains("runbook_last_run_waited_seconds{\(labels)} 0\n"))
        #expect(
            text.contains(
                "runbook_last_run_start_time_seconds{\(labels)} \(Metrics.number(ran.report.run.startedAt.timeIntervalSince1970))\n"
            ))
    }
}
