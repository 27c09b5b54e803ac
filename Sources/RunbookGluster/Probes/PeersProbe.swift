import Foundation
import RunbookCore

/// `gluster.peers`: the cluster's peers and whether glusterd is connected to them.
///
/// A peer in state `Peer Rejected` is not counted as connected even when glusterd is connected to
/// it (`<connected>1</connected>`, as in vdsm's captured output): its configuration was refused and
/// it is not a healthy member. It is counted in `rejected`, and the default expectation fails on it.
public struct PeersProbe: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.peers", kind: .probe,
        summary: "List the peers of this node's cluster (`peer status`) and whether each is connected.",
        parameters: [],
        outputs: [
            OutputSpec("peers", "list", "maps {host, connected, rejected, uuid, state}"),
            OutputSpec("connected", "int", "connected peers that are members (not Peer Rejected)"),
            OutputSpec("disconnected", "int", "disconnected peers"),
            OutputSpec("rejected", "int", "peers in state Peer Rejected (connected or not)"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.disconnected == 0 && outputs.rejected == 0")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        [PlannedCommand(.probe, on: host.name, GlusterCLI(host: host).peerStatus)]
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let client = GlusterClient(context)
        let (output, result) = try await client.run(client.cli.peerStatus)
        let peers = try GlusterParse.peers(output)
        let list: [Value] = peers.map {
            .map([
                "host": .string($0.hostname), "connected": .bool($0.connected), "rejected": .bool($0.rejected),
                "uuid": .string($0.uuid), "state": $0.state.map(Value.string) ?? .null,
            ])
        }
        let down = peers.filter { !$0.connected }
        let rejected = peers.filter(\.rejected)
        var summary =
            peers.isEmpty
            ? "no peers (a single-node cluster)"
            : "\(peers.filter(\.healthy).count)/\(peers.count) peers connected"
        if !down.isEmpty { summary += "; disconnected: " + down.map(\.hostname).joined(separator: ", ") }
        if !rejected.isEmpty {
            summary +=
                "; rejected (not a member, though glusterd may reach it): "
                + rejected.map { "\($0.hostname) (\($0.state ?? ""))" }.joined(separator: ", ")
                + ": see `gluster peer status` and glusterd's log on that node"
        }
        return Observation(
            done: true, summary: summary,
            outputs: [
                "peers": .list(list), "connected": .int(peers.filter(\.healthy).count),
                "disconnected": .int(down.count),
                "rejected": .int(rejected.count),
            ], result: result)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}
