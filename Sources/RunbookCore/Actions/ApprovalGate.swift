/// `approval`: a person says go (terminal, `--approve`, or `runbook approve`).
///
/// The executor carries out the wait (`gate: .approval`): it needs the journal and the terminal.
public struct ApprovalGate: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: Gate.Kind.Name.approval.rawValue, kind: .gate,
        summary:
            "Wait for a person: an answer at the terminal, `--approve GATE`, or `runbook approve RUN GATE`. Unattended, the run parks (exit 4) instead of hanging.",
        parameters: [
            ParameterSpec("prompt", .string, "the question shown to the approver"),
            ParameterSpec("approvers", .stringList, "names allowed to approve (any when empty)"),
            ParameterSpec("timeout", .duration, "how long to wait, counted from when the gate was first reached"),
            ParameterSpec("on_timeout", .string, "abort | rollback | proceed (default abort)"),
        ],
        outputs: [
            OutputSpec("approved_by", "string", "who approved"),
            OutputSpec("reason", "string", "the reason they gave"),
            OutputSpec("at", "timestamp", "when"),
        ],
        changes: false, undo: .none, gate: .approval)

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] { [] }
}
