/// `until`: poll a probe until a condition holds.
///
/// The executor carries out the wait (`gate: .poll`), calling the named probe type's `probe`.
public struct UntilGate: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: Gate.Kind.Name.until.rawValue, kind: .gate,
        summary: "Poll a probe every `every` until `condition` holds, printing each observation.",
        parameters: [
            ParameterSpec("probe", .string, required: true, "the probe type to poll"),
            ParameterSpec("with", .stringMap, "the probe's parameters"),
            ParameterSpec("on", .string, "where the probe runs (default: the step's target)"),
            ParameterSpec("condition", .string, required: true, "expression over `outputs` that ends the wait"),
            ParameterSpec("every", .duration, "poll interval (default 30s)"),
            ParameterSpec(
                "timeout", .duration, "give up after this long, counted from when the gate was first reached"),
            ParameterSpec("on_timeout", .string, "abort | rollback | proceed (default abort)"),
        ],
        outputs: [OutputSpec("*", "any", "the last observation of the probe")],
        changes: false, undo: .none, gate: .poll)

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] { [] }
}
