import Foundation
import RunbookCore

/// `gluster.snapshot.delete`: `snapshot delete SNAP`. A deleted snapshot cannot come back: a
/// step of it declares `undo` or `irreversible: true`.
public struct SnapshotDeleteAction: ActionType, ReprobingAction {
    /// Seconds between verify attempts.
    public var verifyDelay: Double

    /// Creates the type.
    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    public var descriptor: ActionDescriptor {
        ActionDescriptor(
            name: "gluster.snapshot.delete", kind: .action,
            summary:
                "Delete a snapshot (`snapshot delete SNAP`; delete its clones first). Cannot be undone: declare `undo` or `irreversible: true`.",
            parameters: [SnapshotParameters.snapshot],
            outputs: [OutputSpec("snapshot", "string", "the snapshot's name")],
            changes: true, undo: .declared,
            idempotency: "`snapshot info SNAP` says it does not exist")
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let snapshot = arguments.string("snapshot") ?? ""
        return [
            PlannedCommand(.probe, on: host.name, cli.snapshotInfo(snapshot)),
            PlannedCommand(.apply, on: host.name, cli.snapshotDelete(snapshot)),
            PlannedCommand(.verify, on: host.name, cli.snapshotInfo(snapshot)),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { SnapshotParameters.check(arguments, ["snapshot"]) }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let name = try context.required("snapshot")
        let found = try await GlusterClient(context).snapshot(name)
        return Observation(
            done: found == nil,
            summary: found.map { "snapshot \(name) exists (\($0.status))" } ?? "snapshot \(name) does not exist",
            outputs: ["snapshot": .string(name)])
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let name = try context.required("snapshot")
        let client = GlusterClient(context)
        let command = client.cli.snapshotDelete(name)
        let result = try await client.change(command)
        try GlusterParse.snapshotDeleted(GlusterOutput(command: command, host: context.host, result: result))
        return EffectResult(
            succeeded: true, summary: "deleted snapshot \(name)", outputs: ["snapshot": .string(name)], result: result)
    }
}
