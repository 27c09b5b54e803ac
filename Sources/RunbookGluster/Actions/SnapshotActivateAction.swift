import Foundation
import RunbookCore

/// `gluster.snapshot.activate`: `snapshot activate SNAP` (a snapshot must be activated before it
/// can be cloned or mounted; they are not activated on create unless `activate-on-create` is set).
public struct SnapshotActivateAction: ActionType, ReprobingAction {
    /// Seconds between verify attempts.
    public var verifyDelay: Double

    /// Creates the type.
    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    public var descriptor: ActionDescriptor {
        ActionDescriptor(
            name: "gluster.snapshot.activate", kind: .action,
            summary:
                "Activate a snapshot (`snapshot activate SNAP`): its bricks start, so it can be cloned or mounted.",
            parameters: [SnapshotParameters.snapshot],
            outputs: [OutputSpec("status", "string", "the snapshot volume's status (Started once activated)")],
            changes: true, undo: .derived("deactivate the snapshot again, when it was not activated before"),
            idempotency: "`snapshot info SNAP` says its snapshot volume is Started")
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let snapshot = arguments.string("snapshot") ?? ""
        return [
            PlannedCommand(.probe, on: host.name, cli.snapshotInfo(snapshot)),
            PlannedCommand(.apply, on: host.name, cli.snapshotActivate(snapshot)),
            PlannedCommand(.verify, on: host.name, cli.snapshotInfo(snapshot)),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { SnapshotParameters.check(arguments, ["snapshot"]) }

    struct Observed: Codable, Sendable {
        var activated: Bool
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let name = try context.required("snapshot")
        guard let snapshot = try await GlusterClient(context).snapshot(name) else {
            return Observation(
                done: false, summary: "snapshot \(name) does not exist (yet)", outputs: ["status": .string("absent")],
                undoState: UndoJSON.encode(Observed(activated: false)))
        }
        return Observation(
            done: snapshot.isActivated, summary: "snapshot \(name) is \(snapshot.status)",
            outputs: ["status": .string(snapshot.status)],
            undoState: UndoJSON.encode(Observed(activated: snapshot.isActivated)))
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let name = try context.required("snapshot")
        let client = GlusterClient(context)
        let command = client.cli.snapshotActivate(name)
        let result = try await client.change(command)
        _ = try GlusterParse.snapshotName(
            GlusterOutput(command: command, host: context.host, result: result), element: "snapActivate")
        return EffectResult(
            succeeded: true, summary: "activated snapshot \(name)", outputs: ["status": .string("Started")],
            result: result)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        let name = try context.required("snapshot")
        if UndoJSON.decode(Observed.self, undoState)?.activated == true {
            return EffectResult(succeeded: true, summary: "snapshot \(name) was activated before: nothing to undo")
        }
        let client = GlusterClient(context)
        guard let snapshot = try await client.snapshot(name), snapshot.isActivated else {
            return EffectResult(
                succeeded: true, summary: "snapshot \(name) is not activated (or gone): nothing to undo")
        }
        let result = try await client.change(client.cli.snapshotDeactivate(name))
        return EffectResult(succeeded: true, summary: "deactivated snapshot \(name)", result: result)
    }
}
