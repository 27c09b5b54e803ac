import Foundation
import RunbookCore

/// Gates with `allowed_signers`: only signed approvals count, each verified here with
/// `ssh-keygen -Y verify` before it is counted (what `runbook approve` checked when it recorded
/// them is not trusted: the journal holds what was handed in, the run decides).
extension Executor {
    /// The rules' view of this gate.
    func signedGate(_ node: PlanNode, _ gate: GatePlan) -> SignedApprovalRules.Gate {
        SignedApprovalRules.Gate(
            runID: runID, gate: node.gateName, planHash: planHash, quorum: gate.quorum ?? 1, approvers: gate.approvers,
            notByLauncher: gate.notByLauncher, launcher: options.launcher)
    }

    /// Verifies and tallies every approval handed in at the gate; journals an `approval.refused`
    /// for each one that does not count (once: `refused` holds the ids already journaled); the
    /// gate's outcome when it is decided, nil while it waits for more.
    func signedOutcome(
        _ node: PlanNode, gate: GatePlan, host: String, checked: inout [Int64: SignedApprovalRules.Verification],
        refused: inout Set<Int64>
    ) async -> NodeOutcome? {
        guard let signers = gate.allowedSigners,
            let approvals = try? journal.approvals(runID: runID).filter({ $0.gate == node.gateName })
        else { return nil }
        var candidates: [SignedApprovalRules.Candidate] = []
        for approval in approvals {
            let statement = try? approval.signed?.statement()
            var verification = SignedApprovalRules.Verification.unsigned
            if let signed = approval.signed {
                if let id = approval.id, let known = checked[id] {
                    verification = known
                } else {
                    verification = await options.signatures.verify(signed, allowedSigners: signers)
                    if let id = approval.id { checked[id] = verification }
                }
            }
            candidates.append(.init(by: approval.by, statement: statement, verification: verification))
        }
        let tally = SignedApprovalRules.tally(candidates, at: signedGate(node, gate))
        var batch = JournalBatch(runID: runID)
        for (approval, refusal) in zip(approvals, tally.refusals) {
            guard let refusal, let id = approval.id, !refused.contains(id) else { continue }
            refused.insert(id)
            var fingerprint: String?
            if case .verified(_, let key)? = checked[id] { fingerprint = key }
            batch.events.append(
                .approvalRefused(
                    .init(
                        step: node.id, host: node.host, approval: id, by: approval.by, kind: refusal.kind,
                        reason: refusal.message, fingerprint: fingerprint)))
        }
        switch tally.outcome {
        case .waiting:
            if !batch.events.isEmpty { conclude(node, batch) }
            return nil
        case .rejected(let signer):
            let who = "\(signer.principal) (\(signer.fingerprint))"
            rejecting(
                node, host: host, error: "rejected by \(who), signed: \(signer.statement.reason)",
                eventError: "rejected by \(signer.principal)", into: &batch)
            conclude(node, batch)
            return .failed("gate \(node.gateName) was rejected by \(who): \(signer.statement.reason)", .stop)
        case .approved(let counted):
            let who = counted.map { "\($0.principal) (\($0.fingerprint))" }.joined(separator: ", ")
            let outputs: [String: Value] = [
                "approved_by": .string(counted.map(\.principal).joined(separator: ", ")),
                "reason": .string(counted.map(\.statement.reason).joined(separator: "; ")),
                "at": .timestamp(counted.map(\.statement.at).max() ?? Date()),
            ]
            passing(node, host: host, outputs: outputs, summary: "approved, signed by \(who)", into: &batch)
            conclude(node, batch)
            return .succeeded(changed: false, outputs: outputs)
        }
    }

    /// The ids of the approvals already refused at this gate (journaled by an earlier run of it).
    func refusedApprovals(_ node: PlanNode) -> Set<Int64> {
        let events = (try? journal.events(runID: runID)) ?? []
        return Set(
            events.compactMap { record -> Int64? in
                guard case .approvalRefused(let refused)? = record.event, refused.step == node.id else { return nil }
                return refused.approval
            })
    }

    /// Waits at a gate that requires signatures: answered by the journal alone (`runbook approve
    /// --sign`, `--file`), never by `--approve` or the terminal, which sign nothing.
    func runSignedApproval(_ node: PlanNode, gate: GatePlan, host: String, firstReached: Date) async -> NodeOutcome {
        let deadline = deadline(gate, firstReached: firstReached)
        var checked: [Int64: SignedApprovalRules.Verification] = [:]
        var refused = refusedApprovals(node)
        if options.approvals.contains(node.gateName) {
            return fail(
                node, host: host,
                "--approve \(node.gateName) cannot answer this gate: it requires approvals signed by keys of "
                    + "\(gate.allowedSigners ?? "its allowed_signers"); sign with "
                    + "`runbook approve \(runID) \(node.gateName) --sign KEY`, then `runbook resume \(runID)`")
        }
        while true {
            if let outcome = await signedOutcome(
                node, gate: gate, host: host, checked: &checked, refused: &refused)
            {
                return outcome
            }
            if let deadline, Date() >= deadline { return timedOut(node, gate: gate, host: host) }
            guard options.interactive else { return .parked }
            var wait = options.approvalPollSeconds
            if let deadline { wait = min(wait, max(0, deadline.timeIntervalSinceNow)) }
            do { try await sleep(seconds: wait) } catch { return cancelled(node, host: host) }
        }
    }
}
