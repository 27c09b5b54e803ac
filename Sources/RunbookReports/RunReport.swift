import Foundation
import RunbookCore
import RunbookExecution

// One run as the journal holds it, loaded for `status`, `show` and `approve`; the renderers are in
// RunReport+Text, RunReport+JSON and RunReport+JUnit.

/// Everything the journal holds about one run.
public struct RunReport {
    public var run: RunRecord
    public var steps: [StepRecord]
    public var attempts: [AttemptRecord]
    public var approvals: [ApprovalRecord]
    public var events: [EventRecord]
    public var chain: ChainVerification
    /// When the report was made (for the elapsed time of unfinished things).
    public var now: Date

    public static func load(_ run: RunRecord, from journal: any RunJournal, now: Date = Date()) throws -> RunReport {
        RunReport(
            run: run,
            steps: try journal.steps(runID: run.id),
            attempts: try journal.attempts(runID: run.id),
            approvals: try journal.approvals(runID: run.id),
            events: try journal.events(runID: run.id),
            chain: try journal.verifyChain(runID: run.id),
            now: now)
    }

    /// Where the run's work ends for the time of unfinished steps: when it finished, now while it
    /// runs, or its last update when it stopped without finishing (parked, interrupted).
    public var endOfWork: Date {
        if let finished = run.finishedAt { return finished }
        return run.status == .running ? now : max(run.updatedAt, run.startedAt)
    }

    // MARK: Plan facts

    /// What the stored plan says about one gate.
    public struct PlanGate {
        public var type: Gate.Kind.Name
        public var prompt: String?
        /// Who may answer it; empty when anyone may (or the plan does not say).
        public var approvers: [String]
        /// The allowed-signers file when only signed approvals count.
        public var allowedSigners: String? = nil
        /// How many distinct keys must sign (signed gates).
        public var quorum: Int? = nil
    }

    /// The plan journaled with the run (`PlanDocument`), or nil when it holds none that can be read.
    public static func plan(_ run: RunRecord) -> PlanDocument? {
        try? PlanDocument.decode(run.planJSON)
    }

    /// The gate steps of the run's plan, by node id; nil when the journal holds no readable plan.
    public static func planGates(_ run: RunRecord) -> [String: PlanGate]? {
        guard let plan = plan(run) else { return nil }
        var gates: [String: PlanGate] = [:]
        for node in plan.steps where node.kind == .gate {
            gates[node.id] = PlanGate(
                type: node.gate?.type ?? .approval, prompt: node.gate?.prompt, approvers: node.gate?.approvers ?? [],
                allowedSigners: node.gate?.allowedSigners, quorum: node.gate?.quorum)
        }
        return gates
    }

    /// The node ids of the run that are gates: from the plan when it says (`planGates(run)`, read
    /// once by the caller: a large plan takes a while to read), otherwise every step without a host
    /// (gate node ids are plain step ids) plus any step that is waiting.
    public static func gateNodeIDs(planGates: [String: PlanGate]?, steps: [StepRecord]) -> [String] {
        if let gates = planGates {
            return steps.map(\.nodeID).filter { gates[$0] != nil }
        }
        return steps.filter { $0.state == .waiting || ($0.host == nil && $0.nodeID == $0.stepID) }.map(\.nodeID)
    }
}

// MARK: Signed approvals

extension RunReport {
    /// How an approval's signature stands, for every report: unsigned (`--by`: unverified),
    /// signed and verified (principal and key fingerprint), or refused by the run.
    public enum Signature: Sendable, Equatable {
        case unverified
        case verified(principal: String, fingerprint: String)
        /// The run refused it (an `approval.refused` event names it): why.
        case refused(String)
        /// Signed, not yet verified by the run nor when recorded.
        case signedUnchecked

        /// `verified`, `unverified`, `refused` or `signed`.
        public var name: String {
            switch self {
            case .unverified: return "unverified"
            case .verified: return "verified"
            case .refused: return "refused"
            case .signedUnchecked: return "signed"
            }
        }

        /// One line: who signed with which key, or why it does not count.
        public var summary: String {
            switch self {
            case .unverified: return "unsigned (unverified: the name was given with --by)"
            case .verified(let principal, let fingerprint):
                return "signed by \(principal), key \(fingerprint) (verified)"
            case .refused(let why): return "refused by the run: \(why)"
            case .signedUnchecked: return "signed, not verified yet"
            }
        }
    }

    /// The reason the run gave for each approval it refused, by the approval's id.
    public var refusedApprovals: [Int64: String] {
        var refused: [Int64: String] = [:]
        for record in events where record.type == "approval.refused" {
            if case .approvalRefused(let event)? = record.event, let id = event.approval { refused[id] = event.reason }
        }
        return refused
    }

    /// How `approval`'s signature stands (`refused`: ``refusedApprovals``, read once by the caller).
    public static func signature(_ approval: ApprovalRecord, refused: [Int64: String]) -> Signature {
        if let id = approval.id, let why = refused[id] { return .refused(why) }
        guard approval.isSigned else { return .unverified }
        guard let principal = approval.principal, let fingerprint = approval.fingerprint else {
            return .signedUnchecked
        }
        return .verified(principal: principal, fingerprint: fingerprint)
    }
}
