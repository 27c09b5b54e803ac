import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Gates that require signed approvals (`allowed_signers`, `quorum`, `not_by_launcher`): the run
/// verifies every signature with the real `ssh-keygen -Y verify` before it counts it; each refused
/// case is journaled as `approval.refused` and does not count.
@Suite struct SignedApprovalGateTests {
    static func gated(_ keys: SigningKeys, quorum: Int = 2, notByLauncher: Bool = false) -> String {
        GateTests.gated(
            "{approval: {allowed_signers: \(keys.allowedSigners), quorum: \(quorum), not_by_launcher: \(notByLauncher)}}"
        )
    }

    static func statement(
        run: String = "run-1", gate: String = "go", plan: String = "sha256:test",
        decision: ApprovalStatement.Decision = .approve, reason: String = "CHG-1"
    ) -> ApprovalStatement {
        ApprovalStatement(runID: run, gate: gate, planHash: plan, decision: decision, reason: reason, at: Date())
    }

    /// What `runbook approve --sign` / `--file` writes: the signed approval and its event.
    static func handIn(_ harness: Harness, _ signed: SignedApproval?, by: String, gate: String = "go") throws {
        var approval = ApprovalRecord(
            runID: harness.runID, gate: gate, by: by, reason: "CHG-1", planHash: "sha256:test", at: Date(),
            decision: .approved)
        approval.statement = signed?.statementText
        approval.signature = signed?.signature
        var batch = JournalBatch(runID: harness.runID)
        batch.approvals = [approval]
        batch.events = [
            .approval(.init(step: gate, decision: .approved, by: by, reason: "CHG-1", planHash: "sha256:test"))
        ]
        try harness.journal.commit(batch)
    }

    static func refusals(_ harness: Harness) -> [RunEvent.ApprovalRefused] {
        harness.events.all.compactMap {
            if case .approvalRefused(let refused) = $0 { return refused }
            return nil
        }
    }

    @Test func signedQuorumTwoNeedsTwoDistinctAllowedKeys() async throws {
        let keys = try SigningKeys(allowed: ["alice", "bob"])
        let harness = try Harness(Self.gated(keys))
        #expect(await harness.run() == .parked(["go"]))
        try Self.handIn(harness, try await keys.sign(Self.statement(), as: "alice"), by: "alice@example.org")
        #expect(await harness.run() == .parked(["go"]))  // one of two
        try Self.handIn(harness, try await keys.sign(Self.statement(), as: "bob"), by: "bob@example.org")
        #expect(await harness.run() == .succeeded)
        let gate = try #require(try harness.step("go"))
        #expect(ValueJSON.decode(gate.outputsJSON)["approved_by"] == .string("alice@example.org, bob@example.org"))
        #expect(Self.refusals(harness).isEmpty)
        let finished = harness.events.all.compactMap { event -> String? in
            if case .stepFinished(let f) = event, f.step == "go" { return f.summary }
            return nil
        }
        let summary = try #require(finished.last ?? nil)
        #expect(summary.contains("alice@example.org (\(try keys.fingerprint("alice")))"))
        #expect(summary.contains("bob@example.org (\(try keys.fingerprint("bob")))"))
        #expect(harness.journal.chainIsIntact(runID: harness.runID))
    }

    @Test func refusedUnsignedApprovalDoesNotCount() async throws {
        let keys = try SigningKeys(allowed: ["alice"])
        let harness = try Harness(Self.gated(keys, quorum: 1))
        try Self.handIn(harness, nil, by: "alice@example.org")
        #expect(await harness.run() == .parked(["go"]))
        let refused = Self.refusals(harness)
        #expect(refused.map(\.kind) == ["unsigned"])
        #expect(refused.first?.reason.contains("carries no signature") == true)
        #expect(try harness.journal.events(runID: harness.runID).contains { $0.type == "approval.refused" })
        // Journaled once: a second look does not refuse it again.
        #expect(await harness.run() == .parked(["go"]))
        let journaled = try harness.journal.events(runID: harness.runID).filter { $0.type == "approval.refused" }
        #expect(journaled.count == 1)
    }

    @Test func refusedWronglySignedByAKeyNotAllowed() async throws {
        let keys = try SigningKeys(allowed: ["alice"], others: ["mallory"])
        let harness = try Harness(Self.gated(keys, quorum: 1))
        try Self.handIn(harness, try await keys.sign(Self.statement(), as: "mallory"), by: "alice@example.org")
        #expect(await harness.run() == .parked(["go"]))
        let refused = try #require(Self.refusals(harness).first)
        #expect(refused.kind == "wrongly_signed")
        #expect(refused.reason.contains(try keys.fingerprint("mallory")))
        #expect(refused.reason.contains("not in the allowed signers"))
    }

    @Test func refusedWronglySignedStatementAlteredAfterSigning() async throws {
        let keys = try SigningKeys(allowed: ["alice"])
        let harness = try Harness(Self.gated(keys, quorum: 1))
        var signed = try await keys.sign(Self.statement(decision: .reject, reason: "no"), as: "alice")
        signed.statementText = signed.statementText.replacingOccurrences(
            of: "decision: reject", with: "decision: approve")
        try Self.handIn(harness, signed, by: "alice@example.org")
        #expect(await harness.run() == .parked(["go"]))
        let refused = try #require(Self.refusals(harness).first)
        #expect(refused.kind == "wrongly_signed")
        #expect(refused.reason.contains("does not match the statement"))
    }

