import Foundation
import RunbookCore

/// `gluster.volume.start` / `gluster.volume.stop`.
public struct VolumeStateAction: ActionType, ReprobingAction {
    /// `start` or `stop`.
    public enum Mode: String, Sendable { case start, stop }

    /// Which one this type is.
    public let mode: Mode
    /// Seconds between verify attempts.
    public var verifyDelay: Double

    /// Creates the type.
    public init(_ mode: Mode, verifyDelay: Double = 1) {
        self.mode = mode
        self.verifyDelay = verifyDelay
    }

    public var descriptor: ActionDescriptor {
        let volume = ParameterSpec("volume", .string, required: true, "the volume")
        switch mode {
        case .start:
            return ActionDescriptor(
                name: "gluster.volume.start", kind: .action,
                summary:
                    "Start a volume (`volume start VOL [force]`; force also restarts brick processes that are down).",
                parameters: [
                    volume,
                    ParameterSpec("force", .bool, "pass `force`: then done only when every brick is online too"),
                ],
                outputs: [OutputSpec("status", "string", "the volume's status after the step")],
                changes: true, undo: .derived("stop the volume again, when it was not started before"),
                idempotency: "volume info says Started (with force: and volume status shows every brick online)")
        case .stop:
            return ActionDescriptor(
                name: "gluster.volume.stop", kind: .action,
                summary:
                    "Stop a volume (`volume stop VOL [force]`; without force gluster refuses while a geo-rep session of it is active).",
                parameters: [volume, ParameterSpec("force", .bool, "pass `force`")],
                outputs: [OutputSpec("status", "string", "the volume's status after the step")],
                changes: true, undo: .derived("start the volume again, when it was started before"),
                idempotency: "volume info says Stopped (or Created)")
        }
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        let force = arguments.bool("force") ?? false
        var probes = [cli.volumeInfo(volume)]
        if mode == .start && force { probes.append(cli.volumeStatus(volume)) }
        let apply = mode == .start ? cli.volumeStart(volume, force: force) : cli.volumeStop(volume, force: force)
        return probes.map { PlannedCommand(.probe, on: host.name, $0) } + [PlannedCommand(.apply, on: host.name, apply)]
            + probes.map { PlannedCommand(.verify, on: host.name, $0) }
    }

    public func check(_ arguments: ResolvedArguments) -> [String] { ArgumentChecks.volume(arguments) }

    struct Observed: Codable, Sendable {
        var status: String
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let volumeName = try context.required("volume")
        let client = GlusterClient(context)
        let volume = try await client.volume(volumeName)
        let undo = UndoJSON.encode(Observed(status: volume.status))
        let outputs: [String: Value] = ["status": .string(volume.status)]
        switch mode {
        case .stop:
            let done = !volume.isStarted
            return Observation(
                done: done, summary: "\(volumeName) is \(volume.status)", outputs: outputs, undoState: undo)
        case .start:
            guard volume.isStarted else {
                return Observation(
                    done: false, summary: "\(volumeName) is \(volume.status)", outputs: outputs, undoState: undo)
            }
            guard context.flag("force") else {
                return Observation(done: true, summary: "\(volumeName) is Started", outputs: outputs, undoState: undo)
            }
            let health = try await VolumeHealthProbe.health(of: volume, client: client)
            let done = health.offline.isEmpty
            let summary =
                done
                ? "\(volumeName) is Started with all \(health.total) bricks online"
                : "\(volumeName) is Started but \(health.offline.count) of \(health.total) bricks are offline: \(health.offline.joined(separator: ", "))"
            return Observation(done: done, summary: summary, outputs: outputs, undoState: undo)
        }
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        guard let command = context.node.commands.first(where: { $0.purpose == .apply }) else {
            throw GlusterArgumentError(message: "step \(context.node.id): no command rendered for \(descriptor.name)")
        }
        let result = try await GlusterClient(context).change(command.command)
        let volume = context.arguments.string("volume") ?? ""
        return EffectResult(
            succeeded: true, summary: "\(mode == .start ? "started" : "stopped") \(volume)",
            outputs: ["status": .string(mode == .start ? "Started" : "Stopped")], result: result)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        let volumeName = try context.required("volume")
        let force = context.flag("force")
        guard let before = UndoJSON.decode(Observed.self, undoState) else {
            return EffectResult(
                succeeded: false,
                summary: "the status of \(volumeName) before the step was not journaled: cannot tell what to restore")
        }
        let client = GlusterClient(context)
        let now = try await client.volume(volumeName)
        switch mode {
        case .start:
            guard before.status != "Started" else {
                return EffectResult(
                    succeeded: true,
                    summary: "\(volumeName) was Started before (bricks restarted by force stay up): nothing to undo")
            }
            guard now.isStarted else {
                return EffectResult(succeeded: true, summary: "\(volumeName) is \(now.status) already")
            }
            let result = try await client.change(client.cli.volumeStop(volumeName, force: force))
            return EffectResult(succeeded: true, summary: "stopped \(volumeName) again", result: result)
        case .stop:
            guard before.status == "Started" else {
                return EffectResult(
                    succeeded: true, summary: "\(volumeName) was \(before.status) before: nothing to undo")
            }
            guard !now.isStarted else {
                return EffectResult(succeeded: true, summary: "\(volumeName) is Started already")
            }
            let result = try await client.change(client.cli.volumeStart(volumeName, force: force))
            return EffectResult(succeeded: true, summary: "started \(volumeName) again", result: result)
        }
    }
}
