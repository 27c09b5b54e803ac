/// Who may answer an approval gate: the one rule `runbook approve` (before it records a decision)
/// and the run (an `--approve`, a decision found in the journal) both apply.
public enum GateApprovers {
    /// Whether `who` may answer a gate whose plan names `approvers` (anyone when it names none).
    public static func allows(_ approvers: [String], _ who: String) -> Bool {
        approvers.isEmpty || approvers.contains(who)
    }
}

extension GatePlan {
    /// Whether `who` may answer this gate (``GateApprovers/allows(_:_:)``).
    public func allows(_ who: String) -> Bool { GateApprovers.allows(approvers, who) }
}
