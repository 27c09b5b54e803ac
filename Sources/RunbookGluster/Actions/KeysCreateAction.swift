import Foundation
import RunbookCore

/// `gluster.keys.create`: `system:: execute gsec_create`, the common pem keys for geo-replication.
public struct KeysCreateAction: ActionType, ReprobingAction {
    /// Where gsec_create collects the public keys of every peer.
    public static let commonSecret = "/var/lib/glusterd/geo-replication/common_secret.pem.pub"
    /// Seconds between verify attempts.
    public var verifyDelay: Double

    /// Creates the type.
    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    public let descriptor = ActionDescriptor(
        name: "gluster.keys.create", kind: .action,
        summary:
            "Generate the geo-replication pem keys on every peer and collect them (`system:: execute gsec_create`), before `gluster.georep.create` with push_pem. Not undone: mark the step `irreversible: true` (or declare an undo).",
        parameters: [
            ParameterSpec(
                "path", .string, "the common secret file to look for (default \(KeysCreateAction.commonSecret))")
        ],
        outputs: [OutputSpec("path", "string", "the common secret file")],
        changes: true, undo: .declared,
        idempotency: "the common secret file exists and is not empty")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let test = CommandSpec(argv: ["test", "-s", arguments.string("path") ?? Self.commonSecret])
        return [
            PlannedCommand(.probe, on: host.name, test),
            PlannedCommand(.apply, on: host.name, GlusterCLI(host: host).gsecCreate),
            PlannedCommand(.verify, on: host.name, test),
        ]
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let path = context.arguments.string("path") ?? Self.commonSecret
        let command = CommandSpec(argv: ["test", "-s", path])
        let result = try await context.run(command)
        switch result.exitCode {
        case 0?:
            return Observation(
                done: true, summary: "\(path) exists on \(context.host)", outputs: ["path": .string(path)],
                result: result)
        case 1?:
            return Observation(
                done: false, summary: "\(path) does not exist (or is empty) on \(context.host)",
                outputs: ["path": .string(path)], result: result)
        default:
            throw GlusterError(
                .commandFailed, GlusterOutput(command: command, host: context.host, result: result),
                "could not test for \(path)")
        }
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let client = GlusterClient(context)
        let result = try await client.change(client.cli.gsecCreate)
        return EffectResult(
            succeeded: true, summary: "generated the common pem keys on \(context.host)", outputs: observation.outputs,
            result: result)
    }
}
