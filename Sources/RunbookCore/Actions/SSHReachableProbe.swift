/// `ssh.reachable`: can the target be reached at all.
public struct SSHReachableProbe: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "ssh.reachable", kind: .probe,
        summary: "Connect to the target (BatchMode, ConnectTimeout from the inventory) and run `true`.",
        parameters: [],
        outputs: [
            OutputSpec("reachable", "bool", "the connection worked"),
            OutputSpec("latency_ms", "int", "round trip of the check"),
            OutputSpec("error", "string", "ssh's message when it did not"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.reachable")

    /// The transport's connection check runs `true` (that is the command the plan shows).
    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        [PlannedCommand(.probe, on: host.name, CommandSpec(argv: ["true"]))]
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let result = await context.checkConnection()
        var outputs: [String: Value] = [
            "reachable": .bool(result.reachable), "error": result.error.map(Value.string) ?? .null,
        ]
        outputs["latency_ms"] = result.latencyMs.map { .int(Int($0.rounded())) } ?? .null
        let summary =
            result.reachable
            ? "reachable (\(Int((result.latencyMs ?? 0).rounded())) ms)"
            : "unreachable: \(result.error ?? "no answer")"
        return Observation(done: true, summary: summary, outputs: outputs)
    }
}
