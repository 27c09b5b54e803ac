import Foundation
import RunbookCore
import RunbookExecution

/// `gluster.volume.health`: how many bricks of a volume are online, naming the offline ones.
///
/// Merges `volume info` (every brick) with `volume status` (rows only for bricks on reachable
/// peers): a brick with no row counts as offline, as does a row with `<status>0</status>`.
public struct VolumeHealthProbe: ActionType, ExecutableAction {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.volume.health", kind: .probe,
        summary: "Count the online bricks of a volume (volume info merged with volume status: bricks on unreachable peers count as offline) and name the offline ones.",
        parameters: [ParameterSpec("volume", .string, required: true, "the volume")],
        outputs: [
            OutputSpec("status", "string", "Started, Stopped or Created"),
            OutputSpec("bricks_total", "int", "bricks in volume info"),
            OutputSpec("bricks_online", "int", "bricks online in volume status"),
            OutputSpec("offline_bricks", "int", "bricks not online (no row, or Online N)"),
            OutputSpec("offline", "list", "the offline bricks as host:path"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.offline_bricks == 0")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        return [PlannedCommand(.probe, on: host.name, cli.volumeInfo(volume)), PlannedCommand(.probe, on: host.name, cli.volumeStatus(volume))]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { ArgumentChecks.volume(arguments) }

    /// The merge's result.
    struct Health {
        var total: Int
        var online: [String]
        var offline: [String]
        var reasons: [String: String]
    }

    /// Merges a volume's bricks with its `volume status` rows (not run when the volume is not started).
    static func health(of volume: GlusterVolume, client: GlusterClient) async throws -> Health {
        guard volume.isStarted else {
            let names = volume.bricks.map(\.name)
            return Health(total: names.count, online: [], offline: names, reasons: Dictionary(names.map { ($0, "volume is \(volume.status)") }, uniquingKeysWith: { a, _ in a }))
        }
        let (output, _) = try await client.run(client.cli.volumeStatus(volume.name))
        let rows = try GlusterParse.volumeStatus(output).first { $0.name == volume.name }?.bricks ?? []
        return merge(volume, rows)
    }

    /// Pure merge of `volume info` bricks and `volume status` brick rows.
    static func merge(_ volume: GlusterVolume, _ rows: [GlusterBrickStatus]) -> Health {
        var health = Health(total: volume.bricks.count, online: [], offline: [], reasons: [:])
        for brick in volume.bricks {
            let row = rows.first { row in
                guard row.path == brick.path else { return false }
                if let peer = row.peerID, let uuid = brick.hostUUID, !peer.isEmpty, !uuid.isEmpty { return peer == uuid }
                return row.host == brick.host
            }
            if let row, row.online {
                health.online.append(brick.name)
            } else {
                health.offline.append(brick.name)
                health.reasons[brick.name] = row == nil ? "no row in volume status: its peer is unreachable or glusterd is down there" : "brick process is down (Online N)"
            }
        }
        return health
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let name = try context.required("volume")
        let client = GlusterClient(context)
        let volume = try await client.volume(name)
        let health = try await Self.health(of: volume, client: client)
        let outputs: [String: Value] = [
            "status": .string(volume.status), "bricks_total": .int(health.total), "bricks_online": .int(health.online.count),
            "offline_bricks": .int(health.offline.count), "offline": .list(health.offline.map(Value.string)),
        ]
        let summary: String
        if health.offline.isEmpty {
            summary = "\(name): all \(health.total) bricks online"
        } else {
            let named = health.offline.map { "\($0) (\(health.reasons[$0] ?? "offline"))" }.joined(separator: ", ")
            summary = "\(name): \(health.online.count)/\(health.total) bricks online; offline: \(named)"
        }
        return Observation(done: true, summary: summary, outputs: outputs)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}

/// `gluster.volume.options`: the options of a volume, as a map.
public struct VolumeOptionsProbe: ActionType, ExecutableAction {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.volume.options", kind: .probe,
        summary: "Read a volume's options: those set explicitly (volume info), or with `all: true` every effective value (volume get VOL all, defaults included).",
        parameters: [ParameterSpec("volume", .string, required: true, "the volume"),
                     ParameterSpec("all", .bool, "every option with its effective value (`volume get VOL all`), not only the ones set")],
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
        let summary = "\(name): \(map.count) option\(map.count == 1 ? "" : "s")\(context.flag("all") ? "" : " set") "
            + options.prefix(4).map { "\($0.name)=\($0.value)" }.joined(separator: ", ") + (options.count > 4 ? ", ..." : "")
        return Observation(done: true, summary: summary, outputs: ["options": .map(map), "count": .int(map.count)])
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}

/// `gluster.volume.empty`: whether the volume's bricks on this host hold any file (for choosing rsync vs gsync).
///
/// The local bricks are those whose `hostUuid` in `volume info` is this node's UUID, which is the
/// `localhost` entry of `pool list`. Each is searched with
/// `find BRICK -mindepth 1 ( -path BRICK/.glusterfs -o -path BRICK/.trashcan ) -prune -o -print -quit`.
public struct VolumeEmptyProbe: ActionType, ExecutableAction {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.volume.empty", kind: .probe,
        summary: "Whether the volume's bricks on this host hold any file or directory (ignoring .glusterfs and .trashcan): an empty primary needs the rsync initial sync.",
        parameters: [ParameterSpec("volume", .string, required: true, "the volume")],
        outputs: [
            OutputSpec("empty", "bool", "no entry in any local brick"),
            OutputSpec("sample", "string", "the first entry found (null when empty)"),
            OutputSpec("bricks", "list", "the local bricks searched"),
        ],
        changes: false, undo: .none)

    static func find(_ brick: String) -> CommandSpec {
        CommandSpec(argv: ["find", brick, "-mindepth", "1", "(", "-path", brick + "/.glusterfs", "-o", "-path", brick + "/.trashcan", ")",
                           "-prune", "-o", "-print", "-quit"])
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        return [PlannedCommand(.probe, on: host.name, cli.volumeInfo(volume)), PlannedCommand(.probe, on: host.name, cli.poolList),
                PlannedCommand(.probe, on: host.name, Self.find("<each local brick of \(volume)>"))]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { ArgumentChecks.volume(arguments) }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let name = try context.required("volume")
        let client = GlusterClient(context)
        let volume = try await client.volume(name)
        let (poolOutput, _) = try await client.run(client.cli.poolList)
        let peers = try GlusterParse.peers(poolOutput)
        guard let local = peers.first(where: { $0.hostname == "localhost" }) else {
            throw GlusterError(.unexpected, poolOutput, "pool list has no localhost entry: cannot tell which bricks of \(name) are on \(context.host)")
        }
        let bricks = volume.bricks.filter { $0.hostUUID == local.uuid }
        guard !bricks.isEmpty else {
            throw GlusterError(.unexpected, poolOutput, "no brick of \(name) is on \(context.host) (node \(local.uuid)); its bricks: \(volume.bricks.map(\.name).joined(separator: ", "))")
        }
        var last: CommandResult?
        for brick in bricks {
            let command = Self.find(brick.path)
            let result = try await context.run(command)
            last = result
            guard result.succeeded else {
                throw GlusterError(.commandFailed, GlusterOutput(command: command, host: context.host, result: result), "could not search brick \(brick.path)")
            }
            if let first = result.stdout.split(separator: "\n").first.map(String.init), !first.isEmpty {
                return Observation(done: true, summary: "\(name) is not empty on \(context.host): \(first)",
                                   outputs: ["empty": .bool(false), "sample": .string(first), "bricks": .list(bricks.map { .string($0.name) })], result: result)
            }
        }
        return Observation(done: true, summary: "\(name) is empty on \(context.host) (\(bricks.count) brick\(bricks.count == 1 ? "" : "s") searched)",
                           outputs: ["empty": .bool(true), "sample": .null, "bricks": .list(bricks.map { .string($0.name) })], result: last)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}

/// `gluster.peers`: the cluster's peers and whether glusterd is connected to them.
public struct PeersProbe: ActionType, ExecutableAction {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.peers", kind: .probe,
        summary: "List the peers of this node's cluster (`peer status`) and whether each is connected.",
        parameters: [],
        outputs: [
            OutputSpec("peers", "list", "maps {host, connected, uuid, state}"),
            OutputSpec("connected", "int", "connected peers"),
            OutputSpec("disconnected", "int", "disconnected peers"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.disconnected == 0")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        [PlannedCommand(.probe, on: host.name, GlusterCLI(host: host).peerStatus)]
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let client = GlusterClient(context)
        let (output, result) = try await client.run(client.cli.peerStatus)
        let peers = try GlusterParse.peers(output)
        let list: [Value] = peers.map {
            .map(["host": .string($0.hostname), "connected": .bool($0.connected), "uuid": .string($0.uuid), "state": $0.state.map(Value.string) ?? .null])
        }
        let down = peers.filter { !$0.connected }
        let summary = peers.isEmpty ? "no peers (a single-node cluster)"
            : "\(peers.count - down.count)/\(peers.count) peers connected" + (down.isEmpty ? "" : "; disconnected: " + down.map(\.hostname).joined(separator: ", "))
        return Observation(done: true, summary: summary,
                           outputs: ["peers": .list(list), "connected": .int(peers.count - down.count), "disconnected": .int(down.count)], result: result)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}

extension VolumeHealthProbe {
    /// The merge of `volume info` bricks with `volume status` rows (exposed for tests): online and
    /// offline bricks as `host:path`, with why each offline one is.
    public static func mergeForTesting(_ volume: GlusterVolume, _ rows: [GlusterBrickStatus]) -> (online: [String], offline: [String], reasons: [String: String]) {
        let health = merge(volume, rows)
        return (health.online, health.offline, health.reasons)
    }
}
