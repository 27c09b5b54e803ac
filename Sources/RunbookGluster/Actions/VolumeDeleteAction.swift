import Foundation
import RunbookCore

/// `gluster.volume.delete`: `volume delete VOL` (the volume must be stopped). Used to remove a
/// drill's snapshot clone; a deleted volume cannot come back, so a step of it declares `undo` or
/// `irreversible: true`.
public struct VolumeDeleteAction: ActionType, ReprobingAction {
    /// Seconds between verify attempts.
    public var verifyDelay: Double

    /// Creates the type.
    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    public var descriptor: ActionDescriptor {
        ActionDescriptor(
            name: "gluster.volume.delete", kind: .action,
            summary:
                "Delete a stopped volume (`volume delete VOL`; its bricks' data stay where they are). Cannot be undone: declare `undo` or `irreversible: true`.",
            parameters: [ParameterSpec("volume", .string, required: true, "the volume")],
            outputs: [OutputSpec("volume", "string", "the volume's name")],
            changes: true, undo: .declared,
            idempotency: "`volume list` does not have it")
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        return [
            PlannedCommand(.probe, on: host.name, cli.volumeList),
            PlannedCommand(.apply, on: host.name, cli.volumeDelete(volume)),
            PlannedCommand(.verify, on: host.name, cli.volumeList),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { ArgumentChecks.volume(arguments) }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let volume = try context.required("volume")
        let exists = try await GlusterClient(context).volumeNames().contains(volume)
        return Observation(
            done: !exists, summary: exists ? "volume \(volume) exists" : "volume \(volume) does not exist",
            outputs: ["volume": .string(volume)])
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let volume = try context.required("volume")
        let client = GlusterClient(context)
        let result = try await client.change(client.cli.volumeDelete(volume))
        return EffectResult(
            succeeded: true, summary: "deleted volume \(volume)", outputs: ["volume": .string(volume)], result: result)
    }
}
