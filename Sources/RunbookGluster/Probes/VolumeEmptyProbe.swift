import Foundation
import RunbookCore

/// `gluster.volume.empty`: whether the volume's bricks on this host hold any file (for choosing rsync vs gsync).
///
/// The local bricks are those whose `hostUuid` in `volume info` is this node's UUID, which is the
/// `localhost` entry of `pool list`. Each is searched with
/// `find BRICK -mindepth 1 ( -path BRICK/.glusterfs -o -path BRICK/.trashcan ) -prune -o -print -quit`.
public struct VolumeEmptyProbe: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.volume.empty", kind: .probe,
        summary:
            "Whether the volume's bricks on this host hold any file or directory (ignoring .glusterfs and .trashcan): an empty primary needs the rsync initial sync.",
        parameters: [ParameterSpec("volume", .string, required: true, "the volume")],
        outputs: [
            OutputSpec("empty", "bool", "no entry in any local brick"),
            OutputSpec("sample", "string", "the first entry found (null when empty)"),
            OutputSpec("bricks", "list", "the local bricks searched"),
        ],
        changes: false, undo: .none)

    static func find(_ brick: String) -> CommandSpec {
        CommandSpec(argv: [
            "find", brick, "-mindepth", "1", "(", "-path", brick + "/.glusterfs", "-o", "-path", brick + "/.trashcan",
            ")",
            "-prune", "-o", "-print", "-quit",
        ])
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        return [
            PlannedCommand(.probe, on: host.name, cli.volumeInfo(volume)),
            PlannedCommand(.probe, on: host.name, cli.poolList),
            PlannedCommand(.probe, on: host.name, Self.find(CommandSpec.placeholder(Self.brickPlaceholder(volume)))),
        ]
    }

    /// The brick paths are found at run time: the plan shows this name in their place.
    static func brickPlaceholder(_ volume: String) -> String { "each local brick of \(volume)" }

    public func check(_ arguments: ResolvedArguments) -> [String] { ArgumentChecks.volume(arguments) }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let name = try context.required("volume")
        let client = GlusterClient(context)
        let volume = try await client.volume(name)
        let (poolOutput, _) = try await client.run(client.cli.poolList)
        let peers = try GlusterParse.peers(poolOutput)
        guard let local = peers.first(where: { $0.hostname == "localhost" }) else {
            throw GlusterError(
                .unexpected, poolOutput,
                "pool list has no localhost entry: cannot tell which bricks of \(name) are on \(context.host)")
        }
        let bricks = volume.bricks.filter { $0.hostUUID == local.uuid }
        guard !bricks.isEmpty else {
            throw GlusterError(
                .unexpected, poolOutput,
                "no brick of \(name) is on \(context.host) (node \(local.uuid)); its bricks: \(volume.bricks.map(\.name).joined(separator: ", "))"
            )
        }
        var last: CommandResult?
        guard let search = context.planned(.probe).last else {
            throw GlusterArgumentError(message: "step \(context.node.id): no brick search was planned")
        }
        for brick in bricks {
            let command = Self.find(brick.path)
            let result = try await context.run(search, filling: [Self.brickPlaceholder(name): brick.path])
            last = result
            guard result.succeeded else {
                throw GlusterError(
                    .commandFailed, GlusterOutput(command: command, host: context.host, result: result),
                    "could not search brick \(brick.path)")
            }
            if let first = result.stdout.split(separator: "\n").first.map(String.init), !first.isEmpty {
                return Observation(
                    done: true, summary: "\(name) is not empty on \(context.host): \(first)",
                    outputs: [
                        "empty": .bool(false), "sample": .string(first),
                        "bricks": .list(bricks.map { .string($0.name) }),
                    ], result: result)
            }
        }
        return Observation(
            done: true,
            summary:
                "\(name) is empty on \(context.host) (\(bricks.count) brick\(bricks.count == 1 ? "" : "s") searched)",
            outputs: ["empty": .bool(true), "sample": .null, "bricks": .list(bricks.map { .string($0.name) })],
            result: last)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}
