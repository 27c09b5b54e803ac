import Foundation
import RunbookCore

/// `gluster.snapshot.create`: `snapshot create SNAP VOL no-timestamp [description TEXT]`.
///
/// Needs every brick of the volume on a thinly provisioned LV, `lvm2` on the nodes and every
/// brick online; otherwise gluster refuses, and (with `--xml`) still exits 0: the step reads
/// `opRet`. On the primary of a running geo-rep session gluster refuses too (pause it first).
public struct SnapshotCreateAction: ActionType, ReprobingAction {
    /// Seconds between verify attempts.
    public var verifyDelay: Double

    /// Creates the type.
    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    public var descriptor: ActionDescriptor {
        ActionDescriptor(
            name: "gluster.snapshot.create", kind: .action,
            summary:
                "Take a snapshot of a volume (`snapshot create SNAP VOL no-timestamp`): needs thin-LV bricks, lvm2, every brick online; opRet -1 fails the step though the CLI exits 0.",
            parameters: [
                SnapshotParameters.volume, SnapshotParameters.snapshot,
                ParameterSpec("description", .string, "the snapshot's description (e.g. the run id)"),
            ],
            outputs: [
                OutputSpec("snapshot", "string", "the snapshot's name"),
                OutputSpec("uuid", "string", "its UUID"),
                OutputSpec("created_at", "timestamp", "when it was taken (UTC)"),
                OutputSpec("remaining", "int", "snapshots the volume may still take (null when not printed)"),
            ],
            changes: true, undo: .derived("delete the snapshot again, when it still exists"),
            idempotency: "`snapshot info volume VOL` lists a snapshot of that name")
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        let snapshot = arguments.string("snapshot") ?? ""
        return [
            PlannedCommand(.probe, on: host.name, cli.snapshotInfo(volume: volume)),
            PlannedCommand(
                .apply, on: host.name,
                cli.snapshotCreate(snapshot, volume, description: arguments.string("description"))
            ),
            PlannedCommand(.verify, on: host.name, cli.snapshotInfo(volume: volume)),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        SnapshotParameters.check(arguments, ["volume", "snapshot"])
    }

    static func outputs(_ snapshot: GlusterSnapshot?, name: String, remaining: Int?) -> [String: Value] {
        [
            "snapshot": .string(name), "uuid": snapshot.map { .string($0.uuid) } ?? .null,
            "created_at": snapshot?.createdAt.map(Value.timestamp) ?? .null,
            "remaining": remaining.map(Value.int) ?? .null,
        ]
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let volume = try context.required("volume")
        let name = try context.required("snapshot")
        let inventory = try await GlusterClient(context).snapshots(of: volume)
        let found = inventory.snapshots.first { $0.name == name }
        let outputs = Self.outputs(found, name: name, remaining: inventory.remaining)
        guard let found else {
            let left = inventory.remaining.map { ", \($0) more allowed" } ?? ""
            return Observation(
                done: false, summary: "\(volume) has no snapshot \(name) (\(inventory.count) snapshot(s)\(left))",
                outputs: outputs)
        }
        return Observation(
            done: true, summary: "snapshot \(name) of \(volume) exists (\(found.status))", outputs: outputs)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let volume = try context.required("volume")
        let name = try context.required("snapshot")
        let client = GlusterClient(context)
        let command = client.cli.snapshotCreate(name, volume, description: context.arguments.string("description"))
        let result = try await client.change(command)
        let created = try GlusterParse.snapshotName(
            GlusterOutput(command: command, host: context.host, result: result), element: "snapCreate")
        var outputs = observation.outputs
        outputs["uuid"] = .string(created.uuid)
        outputs["created_at"] = .timestamp(Date())
        return EffectResult(
            succeeded: true, summary: "snapshot \(created.name) of \(volume) created", outputs: outputs,
            result: result)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        let name = try context.required("snapshot")
        let client = GlusterClient(context)
        guard try await client.snapshot(name) != nil else {
            return EffectResult(succeeded: true, summary: "snapshot \(name) does not exist: nothing to delete")
        }
        let command = client.cli.snapshotDelete(name)
        let result = try await client.change(command)
        try GlusterParse.snapshotDeleted(GlusterOutput(command: command, host: context.host, result: result))
        return EffectResult(succeeded: true, summary: "deleted snapshot \(name)", result: result)
    }
}
