import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

/// Signed approvals in the core: the gate's fields and their checks (with positions), the
/// statement's canonical text and the approval file, and the pure rules (quorum, duplicates,
/// replays, the launcher).
@Suite struct SignedApprovalTests {
    static let header = TestDocuments.runbookHeader()

    static func gate(_ settings: String) -> String {
        header + """
            steps:
              - id: go
                gate:
                  approval:
            \(settings)
            """
    }

    @Test func signedApprovalFieldsAreAccepted() {
        expect(
            Self.gate(
                """
                        approvers: [alice@example.org, bob@example.org]
                        allowed_signers: keys/allowed_signers
                        quorum: 2
                        not_by_launcher: true
                """), [])
    }

    @Test func signedApprovalQuorumMustBeAtLeastOne() {
        expect(
            Self.gate(
                """
                        allowed_signers: keys/allowed_signers
                        quorum: 1️⃣0
                """),
            [
                FindingSpec(
                    "1️⃣",
                    "gate 'go': quorum must be at least 1 (how many distinct allowed keys must approve), got 0")
            ])
    }

    @Test func signedApprovalQuorumCannotExceedTheApproversListed() {
        expect(
            Self.gate(
                """
                        approvers: [alice@example.org]
                        allowed_signers: keys/allowed_signers
                        quorum: 1️⃣2
                """),
            [
                FindingSpec(
                    "1️⃣",
                    "gate 'go': quorum 2 can never be reached: only 1 approver is listed (alice@example.org); lower the quorum or list more approvers"
                )
            ])
    }

    @Test func signedApprovalQuorumAndLauncherRuleNeedAllowedSigners() {
        expect(
            Self.gate(
                """
                        quorum: 1️⃣2
                        not_by_launcher: 2️⃣true
                """),
            [
                FindingSpec("1️⃣", "gate 'go': quorum needs signed approvals: add `allowed_signers: FILE`"),
                FindingSpec("2️⃣", "gate 'go': not_by_launcher needs signed approvals"),
            ])
    }

    @Test func signedApprovalAllowedSignersIsReadAgainstTheRunbooksDirectory() {
        #expect(SignedApproval.resolve("keys/allowed", from: "/srv/runbooks/dr.yaml") == "/srv/runbooks/keys/allowed")
        #expect(SignedApproval.resolve("../keys/allowed", from: "/srv/runbooks/dr.yaml") == "/srv/keys/allowed")
        #expect(SignedApproval.resolve("/etc/runbook/allowed", from: "/srv/runbooks/dr.yaml") == "/etc/runbook/allowed")
    }

    static let at = Date(timeIntervalSince1970: 1_796_675_000)

    @Test func signedApprovalStatementIsCanonicalTextThatReadsBack() throws {
        let statement = ApprovalStatement(
            runID: "run-1", gate: "go", planHash: "sha256:abc", decision: .approve, reason: "CHG-1\nchecked",
            at: Self.at)
        #expect(
            statement.text == """
                runbook-approval v1
                run: run-1
                gate: go
                plan: sha256:abc
                decision: approve
                reason: CHG-1 checked
                at: 2026-12-07T20:23:20Z

                """)
        #expect(try ApprovalStatement(parsing: statement.text) == statement)
        #expect(throws: SignedApproval.FormatError.self) {
            try ApprovalStatement(
                parsing: statement.text.replacingOccurrences(of: "decision: approve", with: "decision: yes"))
        }
    }

    @Test func signedApprovalFileHoldsTheStatementAndTheSignature() throws {
        let statement = ApprovalStatement(
            runID: "run-1", gate: "go", planHash: "sha256:abc", decision: .reject, reason: "no", at: Self.at)
        let signature = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"
        let file = SignedApproval(statementText: statement.text, signature: signature).fileText
        let read = try SignedApproval(file: file)
        #expect(read.statementText == statement.text)
        #expect(read.signature == signature)
        #expect(try read.statement().decision == .reject)
        #expect(throws: SignedApproval.FormatError.self) { try SignedApproval(file: statement.text) }
    }

    // MARK: The rules

    static let rules = SignedApprovalRules.Gate(
        runID: "run-1", gate: "go", planHash: "sha256:p", quorum: 2, approvers: [], notByLauncher: true,
        launcher: "carol")

    static func candidate(
        _ who: String, key: String, run: String = "run-1", gate: String = "go", plan: String = "sha256:p",
        decision: ApprovalStatement.Decision = .approve
    ) -> SignedApprovalRules.Candidate {
        .init(
            by: who,
            statement: ApprovalStatement(
                runID: run, gate: gate, planHash: plan, decision: decision, reason: "r", at: at),
            verification: .verified(principal: who, fingerprint: key))
    }

    @Test func signedQuorumTwoIsReachedByTwoDistinctKeysOnly() {
        let one = SignedApprovalRules.tally([Self.candidate("alice", key: "SHA256:a")], at: Self.rules)
        #expect(one.outcome == .waiting(have: 1, need: 2))
        let twice = SignedApprovalRules.tally(
            [Self.candidate("alice", key: "SHA256:a"), Self.candidate("alice", key: "SHA256:a")], at: Self.rules)
        #expect(twice.outcome == .waiting(have: 1, need: 2))
        #expect(twice.refusals == [nil, .duplicated(principal: "alice", fingerprint: "SHA256:a")])
        let two = SignedApprovalRules.tally(
            [Self.candidate("alice", key: "SHA256:a"), Self.candidate("bob", key: "SHA256:b")], at: Self.rules)
        guard case .approved(let signers) = two.outcome else {
            Issue.record("not approved: \(two.outcome)")
            return
        }
        #expect(signers.map(\.fingerprint) == ["SHA256:a", "SHA256:b"])
    }

    @Test func refusedCasesAreNamedByTheRules() {
        let cases: [(SignedApprovalRules.Candidate, String)] = [
            (.init(by: "alice", statement: nil, verification: .unsigned), "unsigned"),
            (.init(by: "alice", statement: nil, verification: .badSignature("x")), "wrongly_signed"),
            (Self.candidate("alice", key: "SHA256:a", run: "run-0"), "replayed"),
            (Self.candidate("alice", key: "SHA256:a", gate: "other"), "replayed"),
            (Self.candidate("alice", key: "SHA256:a", plan: "sha256:q"), "replayed"),
            (Self.candidate("carol@example.org", key: "SHA256:c"), "launcher"),
        ]
        for (candidate, kind) in cases {
            #expect(SignedApprovalRules.refusal(candidate, at: Self.rules)?.kind == kind)
        }
        var listed = Self.rules
        listed.approvers = ["bob"]
        #expect(
            SignedApprovalRules.refusal(Self.candidate("alice", key: "SHA256:a"), at: listed)
                == .notAnApprover(principal: "alice", approvers: ["bob"]))
    }

    @Test func aSignedRejectionDecidesAtOnce() {
        let tally = SignedApprovalRules.tally(
            [Self.candidate("alice", key: "SHA256:a"), Self.candidate("bob", key: "SHA256:b", decision: .reject)],
            at: Self.rules)
        guard case .rejected(let signer) = tally.outcome else {
            Issue.record("not rejected: \(tally.outcome)")
            return
        }
        #expect(signer.principal == "bob")
    }
}
