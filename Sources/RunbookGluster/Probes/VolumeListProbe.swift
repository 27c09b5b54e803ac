import RunbookCore

/// `gluster.volume.list`: the names of the volumes the cluster knows (`volume list --xml`).
public struct VolumeListProbe: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.volume.list", kind: .probe,
        summary:
            "List the cluster's volumes (`volume list --xml`), for example to check that a volume exists before a step uses it.",
        parameters: [],
        outputs: [
            OutputSpec("volumes", "list", "the volume names, in the CLI's order"),
            OutputSpec("count", "int", "how many there are"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.count >= 0")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        [PlannedCommand(.probe, on: host.name, GlusterCLI(host: host).xml(["volume", "list"]))]
    }

    /// The names in a `volume list --xml` answer (`<volList><volume>NAME</volume>...`).
    public static func names(_ output: GlusterOutput) throws -> [String] {
        let envelope = try GlusterEnvelope.checked(output)
        guard let list = envelope.root.path("volList") else {
            throw GlusterError(.unparseable, output, "no <volList> in the answer")
        }
        return list.children("volume").map(\.text).filter { !$0.isEmpty }
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        guard let command = context.planned(.probe).first else { return Observation(done: true, summary: "no command") }
        let (output, result) = try await GlusterClient(context).run(command.command)
        let names = try Self.names(output)
        let summary =
            names.isEmpty
            ? "no volumes on \(context.host)" : "\(names.count) volume(s): \(names.joined(separator: ", "))"
        return Observation(
            done: true, summary: summary,
            outputs: ["volumes": .list(names.map(Value.string)), "count": .int(names.count)],
            result: result)
    }
}
