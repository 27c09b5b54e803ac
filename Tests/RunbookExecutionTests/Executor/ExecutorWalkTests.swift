import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// A shell step `id` running `do id` (undone by `undo id`), with `check id` when `check`.
func shell(
    _ id: String, needs: [String] = [], on target: String? = nil, check: Bool = false, extra: [String] = []
) -> String {
    var lines = ["  - id: \(id)"]
    if !needs.isEmpty { lines.append("    needs: [\(needs.joined(separator: ", "))]") }
    if let target { lines.append("    on: \(target)") }
    lines.append("    action: shell")
    lines.append("    with: {run: [do, \(id)]\(check ? ", check: [check, \(id)]" : "")}")
    lines.append("    undo: {action: shell, with: {run: [undo, \(id)]}}")
    lines.append(contentsOf: extra.map { "    " + $0 })
    return lines.joined(separator: "\n") + "\n"
}

/// The DAG walk: order, concurrency, fan-out, idempotency, outputs.
@Suite struct ExecutorWalkTests {
    @Test func stepsRunInDependencyOrderEachOnce() async throws {
        let harness = try Harness(
            "steps:\n" + shell("d", needs: ["b", "c"]) + shell("b", needs: ["a"]) + shell("c", needs: ["a"])
                + shell("a"))
        let outcome = await harness.run()
        #expect(outcome == .succeeded)
        let ran = harness.hosts.commands()
        #expect(ran.count == 4)
        #expect(ran.first == "do a")
        #expect(ran.last == "do d")
        #expect(Set(ran[1...2]) == ["do b", "do c"])
        for id in ["a", "b", "c", "d"] { #expect(try harness.state(id) == .succeeded) }
        // Completion order is what rollback reverses: a first, d last.
        let seq = try ["a", "b", "c", "d"].map { try #require(try harness.step($0)?.completionSeq) }
        #expect(seq[0] < seq[1] && seq[0] < seq[2] && seq[1] < seq[3] && seq[2] < seq[3])
        #expect(harness.journal.chainIsIntact(runID: harness.runID))
    }

    @Test func noMoreStepsRunAtOnceThanTheRunbookAllows() async throws {
        let steps = (1...6).map { shell("s\($0)") }.joined()
        for limit in [1, 2, 3] {
            let hosts = ScriptedHosts(defaultDelay: 0.1)
            let harness = try Harness("concurrency: \(limit)\nsteps:\n" + steps, hosts: hosts)
            #expect(await harness.run() == .succeeded)
            #expect(hosts.ran.count == 6)
            #expect(hosts.maxConcurrent == limit, "concurrency \(limit)")
        }
    }

    @Test func readyStepsStartInDocumentOrder() async throws {
        let harness = try Harness("concurrency: 1\nsteps:\n" + ["x", "m", "a", "q"].map { shell($0) }.joined())
        #expect(await harness.run() == .succeeded)
        #expect(harness.hosts.commands() == ["do x", "do m", "do a", "do q"])
    }

    @Test func aRoleFansOutToEveryHostAndWaitsForAllOfThem() async throws {
        let harness = try Harness(
            "roles: {site: {min: 1}}\nsteps:\n" + shell("prep", on: "site") + shell("after", needs: ["prep"]))
        #expect(await harness.run() == .succeeded)
        let ran = harness.hosts.ran
        #expect(Set(ran.prefix(3).map(\.host)) == ["a1", "b1", "b2"])
        #expect(ran.last?.description == "[localhost] do after")
        for host in ["a1", "b1", "b2"] { #expect(try harness.state("prep@\(host)") == .succeeded) }
    }

    @Test func aStepWhoseCheckSaysDoneIsNotApplied() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "done"], with: .ok())
        hosts.answer(["check", "todo"], with: .exit(1))
        let harness = try Harness(
            "concurrency: 1\nsteps:\n" + shell("done", check: true) + shell("todo", check: true), hosts: hosts)
        #expect(await harness.run() == .succeeded)
        #expect(hosts.commands() == ["check done", "check todo", "do todo"])
        #expect(try harness.state("done") == .alreadyDone)
        #expect(try harness.step("done")?.changed == false)
        #expect(try harness.state("todo") == .succeeded)
        #expect(try harness.step("todo")?.changed == true)
    }

    @Test func outputsOfAStepFeedTheStepsAfterIt() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "a"], with: .ok("hello\n"))
        let harness = try Harness(
            "steps:\n" + shell("a") + """
                  - id: b
                    needs: [a]
                    action: shell
                    with: {run: [use, "${{ steps.a.outputs.stdout }}"]}
                    undo: {action: shell, with: {run: ["true"]}}

                """, hosts: hosts)
        #expect(await harness.run() == .succeeded)
        #expect(hosts.commands().last == "use hello\n")
    }

    @Test func aStepWhoseWhenIsFalseIsSkippedAndWhatNeedsItRuns() async throws {
        let harness = try Harness("steps:\n" + shell("off", extra: ["when: 1 == 2"]) + shell("next", needs: ["off"]))
        #expect(await harness.run() == .succeeded)
        #expect(harness.hosts.commands() == ["do next"])
        #expect(try harness.state("off") == .skipped)
        #expect(harness.events.lines.contains("step.skipped off"))
    }

    @Test func aResumeReverifiesDoneStepsAndAppliesNothingTwice() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "a"], with: .exit(1), .ok())
        hosts.answer(["do", "b"], with: .exit(1), .ok())
        let harness = try Harness(
            "on_failure: stop\nsteps:\n" + shell("a", check: true) + shell("b", needs: ["a"]), hosts: hosts)
        guard case .failed = await harness.run() else {
            Issue.record("the first run should fail")
            return
        }
        #expect(await harness.run() == .succeeded)
        #expect(hosts.commands() == ["check a", "do a", "do b", "check a", "do b"])
        #expect(try harness.state("a") == .succeeded)  // re-verified: it was applied in this run
        #expect(harness.events.lines.contains("step.finished a"))
    }
    /// A step whose every dependent is done is not probed again on resume: a later step may have
    /// undone its effect on purpose (the failback's delete-reverse removes the session
    /// reverse-session made, and re-verifying reverse-session failed the resume on the lab). The
    /// step right before what is still to run is re-verified as before.
    @Test func aResumeReverifiesOnlyTheDoneStepsThatAStepStillToRunNeeds() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "a"], with: .exit(1), .ok())
        hosts.answer(["check", "b"], with: .exit(1), .ok())
        hosts.answer(["do", "c"], with: .exit(1), .ok())
        let harness = try Harness(
            "on_failure: stop\nsteps:\n" + shell("a", check: true) + shell("b", needs: ["a"], check: true)
                + shell("c", needs: ["b"]), hosts: hosts)
        guard case .failed = await harness.run() else {
            Issue.record("the first run should fail")
            return
        }
        #expect(hosts.commands() == ["check a", "do a", "check b", "do b", "do c"])
        #expect(await harness.run() == .succeeded)
        // a is settled (b, all that needs it, is done): not probed; b is re-verified; c runs.
        #expect(hosts.commands() == ["check a", "do a", "check b", "do b", "do c", "check b", "do c"])
        #expect(harness.events.lines.contains("step.verified a"))
    }
}
