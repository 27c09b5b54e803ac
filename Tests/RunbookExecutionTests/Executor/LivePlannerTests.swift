import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// The dry run: probes only, predictions per step instance, nothing applied or journaled.
@Suite struct LivePlannerTests {
    func plan(_ harness: Harness) async -> LivePlanner.Result {
        await LivePlanner(hosts: harness.hosts, compiler: harness.compiler).run(harness.plan)
    }

    @Test func predictsDoneWillChangeUnknownAndSkippedWithoutApplyingAnything() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "done"], with: .ok())
        hosts.answer(["check", "todo"], with: .exit(1))
        hosts.answer(["check", "behind"], with: .ok())
        hosts.answer(["check", "later"], with: .exit(1))
        let harness = try Harness(
            "steps:\n" + shell("done", check: true) + shell("todo", check: true)
                + shell("behind", needs: ["todo"], check: true) + shell("later", needs: ["todo"], check: true)
                + shell("off", extra: ["when: 1 == 2"]) + shell("always"), hosts: hosts)
        let result = await plan(harness)
        let markers = Dictionary(uniqueKeysWithValues: result.plan.nodes.map { ($0.id, $0.effect.marker) })
        #expect(markers == ["done": "=", "todo": "+", "behind": "?", "later": "+", "off": "-", "always": "+"])
        #expect(!hosts.commands().contains { $0.hasPrefix("do ") })
        #expect(try harness.journal.commitCount() == 1)  // the test's run record only
        #expect(result.facts["step:todo"]?.hasPrefix("+ check exited 1") == true)
    }

    @Test func anUnreachableHostMakesItsStepsUnknownAndSaysWhy() async throws {
        let hosts = ScriptedHosts()
        hosts.setUnreachable("b1", message: "Connection refused")
        let harness = try Harness(
            "roles: {secondary: {min: 1}}\nsteps:\n" + shell("x", on: "secondary", check: true), hosts: hosts)
        let result = await plan(harness)
        let effects = Dictionary(uniqueKeysWithValues: result.plan.nodes.map { ($0.id, $0.effect) })
        #expect(effects["x@b1"] == .unknown("b1 is unreachable: Connection refused"))
        #expect(effects["x@b2"]?.marker == "=")
    }

    @Test func probeOutputsFeedTheConditionsOfLaterSteps() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["role"], with: .ok("primary\n"))
        let harness = try Harness(
            """
            steps:
              - id: role
                probe: command
                with: {run: [role]}
            """ + "\n" + shell("promote", needs: ["role"], extra: ["when: steps.role.outputs.stdout == 'secondary'"])
                + shell("keep", needs: ["role"], extra: ["when: steps.role.outputs.stdout == 'primary'"]),
            hosts: hosts)
        let result = await plan(harness)
        let markers = Dictionary(uniqueKeysWithValues: result.plan.nodes.map { ($0.id, $0.effect.marker) })
        #expect(markers == ["role": "=", "promote": "-", "keep": "+"])
    }

    @Test func preconditionsAreProbedInParallelAndAFailureIsReported() async throws {
        let hosts = ScriptedHosts(defaultDelay: 0.05)
        hosts.answer(["free"], with: .ok("10\n", after: 0.05))
        hosts.answer(["peers"], with: .ok("1\n", after: 0.05))
        let harness = try Harness(
            """
            preconditions:
              - id: space
                probe: command
                with: {run: [free]}
                expect: outputs.stdout == '10'
              - id: peers
                probe: command
                with: {run: [peers]}
                expect: outputs.stdout == '2'
                message: the pool has too few peers
            steps:

            """ + shell("x"), hosts: hosts)
        let result = await plan(harness)
        #expect(result.preconditionsFailed)
        #expect(result.preconditions.map(\.passed) == [true, false])
        #expect(result.preconditions[1].summary.hasPrefix("the pool has too few peers"))
        #expect(hosts.maxConcurrent == 2)
    }

    @Test func anAnyTargetIsPlannedOnTheFirstHostThatAnswers() async throws {
        let hosts = ScriptedHosts()
        hosts.setUnreachable("b1")
        let harness = try Harness(
            "roles: {secondary: {min: 1}}\nsteps:\n" + shell("x", on: "any(secondary)", check: true), hosts: hosts)
        let result = await plan(harness)
        #expect(result.plan.nodes.first?.effect.marker == "=")
        #expect(hosts.commands(on: "b2") == ["check x"])
        #expect(hosts.checked.prefix(2) == ["b1", "b2"])
    }
}
