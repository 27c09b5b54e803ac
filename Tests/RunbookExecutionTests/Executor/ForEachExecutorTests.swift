import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

@testable import RunbookExecution

/// `for_each` in the executor: items proceed independently, `steps.ID` reads the same item's
/// instance, and one item's failure stays with it (or not, with `on_item_failure: whole_run`).
@Suite struct ForEachExecutorTests {
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

    /// checkpoint (per item) -> promote (per item, on each secondary) -> report (once, after all).
    static func body(_ top: String = "") -> String {
        top + """
            roles:
              secondary: {min: 1}
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
                undo: {action: shell, with: {run: [unreport]}}

            """
    }

    func ran(_ hosts: ScriptedHosts, _ command: String) throws -> ScriptedHosts.Ran {
        try #require(hosts.ran.first { $0.argv.joined(separator: " ") == command }, "\(command) did not run")
    }

    @Test func theCompiledPlanPairsNeedsByItem() throws {
        let harness = try Harness(Self.body(), inventory: Self.inventory)
        let needs = Dictionary(uniqueKeysWithValues: harness.plan.nodes.map { ($0.id, $0.needs) })
        #expect(needs["promote[gv0]@b1"] == ["checkpoint[gv0]"])
        #expect(needs["promote[gv1]@b2"] == ["checkpoint[gv1]"])
        #expect(needs["report"] == ["promote[gv0]@b1", "promote[gv0]@b2", "promote[gv1]@b1", "promote[gv1]@b2"])
        #expect(harness.plan.itemKeys["promote[gv1]@b2"] == "gv1")
    }

