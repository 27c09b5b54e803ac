import Foundation
import RunbookCore
import RunbookExecution

/// Why a decision at a gate cannot be recorded (`runbook approve`); nothing was recorded.
public enum ApprovalRefusal: Error, Sendable {
    /// The run succeeded: no gate is left to answer.
    case runSucceeded(RunRecord)
    /// The run was rolled back: it will not continue.
    case runRolledBack(RunRecord)
    /// The run has no step `gate`; `gates` are its gates.
    case noSuchGate(RunRecord, gate: String, gates: [String])
    /// `gate` is a step of the run but not a gate.
    case notAGate(RunRecord, gate: String, gates: [String])
    /// The gate has been passed (or failed): only a waiting or pending gate can be answered.
    case notWaiting(RunRecord, gate: String, state: StepState, error: String?)
    /// The plan names the gate's approvers and `approver` is not one of them.
    case notAnApprover(RunRecord, gate: String, approver: String, approvers: [String])
    /// The run is no longer in the journal.
    case runDisappeared(runID: String)
    /// The gate takes only signed approvals (`allowed_signers`) and this one is unsigned.
    case signatureRequired(RunRecord, gate: String, allowedSigners: String)
    /// The signed approval would not count at the gate: the run would refuse it too.
    case signedRefused(RunRecord, gate: String, SignedApprovalRules.Refusal)
    /// A signed approval for a gate without `allowed_signers`: nothing to verify it against.
    case noAllowedSigners(RunRecord, gate: String)
    /// The approval file's statement cannot be read.
    case unreadableStatement(String)
}

/// A decision recorded at a gate.
public struct ApprovalRecorded: Sendable {
    public var approval: ApprovalRecord
    /// Its `approval` event in the run's chain.
    public var event: EventRecord
    /// The run as it was when the decision was recorded.
    public var run: RunRecord
    /// The gate's state then (`waiting`, or `pending` when the run has not reached it).
    public var gateState: StepState
}

/// The rules of answering a gate from outside the run: which gates can be answered, and by whom.
public enum ApprovalRules {
    /// The gate steps of a journaled run's plan and their approvers, by node id; nil when the
    /// journal holds no readable plan.
    public static func gates(of run: RunRecord) -> [String: [String]]? {
        guard let plan = try? PlanDocument.decode(run.planJSON) else { return nil }
        var gates: [String: [String]] = [:]
        for node in plan.steps where node.kind == .gate { gates[node.id] = node.gate?.approvers ?? [] }
        return gates
    }

    /// The settings of the gate steps of a journaled run's plan, by node id; nil when the journal
    /// holds no readable plan.
    public static func gatePlans(of run: RunRecord) -> [String: GatePlan]? {
        guard let plan = try? PlanDocument.decode(run.planJSON) else { return nil }
        var gates: [String: GatePlan] = [:]
        for node in plan.steps where node.kind == .gate { gates[node.id] = node.gate }
        return gates
    }

    /// Why `gate` of `run` cannot be answered, or nil if it can.
    public static func refusal(run: RunRecord, gate: String, steps: [StepRecord]) -> ApprovalRefusal? {
        switch run.status {
        case .succeeded: return .runSucceeded(run)
        case .rolledBack: return .runRolledBack(run)
        default: break
        }
        let planGates = gates(of: run)
        // Without a readable plan: every step without a host (gate node ids are plain step ids)
        // and any step that is waiting.
        let gateIDs =
            planGates.map { gates in steps.map(\.nodeID).filter { gates[$0] != nil } }
            ?? steps.filter { $0.state == .waiting || ($0.host == nil && $0.nodeID == $0.stepID) }.map(\.nodeID)
        guard let step = steps.first(where: { $0.nodeID == gate }) else {
            return .noSuchGate(run, gate: gate, gates: gateIDs)
        }
        if let planGates, planGates[gate] == nil { return .notAGate(run, gate: gate, gates: gateIDs) }
        switch step.state {
        case .waiting, .pending: return nil
        default: return .notWaiting(run, gate: gate, state: step.state, error: step.error)
        }
    }

    /// Why `approver` may not answer `gate` (the plan names its approvers), or nil: the rule the
    /// run applies too (``GateApprovers``).
    public static func notAnApprover(_ approver: String, run: RunRecord, gate: String) -> ApprovalRefusal? {
        guard let approvers = gates(of: run)?[gate], !GateApprovers.allows(approvers, approver) else { return nil }
        return .notAnApprover(run, gate: gate, approver: approver, approvers: approvers)
    }
}

