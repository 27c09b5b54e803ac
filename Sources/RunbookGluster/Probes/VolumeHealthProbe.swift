import Foundation
import RunbookCore

/// `gluster.volume.health`: how many bricks of a volume are online, naming the offline ones.
///
/// Merges `volume info` (every brick) with `volume status` (rows only for bricks on reachable
/// peers): a brick with no row counts as offline, as does a row with `<status>0</status>`.
public struct VolumeHealthProbe: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.volume.health", kind: .probe,
        summary:
            "Count the online bricks of a volume (volume info merged with volume status: bricks on unreachable peers count as offline) and name the offline ones.",
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
        return [
            PlannedCommand(.probe, on: host.name, cli.volumeInfo(volume)),
            PlannedCommand(.probe, on: host.name, cli.volumeStatus(volume)),
        ]
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
            return Health(
                total: names.count, online: [], offline: names,
                reasons: Dictionary(names.map { ($0, "volume is \(volume.status)") }, uniquingKeysWith: { a, _ in a }))
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
                if let peer = row.peerID, let uuid = brick.hostUUID, !peer.isEmpty, !uuid.isEmpty {
                    return peer == uuid
                }
                return row.host == brick.host
            }
            if let row, row.online {
                health.online.append(brick.name)
            } else {
                health.offline.append(brick.name)
                health.reasons[brick.name] =
                    row == nil
                    ? "no row in volume status: its peer is unreachable or glusterd is down there"
                    : "brick process is down (Online N)"
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
            "status": .string(volume.status), "bricks_total": .int(health.total),
            "bricks_online": .int(health.online.count),
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

extension VolumeHealthProbe {
    /// The merge of `volume info` bricks with `volume status` rows (exposed for tests): online and
    /// offline bricks as `host:path`, with why each offline one is.
    public static func mergeForTesting(_ volume: GlusterVolume, _ rows: [GlusterBrickStatus]) -> (
        online: [String], offline: [String], reasons: [String: String]
    ) {
        let health = merge(volume, rows)
        return (health.online, health.offline, health.reasons)
    }
}