    @Test func oneItemsSlowStepDoesNotHoldTheOtherItem() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["checkpoint", "gv0"], with: .ok(after: 0.6))
        let harness = try Harness(Self.body(), inventory: Self.inventory, hosts: hosts)
        #expect(await harness.run() == .succeeded)
        let slow = try ran(hosts, "checkpoint gv0")
        // gv1 was promoted on both secondaries while gv0's checkpoint was still running.
        for host in ["b1", "b2"] {
            let promote = try ran(hosts, "promote gs1 \(host)")
            #expect(promote.ended < slow.ended, "promote gs1 \(host) waited for gv0's checkpoint")
            #expect(try ran(hosts, "promote gs0 \(host)").started >= slow.ended)
        }
        // The step that does not iterate waited for every instance.
        let report = try ran(hosts, "report")
        for command in ["promote gs0 b1", "promote gs0 b2", "promote gs1 b1", "promote gs1 b2"] {
            #expect(report.started >= (try ran(hosts, command)).ended)
        }
    }

    @Test func stepsReadTheSameItemsInstance() async throws {
        let body = """
            steps:
              - id: look
                for_each: vars.sessions
                key: item.name
                probe: command
                with: {run: [look, "${{ item.name }}"]}
              - id: use
                for_each: vars.sessions
                key: item.name
                needs: [look]
                action: shell
                with: {run: [use, "${{ item.name }}", "${{ steps.look.outputs.stdout }}"]}
                undo: {action: shell, with: {run: [unuse]}}
            """
        let hosts = ScriptedHosts()
        hosts.answer(["look", "gv0"], with: .ok("zero", after: 0.2))
        hosts.answer(["look", "gv1"], with: .ok("one"))
        let harness = try Harness(body, inventory: Self.inventory, hosts: hosts)
        #expect(await harness.run() == .succeeded)
        let uses = hosts.commands().filter { $0.hasPrefix("use") }.sorted()
        #expect(uses == ["use gv0 zero", "use gv1 one"])
    }

    @Test func anItemsFailureRollsBackThatItemOnlyAndTheOtherFinishes() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["promote", "gs1", "b2"], with: .exit(1, stderr: "brick down"))
        let harness = try Harness(Self.body("on_failure: rollback\n"), inventory: Self.inventory, hosts: hosts)
        guard case .failed(let summary) = await harness.run() else {
            Issue.record("expected a failed run (only the item was rolled back)")
            return
        }
        #expect(summary.contains("item [gv1]: failed at promote[gv1]@b2"))
        #expect(summary.contains("item [gv0]: done"))
        for id in ["checkpoint[gv0]", "promote[gv0]@b1", "promote[gv0]@b2"] {
            #expect(try harness.state(id) == .succeeded)
        }
        // gv1's changes, newest first; gv0 untouched; the step that needs every item never ran.
        #expect(try harness.state("checkpoint[gv1]") == .undone)
        #expect(try harness.state("report") == .skipped)
        let undos = hosts.commands().filter { $0.hasPrefix("demote") || $0.hasPrefix("uncheckpoint") }
        #expect(undos.last == "uncheckpoint gv1")
        #expect(Set(undos) == ["demote gs1 b1", "demote gs1 b2", "uncheckpoint gv1"])
        #expect(!hosts.commands().contains("report"))
        let started = harness.events.all.compactMap { event -> RunEvent.RollbackStarted? in
            if case .rollbackStarted(let started) = event { return started }
            return nil
        }
        #expect(started.map(\.item) == ["gv1"])
        #expect(harness.journal.chainIsIntact(runID: harness.runID))
    }

    @Test func aResumeLeavesARolledBackItemRolledBackAndDoesNotRollBackTheOthers() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["promote", "gs1", "b2"], with: .exit(1, stderr: "brick down"))
        let harness = try Harness(Self.body("on_failure: rollback\n"), inventory: Self.inventory, hosts: hosts)
        _ = await harness.run()
        let before = hosts.commands()
        #expect(Rollback(executor: harness.executor()).began() == nil)
        guard case .failed(let summary) = await harness.run() else {
            Issue.record("expected the resumed run to end failed")
            return
        }
        #expect(summary.contains("item [gv1] left out: it was rolled back in an earlier attempt"))
        // Nothing of gv1 applied again, nothing of gv0 undone; the step that needs both still waits.
        let again = hosts.commands().dropFirst(before.count)
        #expect(!again.contains { $0.contains("gs1") || $0.contains("gv1") || $0.hasPrefix("demote") }, "\(again)")
        #expect(try harness.state("checkpoint[gv1]") == .undone)
        #expect(try harness.state("promote[gv0]@b1") == .succeeded)
        #expect(!hosts.commands().contains("report"))
    }

    @Test func stopLeavesTheFailedItemWhereItIsAndTheOtherGoesOn() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["checkpoint", "gv1"], with: .exit(1))
        hosts.answer(["checkpoint", "gv0"], with: .ok(after: 0.2))
        let harness = try Harness(Self.body("on_failure: stop\n"), inventory: Self.inventory, hosts: hosts)
        guard case .failed = await harness.run() else {
            Issue.record("expected a failed run")
            return
        }
        #expect(try harness.state("promote[gv0]@b2") == .succeeded)
        #expect(try harness.state("promote[gv1]@b1") == .skipped)
        #expect(try harness.step("promote[gv1]@b1")?.error?.contains("needs checkpoint[gv1], which failed") == true)
        #expect(!hosts.commands().contains { $0.hasPrefix("uncheckpoint") || $0.hasPrefix("demote") })
    }

    @Test func wholeRunMakesOneItemsFailureTheRunsFailure() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["promote", "gs1", "b2"], with: .exit(1))
        hosts.answer(["checkpoint", "gv0"], with: .ok(after: 0.2))
        let harness = try Harness(
            Self.body("on_failure: rollback\non_item_failure: whole_run\nconcurrency: 1\n"), inventory: Self.inventory,
            hosts: hosts)
        guard case .rolledBack = await harness.run() else {
            Issue.record("expected the whole run rolled back")
            return
        }
        #expect(try harness.state("checkpoint[gv0]") == .undone)
        #expect(try harness.state("checkpoint[gv1]") == .undone)
    }

    @Test func aGatePerItemIsAnsweredPerItem() async throws {
        let body = """
            steps:
              - id: go
                for_each: vars.sessions
                key: item.name
                gate: {approval: {prompt: "promote ${{ item.secondary }}?"}}
                commit: true
              - id: promote
                for_each: vars.sessions
                key: item.name
                needs: [go]
                action: shell
                with: {run: [promote, "${{ item.secondary }}"]}
                irreversible: true
            """
        let hosts = ScriptedHosts()
        let harness = try Harness(body, inventory: Self.inventory, hosts: hosts)
        #expect(await harness.run { $0.approvals = ["go[gv0]"] } == .parked(["go[gv1]"]))
        #expect(hosts.commands() == ["promote gs0"])
        #expect(try harness.state("go[gv1]") == .waiting)
    }

    @Test func anItemWhosePreconditionFailsIsLeftOut() async throws {
        let body = """
            preconditions:
              - id: bricks
                for_each: vars.sessions
                key: item.name
                probe: command
                with: {run: [bricks, "${{ item.secondary }}"]}

            """ + Self.body()
        let hosts = ScriptedHosts()
        hosts.answer(["bricks", "gs1"], with: .exit(1, stdout: "brick b2:/bricks/gs1 offline"))
        let harness = try Harness(body, inventory: Self.inventory, hosts: hosts)
        let executor = harness.executor()
        #expect(await executor.runPreconditions() == nil)
        guard case .failed(let summary) = await executor.run() else {
            Issue.record("expected a failed run")
            return
        }
        #expect(summary.contains("item [gv1] left out: precondition bricks[gv1] failed"))
        #expect(try harness.state("promote[gv0]@b1") == .succeeded)
        #expect(try harness.state("checkpoint[gv1]") == .skipped)
        #expect(!hosts.commands().contains { $0.contains("gs1") && !$0.hasPrefix("bricks") })
        #expect(!hosts.commands().contains("report"))
    }
}

