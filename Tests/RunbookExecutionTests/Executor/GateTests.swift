import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Approval gates (parking, answers from elsewhere, approvers, timeouts) and `until` gates.
@Suite struct GateTests {
    static func gated(_ gate: String = "{approval: {prompt: Promote?}}") -> String {
        "steps:\n" + shell("a", check: true) + """
              - id: go
                needs: [a]
                gate: \(gate)
                commit: true

            """ + shell("b", needs: ["go"])
    }

    /// What `runbook approve` writes: the decision and its event, in one commit.
    func approve(_ harness: Harness, by: String = "alice", decision: ApprovalDecision = .approved) throws {
        var batch = JournalBatch(runID: harness.runID)
        batch.approvals = [
            ApprovalRecord(
                runID: harness.runID, gate: "go", by: by, reason: "CHG-1", planHash: "sha256:test", at: Date(),
                decision: decision)
        ]
        batch.events = [
            .approval(.init(step: "go", decision: decision, by: by, reason: "CHG-1", planHash: "sha256:test"))
        ]
        try harness.journal.commit(batch)
    }

    @Test func unattendedItParksThenAnApprovalFromElsewhereLetsTheResumeFinish() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "a"], with: .exit(1), .ok())
        let harness = try Harness(Self.gated(), hosts: hosts)
        #expect(await harness.run() == .parked(["go"]))
        #expect(try harness.state("go") == .waiting)
        #expect(try harness.state("b") == .pending)
        #expect(hosts.commands() == ["check a", "do a"])
        let waiting = harness.events.all.compactMap { event -> RunEvent.GateWaiting? in
            if case .gateWaiting(let waiting) = event { return waiting }
            return nil
        }
        #expect(waiting.first?.answerWith == "runbook approve run-1 go --by NAME --reason TEXT")
        #expect(waiting.first?.prompt == "Promote?")

        try approve(harness)
        #expect(await harness.run() == .succeeded)
        // a is re-verified by its check, not applied again; b runs once.
        #expect(hosts.commands() == ["check a", "do a", "check a", "do b"])
        let gate = try #require(try harness.step("go"))
        #expect(gate.state == .succeeded)
        #expect(gate.completionSeq != nil)  // a commit point: rollback stops there
        #expect(ValueJSON.decode(gate.outputsJSON)["approved_by"] == .string("alice"))
        #expect(harness.journal.chainIsIntact(runID: harness.runID))
    }

    @Test func aResumedGateKeepsWhenItWasFirstReached() async throws {
        let harness = try Harness(Self.gated())
        #expect(await harness.run() == .parked(["go"]))
        let first = try #require(try harness.step("go")?.firstReachedAt)
        try await Task.sleep(for: .milliseconds(20))
        #expect(await harness.run() == .parked(["go"]))
        #expect(try harness.step("go")?.firstReachedAt == first)
    }

    @Test func approvingOnTheCommandLineIsJournaledWithTheGatesEnd() async throws {
        let harness = try Harness(Self.gated())
        #expect(await harness.run({ $0.approvals = ["go"] }) == .succeeded)
        let approvals = try harness.journal.approvals(runID: harness.runID)
        #expect(approvals.map(\.by) == ["tester"])
        #expect(approvals.map(\.reason) == ["--approve go on the command line"])
        #expect(harness.journal.batches.contains(["gate.waiting"]))
        #expect(harness.journal.batches.contains(["approval", "step.finished"]))
        #expect(harness.hosts.commands().last == "do b")
    }

    @Test func anApprovalBySomeoneNotAmongTheApproversDoesNotCount() async throws {
        let harness = try Harness(Self.gated("{approval: {approvers: [alice]}}"))
        try approve(harness, by: "mallory")
        #expect(await harness.run() == .parked(["go"]))
        let refused = await harness.run({ $0.approvals = ["go"] })
        guard case .failed(let why) = refused else {
            Issue.record("\(refused)")
            return
        }
        #expect(why.contains("--approve go was given by tester, who is not among the approvers (alice)"))
        try approve(harness, by: "alice")
        #expect(await harness.run() == .succeeded)
    }

    @Test func aRejectionFailsTheGateAndStops() async throws {
        let harness = try Harness(Self.gated())
        try approve(harness, decision: .rejected)
        guard case .failed(let why) = await harness.run() else {
            Issue.record("expected a failure")
            return
        }
        #expect(why.contains("gate go was rejected by alice: CHG-1"))
        #expect(try harness.state("go") == .failed)
        #expect(!harness.hosts.commands().contains("do b"))
    }

    @Test func anUnansweredGateTimesOutWithItsPolicy() async throws {
        let harness = try Harness(Self.gated("{approval: {timeout: 10ms, on_timeout: proceed}}"))
        #expect(await harness.run() == .parked(["go"]))
        try await Task.sleep(for: .milliseconds(30))
        #expect(await harness.run() == .succeeded)
        #expect(ValueJSON.decode(try harness.step("go")?.outputsJSON)["approved_by"] == .string("timeout"))

        let aborting = try Harness(Self.gated("{approval: {timeout: 10ms, on_timeout: abort}}"))
        #expect(await aborting.run() == .parked(["go"]))
        try await Task.sleep(for: .milliseconds(30))
        guard case .failed(let why) = await aborting.run() else {
            Issue.record("expected a failure")
            return
        }
        #expect(why.contains("gate go timed out after"))
    }

    @Test func aGateWithNothingBehindItThatWouldChangeDoesNotAsk() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["check", "a"], with: .ok())
        hosts.answer(["check", "b"], with: .ok())
        let body =
            "steps:\n" + shell("a", check: true)
            + "  - id: go\n    needs: [a]\n    gate: {approval: {}}\n" + shell("b", needs: ["go"], check: true)
        let harness = try Harness(body, hosts: hosts)
        #expect(await harness.run() == .succeeded)
        #expect(try harness.journal.approvals(runID: harness.runID).isEmpty)
        #expect(ValueJSON.decode(try harness.step("go")?.outputsJSON)["approved_by"] == .string("runbook"))
    }

    static let until = """
        steps:
          - id: synced
            gate:
              until:
                probe: command
                with: {run: [status]}
                condition: outputs.stdout == 'done'
                every: 1s
                timeout: 5s

        """ + shell("after", needs: ["synced"])

    @Test func anUntilGatePollsItsProbeUntilTheConditionHolds() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["status"], with: .ok("syncing\n"), .unreachable(), .ok("syncing\n"), .ok("done\n"))
        let harness = try Harness(Self.until, hosts: hosts)
        #expect(await harness.run() == .succeeded)
        #expect(hosts.commands() == ["status", "status", "status", "status", "do after"])
        let polls = harness.events.all.compactMap { event -> RunEvent.GatePoll? in
            if case .gatePoll(let poll) = event { return poll }
            return nil
        }
        #expect(polls.map(\.poll) == [1, 2, 3, 4])
        #expect(polls.map(\.holds) == [false, nil, false, true])
        #expect(polls[1].error?.contains("is unreachable") == true)
        #expect(polls[3].outputs?.contains("\"stdout\":\"done\"") == true)
        // Each poll is one commit, journaled after it ran; the last one also ends the gate.
        let attempts = try harness.journal.attempts(runID: harness.runID).filter { $0.phase == .gatePoll }
        #expect(attempts.map(\.outcome) == ["notYet", "unreachable", "notYet", "holds"])
        #expect(harness.journal.batches.filter { $0.first == "~gatePoll" }.count == 4)
        #expect(harness.journal.batches.contains(["~gatePoll", "gate.poll", "step.finished"]))
        #expect(try harness.state("synced") == .succeeded)
    }

    @Test func anUntilGateThatNeverHoldsTimesOut() async throws {
        let hosts = ScriptedHosts()
        hosts.answer(["status"], with: .ok("syncing\n"))
        let harness = try Harness(
            Self.until.replacingOccurrences(of: "timeout: 5s", with: "timeout: 50ms"), hosts: hosts)
        guard case .failed(let why) = await harness.run() else {
            Issue.record("expected a failure")
            return
        }
        #expect(why.contains("gate synced timed out after"))
        #expect(hosts.commands().count >= 2)
        #expect(!hosts.commands().contains("do after"))
    }

    /// A probe that answers like `command` but gives up for good when the host prints `gone`
    /// (as gluster.georep.status does past its faulty_timeout).
    struct ConclusiveProbe: ActionType {
        let descriptor = ActionDescriptor(
            name: "test.conclusive", kind: .probe, summary: "test", parameters: [],
            outputs: [OutputSpec("stdout", "string", "what it printed")], changes: false, undo: .none)
        func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
            [PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["status"]))]
        }
        func probe(_ context: ActionContext) async throws -> Observation {
            let result = try await context.run(CommandSpec(argv: ["status"]))
            if result.stdout.contains("gone") {
                throw ConclusiveProbeFailure(message: "the session has been Faulty for 600 s: ENTRY FAILED moved-dir")
            }
            return Observation(done: true, summary: result.stdout, outputs: ["stdout": .string(result.stdout)])
        }
        func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
            EffectResult(succeeded: true, summary: "probe")
        }
    }

    @Test func anUntilGateFailsAtOnceOnAConclusiveProbeFailure() async throws {
        var registry = ActionRegistry.builtIn
        registry.register(ConclusiveProbe())
        let hosts = ScriptedHosts()
        hosts.answer(["status"], with: .ok("syncing\n"), .ok("gone\n"), .ok("done\n"))
        let body = Self.until.replacingOccurrences(
            of: "probe: command\n        with: {run: [status]}", with: "probe: test.conclusive"
        )
        let harness = try Harness(body, hosts: hosts, registry: registry)
        guard case .failed(let why) = await harness.run() else {
            Issue.record("expected a failure")
            return
        }
        #expect(why.contains("Faulty for 600 s: ENTRY FAILED moved-dir"), "\(why)")
        #expect(
            hosts.commands() == ["status", "status"], "no poll after the conclusive answer, nothing after the gate")
        #expect(try harness.state("synced") == .failed)
    }
}
