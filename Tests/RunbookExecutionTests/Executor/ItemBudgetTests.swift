import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

@testable import RunbookExecution

/// `max_concurrency` and `max_failed` over `for_each` items (issue 24, item 3), in-process with
/// many items: what the run holds back, when it stops, and that the plan said so up front.
@Suite struct ItemBudgetTests {
    /// Eight sessions, s0 ... s7.
    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: mem}
        hosts:
          b1: {roles: [secondary]}
        vars:
          sessions: [\((0..<8).map { "{name: s\($0)}" }.joined(separator: ", "))]
        """

    /// Per item: prepare -> switch -> finish, each a shell step with an undo.
    static func body(_ top: String = "", switchExtra: String = "") -> String {
        top + """
            concurrency: 16
            steps:
              - id: prepare
                for_each: vars.sessions
                key: item.name
                action: shell
                with: {run: [prepare, "${{ item.name }}"]}
                undo: {action: shell, with: {run: [unprepare, "${{ item.name }}"]}}
              - id: switch
                for_each: vars.sessions
                key: item.name
                needs: [prepare]
                action: shell
                with: {run: [switch, "${{ item.name }}"]}
                undo: {action: shell, with: {run: [unswitch, "${{ item.name }}"]}}
            \(switchExtra)
              - id: finish
                for_each: vars.sessions
                key: item.name
                needs: [switch]
                action: shell
                with: {run: [finish, "${{ item.name }}"]}
                undo: {action: shell, with: {run: [unfinish, "${{ item.name }}"]}}

            """
    }

    /// Each item's span: from its first command's start to its last one's end.
    static func spans(_ hosts: ScriptedHosts) -> [String: (start: Double, end: Double)] {
        var spans: [String: (start: Double, end: Double)] = [:]
        for ran in hosts.ran where ran.argv.count == 2 {
            let item = ran.argv[1]
            let span = spans[item] ?? (ran.started, ran.ended)
            spans[item] = (min(span.start, ran.started), max(span.end, ran.ended))
        }
        return spans
    }

    /// The most commands of `name` running at one instant.
    static func mostAtOnce(_ hosts: ScriptedHosts, _ name: String) -> Int {
        let runs = hosts.ran.filter { $0.argv.first == name }
        return runs.map { run in runs.filter { $0.started <= run.started && $0.ended > run.started }.count }.max() ?? 0
    }

    @Test func withTheRunsMaxConcurrencyOneTheItemsChangeOneAfterTheOther() async throws {
        let hosts = ScriptedHosts(defaultDelay: 0.03)
        let harness = try Harness(Self.body("max_concurrency: 1\n"), inventory: Self.inventory, hosts: hosts)
        #expect(harness.planText.contains("(max_concurrency: 1) at most 1 of the 8 items changes at once"))
        #expect(await harness.run() == .succeeded)
        let spans = Self.spans(hosts).sorted { $0.value.start < $1.value.start }
        #expect(spans.count == 8)
        // Each item's whole failover ended before the next item's first step started.
        for (earlier, later) in zip(spans, spans.dropFirst()) {
            #expect(earlier.value.end <= later.value.start, "\(earlier.key) and \(later.key) overlapped")
        }
        #expect(spans.map(\.key) == (0..<8).map { "s\($0)" })
    }

    @Test func withoutABudgetTheItemsInterleave() async throws {
        let hosts = ScriptedHosts(defaultDelay: 0.2)
        let harness = try Harness(Self.body(), inventory: Self.inventory, hosts: hosts)
        #expect(!harness.planText.contains("max_concurrency"))
        #expect(await harness.run() == .succeeded)
        #expect(Self.mostAtOnce(hosts, "prepare") == 8)
    }

    @Test func aPercentageOfTheItemsRoundedDown() async throws {
        let hosts = ScriptedHosts(defaultDelay: 0.2)
        // 40% of 8 items is 3.2: 3 items at once.
        let harness = try Harness(Self.body("max_concurrency: 40%\n"), inventory: Self.inventory, hosts: hosts)
        #expect(harness.planText.contains("(max_concurrency: 40%) at most 3 of the 8 items change at once"))
        #expect(await harness.run() == .succeeded)
        let spans = Self.spans(hosts)
        let most = spans.values.map { span in
            spans.values.filter { $0.start <= span.start && $0.end > span.start }.count
        }.max()
        #expect(most == 3 || most == 2, "\(most ?? 0) items at once")  // 2 only if a start came late
    }

    @Test func aStepsMaxConcurrencyLimitsThatStepOnly() async throws {
        let hosts = ScriptedHosts(defaultDelay: 0.2)
        let harness = try Harness(
            Self.body().replacingOccurrences(
                of: "  - id: switch\n", with: "  - id: switch\n    max_concurrency: 2\n"),
            inventory: Self.inventory, hosts: hosts)
        #expect(harness.planText.contains("(switch: max_concurrency 2) at most 2 of its 8 items at once"))
        #expect(await harness.run() == .succeeded)
        #expect(Self.mostAtOnce(hosts, "switch") == 2)  // never more; 8 would run at once without it
        #expect(Self.mostAtOnce(hosts, "prepare") == 8)
    }

    @Test func withMaxFailedOneASecondFailureStopsTheRunAndThePlanSaidSo() async throws {
        let hosts = ScriptedHosts(defaultDelay: 0.02)
        hosts.answer(["switch", "s1"], with: .exit(1, stderr: "session Faulty"))
        hosts.answer(["switch", "s3"], with: .exit(1, stderr: "session Faulty"))
        hosts.answer(["switch", "s5"], with: .exit(1, stderr: "session Faulty"))
        let harness = try Harness(
            Self.body("max_concurrency: 1\nmax_failed: 1\n"), inventory: Self.inventory, hosts: hosts)
        #expect(
            harness.planText.contains("(max_failed: 1) when the 2nd of 8 items fails, the run starts no further step"))
        guard case .failed(let summary) = await harness.run() else {
            Issue.record("expected a failed run")
            return
        }
        #expect(
            summary.contains("max_failed: 1 exceeded: 2 of 8 items failed ([s1], [s3]); no further step was started"))
        // Said when it happened, not only at the end (journaled, and shown by the progress).
        let said = harness.events.all.compactMap { event -> RunEvent.RunBudgetExceeded? in
            if case .runBudgetExceeded(let payload) = event { return payload }
            return nil
        }
        #expect(said.map(\.items) == [["s1", "s3"]])
        #expect(said.first?.budget == "max_failed: 1")
        #expect(try harness.journal.events(runID: harness.runID).contains { $0.type == "run.budget_exceeded" })
        #expect(summary.contains("item [s1]: failed at switch[s1]"))
        #expect(summary.contains("item [s2]: done"))
        #expect(summary.contains("item [s7]: not started (the budget was exceeded first), 0 of 3 steps done"))
        // After the second failure nothing started: s4 onwards never ran.
        let commands = hosts.commands()
        #expect(!commands.contains { $0.hasSuffix(" s4") || $0.hasSuffix(" s5") || $0.hasSuffix(" s7") })
        // The first failure alone did not stop the run.
        #expect(commands.contains("finish s2"))
    }

    @Test func overTheBudgetOnFailureRollbackRollsTheWholeRunBack() async throws {
        let hosts = ScriptedHosts(defaultDelay: 0.02)
        hosts.answer(["switch", "s0"], with: .exit(1, stderr: "session Faulty"))
        hosts.answer(["switch", "s1"], with: .exit(1, stderr: "session Faulty"))
        let harness = try Harness(
            Self.body("on_failure: rollback\nmax_concurrency: 2\nmax_failed: 1\n"), inventory: Self.inventory,
            hosts: hosts)
        #expect(harness.planText.contains("with on_failure: rollback the whole run is then rolled back"))
        guard case .rolledBack(let summary) = await harness.run() else {
            Issue.record("expected the run rolled back")
            return
        }
        #expect(summary.contains("max_failed: 1 exceeded"))
        #expect(summary.contains("the whole run was rolled back"))
        let commands = hosts.commands()
        #expect(commands.contains("unprepare s0") && commands.contains("unprepare s1"))
        // s2 may have started once s0 failed (one failure is within the budget); after the
        // second, nothing more: no later item, and no step after s2's first.
        #expect(!commands.contains { ["s3", "s4", "s5", "s6", "s7"].contains($0.split(separator: " ").last ?? "") })
        #expect(!commands.contains("switch s2") && !commands.contains { $0.hasPrefix("finish") })
    }

    @Test func aStepThatNeedsEveryItemInTheMiddleDoesNotWaitForItself() async throws {
        let hosts = ScriptedHosts(defaultDelay: 0.01)
        let middle = """
              - id: all-switched
                needs: [switch]
                action: shell
                with: {run: [report]}
                undo: {action: shell, with: {run: [unreport]}}
            """
        let body = Self.body("max_concurrency: 1\n", switchExtra: middle)
            .replacingOccurrences(
                of: "    needs: [switch]\n    action: shell\n    with: {run: [finish",
                with: "    needs: [all-switched]\n    action: shell\n    with: {run: [finish")
        let harness = try Harness(body, inventory: Self.inventory, hosts: hosts)
        #expect(await harness.run() == .succeeded)
        #expect(hosts.commands().filter { $0.hasPrefix("finish") }.count == 8)
    }

    /// Items whose precondition fails count as failed items: more of them than `max_failed`
    /// lets fail and nothing starts; within it they are only left out.
    @Test func moreItemsFailingTheirPreconditionsThanMaxFailedStartsNothing() async throws {
        let preconditions = """
            preconditions:
              - id: session-running
                for_each: vars.sessions
                key: item.name
                probe: command
                with: {run: [status, "${{ item.name }}"]}

            """
        for (budget, stops) in [("max_failed: 1\n", true), ("max_failed: 2\n", false)] {
            let hosts = ScriptedHosts()
            hosts.answer(["status", "s2"], with: .exit(1, stderr: "Faulty"))
            hosts.answer(["status", "s6"], with: .exit(1, stderr: "Faulty"))
            let harness = try Harness(
                Self.body(budget + preconditions), inventory: Self.inventory, hosts: hosts)
            let failed = harness.plan.preconditions.filter { $0.id.contains("[s2]") || $0.id.contains("[s6]") }
            let why = harness.plan.preconditionsStopRun(failed: failed.map(\.id))
            let report = await harness.executor().runPreconditions()
            if stops {
                #expect(
                    why
                        == .budget(
                            "max_failed: 1 exceeded before anything changed: the preconditions of 2 of 8 items failed ([s2], [s6])"
                        ))
                #expect(
                    report?.contains(
                        "max_failed: 1 exceeded before anything changed: the preconditions of 2 of 8 items failed ([s2], [s6]); nothing was started"
                    ) == true, "\(report ?? "nil")")
            } else {
                #expect(why == nil)
                #expect(report == nil, "two items left out, within max_failed: 2")
            }
        }
    }
}
