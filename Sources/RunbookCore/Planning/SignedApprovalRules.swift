/// The rules that decide which signed approvals count at a gate that requires signatures, and
/// whether its quorum is reached: pure, over approvals whose signatures have already been
/// checked (the run checks them with `ssh-keygen -Y verify`; `runbook approve` does too).
public enum SignedApprovalRules {
    /// What checking one approval's signature against the allowed signers found.
    public enum Verification: Sendable, Hashable {
        /// The signature verifies for `principal` (a line of the allowed-signers file), made by the
        /// key with `fingerprint` (`SHA256:...`, as `ssh-keygen -l` prints it).
        case verified(principal: String, fingerprint: String)
        /// The approval carries no signature.
        case unsigned
        /// The signature does not verify (another key, an altered statement): `detail` says how.
        case badSignature(String)
    }

    /// One approval handed in at the gate, oldest first.
    public struct Candidate: Sendable, Hashable {
        /// Who the approval says decided (`--by`, or the signer's principal).
        public var by: String
        /// The signed statement (nil when unsigned or unreadable).
        public var statement: ApprovalStatement?
        public var verification: Verification

        public init(by: String, statement: ApprovalStatement?, verification: Verification) {
            self.by = by
            self.statement = statement
            self.verification = verification
        }
    }

    /// Why an approval does not count. Each names the case the issue lists.
    public enum Refusal: Sendable, Hashable {
        case unsigned(by: String)
        case wronglySigned(detail: String)
        /// Signed for another run, gate or plan: `field` (run, gate, plan), what it says, what this is.
        case replayed(field: String, signed: String, expected: String)
        /// The same key already counts toward the quorum.
        case duplicated(principal: String, fingerprint: String)
        /// `not_by_launcher`: the signer launched the run.
        case launcher(principal: String, launcher: String)
        /// The gate lists approvers and the signer's principal is not among them.
        case notAnApprover(principal: String, approvers: [String])

        /// The case's name, as the `approval.refused` event carries it.
        public var kind: String {
            switch self {
            case .unsigned: return "unsigned"
            case .wronglySigned: return "wrongly_signed"
            case .replayed: return "replayed"
            case .duplicated: return "duplicated"
            case .launcher: return "launcher"
            case .notAnApprover: return "not_an_approver"
            }
        }

        /// Why, and what to do next.
        public var message: String {
            switch self {
            case .unsigned(let by):
                return
                    "unsigned: the approval by \(by) carries no signature and this gate requires signed approvals; sign it with `runbook approve RUN GATE --sign KEY`"
            case .wronglySigned(let detail):
                return
                    "wrongly signed: \(detail); sign the statement as made, with a key listed in the gate's allowed_signers"
            case .replayed(let field, let signed, let expected):
                return
                    "replayed: signed for \(field) \(signed), not this \(field) (\(expected)); sign a new approval for this run and gate"
            case .duplicated(let principal, let fingerprint):
                return
                    "duplicated: the key \(fingerprint) (\(principal)) already counts toward the quorum; another allowed key must approve"
            case .launcher(let principal, let launcher):
                return
                    "launcher's: \(principal) launched the run (as \(launcher)) and the gate says not_by_launcher; someone else must approve"
            case .notAnApprover(let principal, let approvers):
                return
                    "not an approver: \(principal) is not among the gate's approvers (\(approvers.joined(separator: ", ")))"
            }
        }
    }

    /// What a gate requires and what it is: the run, the gate, the plan the approvals must name.
    public struct Gate: Sendable, Hashable {
        public var runID: String
        public var gate: String
        public var planHash: String
        public var quorum: Int
        public var approvers: [String]
        public var notByLauncher: Bool
        /// Who launched the run (`launched_by` of its `run.started`); nil when not known.
        public var launcher: String?