    @Test func refusedReplayedFromAnotherRun() async throws {
        let keys = try SigningKeys(allowed: ["alice"])
        let harness = try Harness(Self.gated(keys, quorum: 1))
        try Self.handIn(
            harness, try await keys.sign(Self.statement(run: "run-0"), as: "alice"), by: "alice@example.org")
        #expect(await harness.run() == .parked(["go"]))
        let refused = try #require(Self.refusals(harness).first)
        #expect(refused.kind == "replayed")
        #expect(refused.reason.contains("signed for run run-0, not this run (run-1)"))
    }

    @Test func refusedReplayedFromAnotherGate() async throws {
        let keys = try SigningKeys(allowed: ["alice"])
        let harness = try Harness(Self.gated(keys, quorum: 1))
        try Self.handIn(
            harness, try await keys.sign(Self.statement(gate: "other"), as: "alice"), by: "alice@example.org")
        #expect(await harness.run() == .parked(["go"]))
        #expect(Self.refusals(harness).first?.reason.contains("signed for gate other, not this gate (go)") == true)
    }

    @Test func refusedReplayedForAnotherPlan() async throws {
        let keys = try SigningKeys(allowed: ["alice"])
        let harness = try Harness(Self.gated(keys, quorum: 1))
        try Self.handIn(harness, try await keys.sign(Self.statement(plan: "sha256:old"), as: "alice"), by: "alice")
        #expect(await harness.run() == .parked(["go"]))
        #expect(Self.refusals(harness).first?.reason.contains("signed for plan sha256:old") == true)
    }

    @Test func refusedDuplicatedSameKeyTwiceTowardQuorum() async throws {
        let keys = try SigningKeys(allowed: ["alice", "bob"])
        let harness = try Harness(Self.gated(keys))
        try Self.handIn(harness, try await keys.sign(Self.statement(), as: "alice"), by: "alice@example.org")
        try Self.handIn(
            harness, try await keys.sign(Self.statement(reason: "again"), as: "alice"), by: "alice@example.org")
        #expect(await harness.run() == .parked(["go"]))
        #expect(try harness.state("go") == .waiting)
        let refused = try #require(Self.refusals(harness).first)
        #expect(refused.kind == "duplicated")
        #expect(refused.fingerprint == (try keys.fingerprint("alice")))
        #expect(refused.reason.contains("already counts toward the quorum"))
    }

    @Test func refusedLaunchersApproval() async throws {
        let keys = try SigningKeys(allowed: ["alice", "bob"])
        let harness = try Harness(Self.gated(keys, quorum: 1, notByLauncher: true))
        try Self.handIn(harness, try await keys.sign(Self.statement(), as: "alice"), by: "alice@example.org")
        #expect(await harness.run({ $0.launcher = "alice" }) == .parked(["go"]))
        let refused = try #require(Self.refusals(harness).first)
        #expect(refused.kind == "launcher")
        #expect(refused.reason.contains("alice@example.org launched the run"))
        // Someone else's signature counts.
        try Self.handIn(harness, try await keys.sign(Self.statement(), as: "bob"), by: "bob@example.org")
        #expect(await harness.run({ $0.launcher = "alice" }) == .succeeded)
    }

    @Test func aSignedRejectionFailsTheGate() async throws {
        let keys = try SigningKeys(allowed: ["alice", "bob"])
        let harness = try Harness(Self.gated(keys))
        try Self.handIn(
            harness, try await keys.sign(Self.statement(decision: .reject, reason: "not now"), as: "bob"),
            by: "bob@example.org")
        guard case .failed(let why) = await harness.run() else {
            Issue.record("the run did not fail")
            return
        }
        #expect(why.contains("rejected by bob@example.org"))
        #expect(try harness.state("go") == .failed)
        #expect(harness.hosts.commands().contains("do b") == false)
    }

    @Test func approveOnTheCommandLineCannotAnswerASignedGate() async throws {
        let keys = try SigningKeys(allowed: ["alice"])
        let harness = try Harness(Self.gated(keys, quorum: 1))
        guard case .failed(let why) = await harness.run({ $0.approvals = ["go"] }) else {
            Issue.record("the run did not fail")
            return
        }
        #expect(why.contains("--approve go cannot answer this gate"))
        #expect(why.contains("--sign KEY"))
    }

    @Test func unsignedByStillWorksWhereTheGateDoesNotRequireSignatures() async throws {
        let harness = try Harness(GateTests.gated())
        try Self.handIn(harness, nil, by: "carol")
        #expect(await harness.run() == .succeeded)
        #expect(Self.refusals(harness).isEmpty)
        let approval = try #require(try harness.journal.approvals(runID: harness.runID).first)
        #expect(approval.isSigned == false)
        #expect(approval.fingerprint == nil)
    }
}
