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
        // Both were asked (reachability is checked concurrently, so in either order).
        #expect(Set(hosts.checked.prefix(2)) == ["b1", "b2"])
    }

    /// Issue 18, defect 9: a probe's `expect` reads `params` in the plan as in the run.
    @Test func aProbesExpectationReadsParamsAsTheRunDoes() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["differences"], with: .ok("2\n"))
        let harness = try Harness(
            """
            params:
              allowed: {type: string, default: '2'}
            steps:
              - id: count
                probe: command
                with: {run: [differences]}
                expect: outputs.stdout == params.allowed
            """, hosts: hosts)
        let result = await plan(harness)
        let effect = try #require(result.plan.nodes.first?.effect)
        #expect(effect.marker == "=", "\(effect)")
        #expect(!(effect.detail ?? "").contains("params"), "\(effect)")
    }

    /// Issue 18, defect 5: a gate whose later steps are all skipped is not "already done".
    @Test func aGateWhoseLaterStepsAreSkippedIsNotCalledDone() async throws {
        let harness = try Harness(
            """
            steps:
              - id: go
                gate: {approval: {prompt: Promote?}}

            """ + shell("after", needs: ["go"], extra: ["when: 1 == 2"]))
        let result = await plan(harness)
        let gate = try #require(result.plan.nodes.first { $0.id == "go" })
        #expect(gate.effect == .skipped("every step after it is skipped: nothing to approve, it will not wait"))
    }

    /// Issue 18, defect 4: a `check` whose program is missing (exit 127) is a misconfiguration,
    /// not pending work: the plan names the program.
    @Test func aCheckWhoseProgramIsMissingIsAMisconfigurationNotPendingWork() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "x"], with: .exit(127, stderr: "sh: check: not found\n"))
        let harness = try Harness("steps:\n" + shell("x", check: true), hosts: hosts)
        let result = await plan(harness)
        let effect = try #require(result.plan.nodes.first?.effect)
        #expect(effect.marker == "?", "\(effect)")
        #expect(
            effect.detail?.contains("'check' is not found (exit 127: sh: check: not found)") == true,
            "\(effect)")
        #expect(effect.detail?.hasPrefix("check `check x` cannot run on ") == true, "\(effect)")
        #expect(effect.detail?.contains("not work left to do") == true, "\(effect)")
    }
}
