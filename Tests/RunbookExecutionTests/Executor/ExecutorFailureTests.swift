import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Failure policies, retries, unreachable hosts and skips after a failure.
@Suite struct ExecutorFailureTests {
    @Test func stopLaunchesNothingNewButLetsRunningStepsFinish() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "slow"], with: .ok(after: 0.2))
        hosts.answer(["do", "boom"], with: .exit(1, stderr: "no\n"))
        let harness = try Harness(
            "on_failure: stop\nconcurrency: 4\nsteps:\n" + shell("slow") + shell("boom")
                + shell("after-slow", needs: ["slow"]) + shell("after-boom", needs: ["boom"]), hosts: hosts)
        let outcome = await harness.run()
        guard case .failed(let why) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(why.hasPrefix("boom: run `'do' boom` exited 1: no"))
        #expect(try harness.state("slow") == .succeeded)
        #expect(try harness.state("boom") == .failed)
        #expect(try harness.state("after-slow") == .pending)
        #expect(try harness.state("after-boom") == .pending)
        #expect(hosts.commands().sorted() == ["do boom", "do slow"])
    }

    @Test func continueSkipsWhatNeedsTheFailureAndRunsTheRest() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "a"], with: .exit(2))
        let harness = try Harness(
            "on_failure: continue\nconcurrency: 1\nsteps:\n" + shell("a") + shell("b", needs: ["a"])
                + shell("c", needs: ["b"]) + shell("d"), hosts: hosts)
        let outcome = await harness.run()
        guard case .failed = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(hosts.commands() == ["do a", "do d"])
        #expect(try harness.state("b") == .skipped)
        #expect(try harness.state("c") == .skipped)
        #expect(try harness.step("c")?.error == "needs a, which failed")
        #expect(try harness.state("d") == .succeeded)
        // Everything the failure skips is journaled in one commit.
        #expect(harness.journal.batches.contains(["step.skipped", "step.skipped"]))
        #expect(harness.events.lines.filter { $0.hasPrefix("step.skipped") } == ["step.skipped b", "step.skipped c"])
    }

    @Test func aStepsOwnPolicyOverridesTheRunbooks() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "a"], with: .exit(1))
        let harness = try Harness(
            "on_failure: rollback\nsteps:\n" + shell("a", extra: ["on_failure: continue"]) + shell("b"),
            hosts: hosts)
        guard case .failed = await harness.run() else {
            Issue.record("expected failed, not rolled back")
            return
        }
        #expect(!hosts.commands().contains { $0.hasPrefix("undo") })
        #expect(try harness.state("b") == .succeeded)
    }

    @Test func retriesWaitTheirDelayAndStopAtTheFirstSuccess() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "flaky"], with: .exit(1, stderr: "busy\n"), .exit(1, stderr: "busy\n"), .ok())
        let harness = try Harness(
            "steps:\n" + shell("flaky", extra: ["retries: 3", "retry_delay: 50ms"]), hosts: hosts)
        #expect(await harness.run() == .succeeded)
        let starts = hosts.ran.map(\.started)
        #expect(starts.count == 3)
        for (earlier, later) in zip(starts, starts.dropFirst()) { #expect(later - earlier >= 0.05) }
        let retries = harness.events.all.compactMap { event -> RunEvent.StepRetry? in
            if case .stepRetry(let retry) = event { return retry }
            return nil
        }
        #expect(retries.map(\.attempt) == [2, 3])
        #expect(retries.allSatisfy { $0.of == 4 && $0.afterSeconds == 0.05 && $0.error.hasSuffix("busy") })
        #expect(try harness.step("flaky")?.attempts == 3)
        #expect(try harness.attempts() == ["apply flaky", "apply flaky", "apply flaky"])
        #expect(try harness.journal.attempts(runID: harness.runID).map(\.outcome) == ["failed", "failed", "ok"])
    }

    @Test func exhaustedRetriesFailWithTheLastError() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "bad"], with: .exit(3, stderr: "first\n"), .exit(4, stderr: "second\n"))
        let harness = try Harness("on_failure: stop\nsteps:\n" + shell("bad", extra: ["retries: 1"]), hosts: hosts)
        guard case .failed(let why) = await harness.run() else {
            Issue.record("expected a failure")
            return
        }
        #expect(why.contains("exited 4: second"))
        #expect(try harness.step("bad")?.error?.contains("exited 4: second") == true)
        #expect(hosts.ran.count == 2)
    }

    @Test func anUnreachableHostFailsItsStepAndSaysWhy() async throws {
        let hosts = ScriptedHosts()
        hosts.setUnreachable("b1", message: "ssh: connect to host b1 port 22: Connection refused")
        let harness = try Harness(
            "roles: {secondary: {min: 1}}\non_failure: stop\nsteps:\n" + shell("x", on: "secondary[0]"), hosts: hosts)
        guard case .failed(let why) = await harness.run() else {
            Issue.record("expected a failure")
            return
        }
        #expect(why.contains("b1 is unreachable: ssh: connect to host b1 port 22: Connection refused"))
        #expect(try harness.journal.attempts(runID: harness.runID).map(\.outcome) == ["unreachable"])
        #expect(try harness.journal.inFlightAttempts(runID: harness.runID).isEmpty)
    }

    @Test func anyOfARoleRunsOnTheFirstHostThatAnswers() async throws {
        let hosts = ScriptedHosts()
        hosts.setUnreachable("b1")
        let harness = try Harness(
            "roles: {secondary: {min: 1}}\nsteps:\n" + shell("x", on: "any(secondary)"), hosts: hosts)
        #expect(await harness.run() == .succeeded)
        #expect(hosts.ran.map(\.description) == ["[b2] do x"])
        #expect(try harness.step("x")?.host == "b2")
    }

    @Test func noHostOfAnyAnsweringFailsTheStepNamingEach() async throws {
        let hosts = ScriptedHosts()
        hosts.setUnreachable("b1", message: "refused")
        hosts.setUnreachable("b2", message: "timed out")
        let harness = try Harness(
            "roles: {secondary: {min: 1}}\non_failure: stop\nsteps:\n" + shell("x", on: "any(secondary)"), hosts: hosts)
        guard case .failed(let why) = await harness.run() else {
            Issue.record("expected a failure")
            return
        }
        #expect(why.contains("no host of any(secondary) answered (b1: refused; b2: timed out)"))
        #expect(hosts.ran.isEmpty)
    }

    @Test func aStopRequestCancelsRunningCommandsAfterTheGrace() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["do", "long"], with: .ok(after: 30))
        let harness = try Harness("steps:\n" + shell("long") + shell("next", needs: ["long"]), hosts: hosts)
        let stop = StopController()
        let executor = harness.executor({ $0.graceSeconds = 0.05 }, stop: stop)
        let clock = ContinuousClock()
        let started = clock.now
        async let outcome = executor.run()
        while hosts.ran.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        stop.request(signal: SIGTERM)
        #expect(await outcome == .interrupted(SIGTERM))
        #expect(clock.now - started < .seconds(10))
        #expect(try harness.state("long") == .cancelled)
        #expect(try harness.state("next") == .pending)
        #expect(try harness.journal.attempts(runID: harness.runID).map(\.outcome) == ["interrupted"])
        #expect(harness.events.lines.contains("run.stopping"))
    }
}