extension RunController {
    /// Records a decision at a gate of `run` (`steps`: its steps as read), bound to the run's plan
    /// hash, with its `approval` event; checked again inside the write (the run may have moved
    /// on). Throws ``ApprovalRefusal``, or the journal's error.
    public func approve(
        _ run: RunRecord, gate: String, steps: [StepRecord], decision: ApprovalDecision, by approver: String,
        reason: String, via: String
    ) throws -> ApprovalRecorded {
        if let refusal = ApprovalRules.refusal(run: run, gate: gate, steps: steps)
            ?? ApprovalRules.notAnApprover(approver, run: run, gate: gate)
        {
            throw refusal
        }
        if let signers = ApprovalRules.gatePlans(of: run)?[gate]?.allowedSigners {
            throw ApprovalRefusal.signatureRequired(run, gate: gate, allowedSigners: signers)
        }
        let approval = ApprovalRecord(
            runID: run.id, gate: gate, by: approver, reason: reason, planHash: run.planHash, at: Date(),
            decision: decision)
        return try record(approval, run: run, steps: steps, via: via)
    }

    /// Records a signed approval (`runbook approve --sign`, `--file`) at a gate of `run`, after
    /// checking it as the run will: its signature against the gate's allowed signers, and that it
    /// is for this run, gate and plan, not the launcher's, not a key already counted. The run
    /// verifies it again before it counts it. Throws ``ApprovalRefusal``, or the journal's error.
    public func approve(
        _ run: RunRecord, gate: String, steps: [StepRecord], signed: SignedApproval, via: String,
        signatures: SSHSignatures = SSHSignatures()
    ) async throws -> ApprovalRecorded {
        if let refusal = ApprovalRules.refusal(run: run, gate: gate, steps: steps) { throw refusal }
        let statement: ApprovalStatement
        do { statement = try signed.statement() } catch { throw ApprovalRefusal.unreadableStatement(error.message) }
        let plan = ApprovalRules.gatePlans(of: run)?[gate]
        var principal: String?
        var fingerprint: String?
        if let plan, let signers = plan.allowedSigners {
            let verification = await signatures.verify(signed, allowedSigners: signers)
            let rules = SignedApprovalRules.Gate(
                runID: run.id, gate: gate, planHash: run.planHash, quorum: plan.quorum ?? 1, approvers: plan.approvers,
                notByLauncher: plan.notByLauncher, launcher: launcher(of: run.id))
            let candidate = SignedApprovalRules.Candidate(
                by: "the signer", statement: statement, verification: verification)
            if let refusal = SignedApprovalRules.refusal(candidate, at: rules) {
                throw ApprovalRefusal.signedRefused(run, gate: gate, refusal)
            }
            if case .verified(let p, let key) = verification {
                principal = p
                fingerprint = key
                let earlier = (try? journal.approvals(runID: run.id)) ?? []
                if earlier.contains(where: { $0.gate == gate && $0.fingerprint == key && $0.decision == .approved }),
                    statement.decision == .approve
                {
                    throw ApprovalRefusal.signedRefused(run, gate: gate, .duplicated(principal: p, fingerprint: key))
                }
            }
        } else {
            throw ApprovalRefusal.noAllowedSigners(run, gate: gate)
        }
        var approval = ApprovalRecord(
            runID: run.id, gate: gate, by: principal ?? "unknown signer", reason: statement.reason,
            planHash: statement.planHash, at: Date(), decision: statement.decision == .approve ? .approved : .rejected)
        approval.statement = signed.statementText
        approval.signature = signed.signature
        approval.principal = principal
        approval.fingerprint = fingerprint
        return try record(approval, run: run, steps: steps, via: via)
    }

    /// Journals `approval` with its `approval` event, checked again inside the write (the run may
    /// have moved on).
    func record(_ approval: ApprovalRecord, run: RunRecord, steps: [StepRecord], via: String) throws
        -> ApprovalRecorded
    {
        let gate = approval.gate
        var recorded: (ApprovalRecord, RunRecord, StepState)?
        let commit = try journal.commit(runID: run.id, nodeID: gate) { current, currentStep in
            guard let current else { throw ApprovalRefusal.runDisappeared(runID: run.id) }
            let currentSteps = steps.compactMap { $0.nodeID == gate ? currentStep : $0 }
            if let refusal = ApprovalRules.refusal(run: current, gate: gate, steps: currentSteps) { throw refusal }
            let (approver, reason, decision) = (approval.by, approval.reason, approval.decision)
            var batch = JournalBatch(runID: current.id)
            batch.approvals = [approval]
            batch.events = [
                .approval(
                    .init(
                        step: gate, decision: decision, by: approver, reason: reason, planHash: current.planHash,
                        via: via))
            ]
            recorded = (approval, current, currentStep?.state ?? .pending)
            return batch
        }
        guard let (approval, current, gateState) = recorded, let event = commit.events.first else {
            throw ApprovalRefusal.runDisappeared(runID: run.id)
        }
        return ApprovalRecorded(approval: approval, event: event, run: current, gateState: gateState)
    }
}