        public init(
            runID: String, gate: String, planHash: String, quorum: Int, approvers: [String], notByLauncher: Bool,
            launcher: String?
        ) {
            self.runID = runID
            self.gate = gate
            self.planHash = planHash
            self.quorum = max(1, quorum)
            self.approvers = approvers
            self.notByLauncher = notByLauncher
            self.launcher = launcher
        }
    }

    /// A counted approval: who signed, with which key.
    public struct Signer: Sendable, Hashable {
        public var principal: String
        public var fingerprint: String
        public var statement: ApprovalStatement
    }

    /// Where the gate stands.
    public enum Outcome: Sendable, Hashable {
        /// The quorum is reached by these distinct keys.
        case approved([Signer])
        /// A valid signer rejected.
        case rejected(Signer)
        /// `have` of `need` distinct keys so far.
        case waiting(have: Int, need: Int)
    }

    /// The result of tallying: the outcome, and each candidate's refusal (nil when it counted),
    /// in the candidates' order.
    public struct Tally: Sendable, Hashable {
        public var outcome: Outcome
        public var refusals: [Refusal?]
    }

    /// Whether `principal` is `launcher`: the same name, or the name before `@` of a principal
    /// written as an address (`alice@example.org` launched as `alice`).
    public static func isLauncher(_ principal: String, _ launcher: String?) -> Bool {
        guard let launcher, !launcher.isEmpty else { return false }
        if principal == launcher { return true }
        if let at = principal.firstIndex(of: "@") { return principal[..<at] == launcher }
        return false
    }

    /// Why one candidate does not count, before duplicates are considered; nil when it may.
    public static func refusal(_ candidate: Candidate, at gate: Gate) -> Refusal? {
        let principal: String
        switch candidate.verification {
        case .unsigned: return .unsigned(by: candidate.by)
        case .badSignature(let detail): return .wronglySigned(detail: detail)
        case .verified(let p, _): principal = p
        }
        guard let statement = candidate.statement else {
            return .wronglySigned(detail: "its statement cannot be read")
        }
        if statement.runID != gate.runID {
            return .replayed(field: "run", signed: statement.runID, expected: gate.runID)
        }
        if statement.gate != gate.gate { return .replayed(field: "gate", signed: statement.gate, expected: gate.gate) }
        if statement.planHash != gate.planHash {
            return .replayed(field: "plan", signed: statement.planHash, expected: gate.planHash)
        }
        if gate.notByLauncher, isLauncher(principal, gate.launcher) {
            return .launcher(principal: principal, launcher: gate.launcher ?? "")
        }
        if !gate.approvers.isEmpty, !gate.approvers.contains(principal) {
            return .notAnApprover(principal: principal, approvers: gate.approvers)
        }
        return nil
    }

    /// Tallies the approvals handed in at `gate`, oldest first: a valid rejection decides at once;
    /// otherwise the gate is approved once `quorum` distinct keys have approved. A key that
    /// already counts is refused as duplicated.
    public static func tally(_ candidates: [Candidate], at gate: Gate) -> Tally {
        var refusals: [Refusal?] = []
        var counted: [Signer] = []
        var outcome: Outcome?
        for candidate in candidates {
            if let refusal = refusal(candidate, at: gate) {
                refusals.append(refusal)
                continue
            }
            guard case .verified(let principal, let fingerprint) = candidate.verification,
                let statement = candidate.statement
            else { continue }
            let signer = Signer(principal: principal, fingerprint: fingerprint, statement: statement)
            if counted.contains(where: { $0.fingerprint == fingerprint }) {
                refusals.append(.duplicated(principal: principal, fingerprint: fingerprint))
                continue
            }
            refusals.append(nil)
            guard outcome == nil else { continue }
            if statement.decision == .reject {
                outcome = .rejected(signer)
                continue
            }
            counted.append(signer)
            if counted.count >= gate.quorum { outcome = .approved(counted) }
        }
        return Tally(outcome: outcome ?? .waiting(have: counted.count, need: gate.quorum), refusals: refusals)
    }
}
