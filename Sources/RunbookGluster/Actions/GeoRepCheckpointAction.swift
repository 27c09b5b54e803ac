import Foundation
import RunbookCore

/// `gluster.georep.checkpoint`: `config checkpoint now`. A new mark in time each run, so never "already done".
public struct GeoRepCheckpointAction: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.georep.checkpoint", kind: .action,
        summary:
            "Set a checkpoint at the current time (`config checkpoint now`; does not restart the session). Poll gluster.georep.status until outputs.checkpoint_completed_all. With no I/O, touch a file on the primary mount so the checkpoint can complete.",
        parameters: [GeoRepSessionAction.primary, GeoRepSessionAction.secondary],
        outputs: [
            OutputSpec(
                "checkpoint_time", "timestamp",
                "the checkpoint as read back from the session config (UTC; null when it could not be read)")
        ],
        changes: false, undo: .none,
        idempotency: "never: each run marks a new point in time")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let primary = arguments.string("primary") ?? ""
        let secondary = arguments.string("secondary") ?? ""
        return [
            PlannedCommand(.apply, on: host.name, cli.geoRepConfigSet(primary, secondary, "checkpoint", "now")),
            PlannedCommand(.apply, on: host.name, cli.geoRepConfigGet(primary, secondary)),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { ArgumentChecks.session(arguments) }

    public func probe(_ context: ActionContext) async throws -> Observation {
        Observation(
            done: false, summary: "a checkpoint marks the time it is set: it is set anew every time the step runs")
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let primary = try context.required("primary")
        let secondary = try context.required("secondary")
        let client = GlusterClient(context)
        let result = try await client.change(client.cli.geoRepConfigSet(primary, secondary, "checkpoint", "now"))
        do {
            let config = try await client.geoRepConfig(primary, secondary)
            if let raw = config["checkpoint"], let time = GlusterTime.epoch(raw) {
                return EffectResult(
                    succeeded: true,
                    summary: "checkpoint set at \(Value.timestamp(time).renderedForText) on \(context.host)",
                    outputs: ["checkpoint_time": .timestamp(time)], result: result)
            }
            return EffectResult(
                succeeded: true,
                summary: "checkpoint set; the config shows checkpoint '\(config["checkpoint"] ?? "(absent)")'",
                outputs: ["checkpoint_time": .null], result: result)
        } catch let error as GlusterError {
            return EffectResult(
                succeeded: true, summary: "checkpoint set; reading it back failed: \(error)",
                outputs: ["checkpoint_time": .null], result: result)
        }
    }
}
