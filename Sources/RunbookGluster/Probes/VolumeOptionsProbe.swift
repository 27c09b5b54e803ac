import Foundation
import RunbookCore

/// `gluster.volume.options`: the options of a volume, as a map.
public struct VolumeOptionsProbe: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.volume.options", kind: .probe,
        summary:
            "Read a volume's options: those set explicitly (volume info), or with `all: true` every effective value (volume get VOL all, defaults included).",
        parameters: [
            ParameterSpec("volume", .string, required: true, "the volume"),
            ParameterSpec(
                "all", .bool, "every option with its effective value (`volume get VOL all`), not only the ones set"),
        ],
        outputs: [OutputSpec("options", "map", "option name -> value"), OutputSpec("count", "int", "how many")],
        changes: false, undo: .none)

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        let command = arguments.bool("all") == true ? cli.volumeGet(volume, "all") : cli.volumeInfo(volume)
        return [PlannedCommand(.probe, on: host.name, command)]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { ArgumentChecks.volume(arguments) }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let name = try context.required("volume")
        let client = GlusterClient(context)
        let options: [GlusterOption]
        if context.flag("all") {
            let (output, _) = try await client.run(client.cli.volumeGet(name, "all"))
            options = try GlusterParse.volumeGet(output)
        } else {
            options = try await client.volume(name).options
        }
        let map = Dictionary(options.map { ($0.name, Value.string($0.value)) }, uniquingKeysWith: { _, last in last })
        let summary =
            "\(name): \(map.count) option\(map.count == 1 ? "" : "s")\(context.flag("all") ? "" : " set") "
            + options.prefix(4).map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
            + (options.count > 4 ? ", ..." : "")
        return Observation(done: true, summary: summary, outputs: ["options": .map(map), "count": .int(map.count)])
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}