/// What people and tools read of a for_each plan: the text groups by item, the JSON and the
/// event stream carry the item key.
@Suite struct ForEachOutputTests {
    @Test func theTextPlanGroupsInstancesByItemAndSaysThePolicy() throws {
        let harness = try Harness(ForEachExecutorTests.body(), inventory: ForEachExecutorTests.inventory)
        let text = PlanTextRenderer(plan: harness.plan).render()
        let lines = text.split(separator: "\n").map(String.init)
        let gv0 = try #require(lines.firstIndex { $0.hasPrefix("  [gv0] (vars.sessions[0]):") })
        let gv1 = try #require(lines.firstIndex { $0.hasPrefix("  [gv1] (vars.sessions[1]):") })
        let heads = lines.filter { $0.hasPrefix("  ? ") || $0.hasPrefix("  + ") }
            .map { String($0.dropFirst(4).prefix { $0 != " " }) }
        // gv0's instances, then gv1's, then the step that needs them all.
        #expect(
            heads == [
                "checkpoint[gv0]", "promote[gv0]@b1", "promote[gv0]@b2", "checkpoint[gv1]", "promote[gv1]@b1",
                "promote[gv1]@b2", "report",
            ])
        #expect(gv0 < gv1)
        #expect(text.contains("(on_item_failure: isolate) a failing item stops only itself"))
    }

    @Test func theJSONPlanAndTheEventsCarryTheItemKey() throws {
        let harness = try Harness(ForEachExecutorTests.body(), inventory: ForEachExecutorTests.inventory)
        let document = PlanDocument(
            runbook: .init(name: "mem", file: "r.yaml"), inventory: .init(name: "mem", file: "i.yaml"),
            mode: harness.plan.mode, offline: true, params: [], preconditions: [], steps: harness.plan.nodes,
            rollback: harness.plan.rollback)
        let json = document.encoded(redactor: harness.plan.redactor, pretty: false)
        let decoded = try PlanDocument.decode(Data(json))
        let node = try #require(decoded.steps.first { $0.id == "promote[gv1]@b2" })
        #expect(node.item?.key == "gv1")
        #expect(node.item?.index == 1)
        #expect(node.item?.value == .map(["name": .string("gv1"), "secondary": .string("gs1")]))
        let line = try #require(
            JSONLinesEventWriter.line(
                .stepStarted(.init(step: "promote[gv1]@b2", host: "b2", actionType: "shell")), runID: "r",
                at: Date(timeIntervalSince1970: 0), items: harness.plan.itemKeys))
        #expect(line.contains("\"item\":\"gv1\""))
        #expect(line.contains("\"step\":\"promote[gv1]@b2\""))
    }
}
