import Foundation
import RunbookCore

/// `gluster.peers`: the cluster's peers and whether glusterd is connected to them.
public struct PeersProbe: ActionType {
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
            .map([
                "host": .string($0.hostname), "connected": .bool($0.connected), "uuid": .string($0.uuid),
                "state": $0.state.map(Value.string) ?? .null,
            ])
        }
        let down = peers.filter { !$0.connected }
        let summary =
            peers.isEmpty
            ? "no peers (a single-node cluster)"
            : "\(peers.count - down.count)/\(peers.count) peers connected"
                + (down.isEmpty ? "" : "; disconnected: " + down.map(\.hostname).joined(separator: ", "))
        return Observation(
            done: true, summary: summary,
            outputs: [
                "peers": .list(list), "connected": .int(peers.count - down.count), "disconnected": .int(down.count),
            ], result: result)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}
