import Foundation
import RunbookCore

/// `gluster.snapshot.clone`: `snapshot clone CLONE SNAP`, a new volume (status Created) that
/// shares the activated snapshot's thin LVs and inherits its origin's options (on a geo-rep
/// secondary: `features.read-only on`). Start it with `gluster.volume.start` (force).
public struct SnapshotCloneAction: ActionType, ReprobingAction {
    /// Seconds between verify attempts.
    public var verifyDelay: Double

    /// Creates the type.
    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    public var descriptor: ActionDescriptor {
        ActionDescriptor(
            name: "gluster.snapshot.clone", kind: .action,
            summary:
                "Clone an activated snapshot into a new volume (`snapshot clone CLONE SNAP`; the clone is Created, not started, and inherits the origin's options).",
            parameters: [SnapshotParameters.clone, SnapshotParameters.snapshot],
            outputs: [
                OutputSpec("clone", "string", "the clone volume's name"),
                OutputSpec("uuid", "string", "its volume id (null when it existed already)"),
            ],
            changes: true,
            undo: .derived("stop (force) and delete the clone volume, when it still exists"),
            idempotency: "`volume list` has a volume of the clone's name")
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let clone = arguments.string("clone") ?? ""
        let snapshot = arguments.string("snapshot") ?? ""
        return [
            PlannedCommand(.probe, on: host.name, cli.volumeList),
            PlannedCommand(.apply, on: host.name, cli.snapshotClone(clone, snapshot)),
            PlannedCommand(.verify, on: host.name, cli.volumeList),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        SnapshotParameters.check(arguments, ["clone", "snapshot"])
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let clone = try context.required("clone")
        let names = try await GlusterClient(context).volumeNames()
        let exists = names.contains(clone)
        return Observation(
            done: exists, summary: exists ? "volume \(clone) exists" : "no volume \(clone)",
            outputs: ["clone": .string(clone), "uuid": .null])
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let clone = try context.required("clone")
        let snapshot = try context.required("snapshot")
        let client = GlusterClient(context)
        let command = client.cli.snapshotClone(clone, snapshot)
        let result = try await client.change(command)
        let made = try GlusterParse.cloneName(GlusterOutput(command: command, host: context.host, result: result))
        return EffectResult(
            succeeded: true, summary: "cloned snapshot \(snapshot) into volume \(made.name)",
            outputs: ["clone": .string(clone), "uuid": .string(made.uuid)], result: result)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        let clone = try context.required("clone")
        let client = GlusterClient(context)
        guard try await client.volumeNames().contains(clone) else {
            return EffectResult(succeeded: true, summary: "volume \(clone) does not exist: nothing to delete")
        }
        var summary = "deleted the clone \(clone)"
        if try await client.volume(clone).isStarted {
            _ = try await client.change(client.cli.volumeStop(clone, force: true))
            summary = "stopped and deleted the clone \(clone)"
        }
        let result = try await client.change(client.cli.volumeDelete(clone))
        return EffectResult(succeeded: true, summary: summary, result: result)
    }
}
