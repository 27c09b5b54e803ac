import Foundation
import RunbookCore

/// `gluster.georep.sshkey`: `gluster-georep-sshkey generate` on a primary node, the pem keys of a
/// non-root session: every up peer makes its keys and the node collects them, with their forced
/// `command=` prefixes, into the common secret file that `create push-pem` then copies.
public struct SSHKeyGenerateAction: ActionType, ReprobingAction {
    public var verifyDelay: Double

    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    public let descriptor = ActionDescriptor(
        name: "gluster.georep.sshkey", kind: .action,
        summary:
            "Generate the pem keys of a non-root geo-rep session on every up peer (`gluster-georep-sshkey generate`), before `gluster.georep.create` with push_pem as USER@HOST::VOLUME. Not undone: mark the step `irreversible: true` (or declare an undo).",
        parameters: [
            ParameterSpec(
                "path", .string, "the common secret file to look for (default \(KeysCreateAction.commonSecret))"),
            ParameterSpec("no_prefix", .bool, "pass --no-prefix (keys without their command= prefix)"),
        ],
        outputs: [OutputSpec("path", "string", "the common secret file")],
        changes: true, undo: .declared,
        idempotency: "the common secret file exists and is not empty")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let test = CommandSpec(argv: ["test", "-s", arguments.string("path") ?? KeysCreateAction.commonSecret])
        let generate = CommandSpec(
            argv: ["gluster-georep-sshkey", "generate"] + (arguments.bool("no_prefix") == true ? ["--no-prefix"] : []))
        return [
            PlannedCommand(.probe, on: host.name, test),
            PlannedCommand(.apply, on: host.name, generate),
            PlannedCommand(.verify, on: host.name, test),
        ]
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        try await KeysCreateAction().probe(context)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        guard let command = context.planned(.apply).first else {
            throw GlusterArgumentError(message: "step \(context.node.id): no command rendered for \(descriptor.name)")
        }
        let result = try await context.run(command)
        let failures = PeerTable.failures(result.stdout)
        guard result.succeeded, failures.isEmpty else {
            let said =
                failures.isEmpty
                ? CommandFailure.summary("apply", command.command, result) : failures.joined(separator: "; ")
            return EffectResult(
                succeeded: false, summary: "gluster-georep-sshkey generate on \(context.host): \(said)", result: result)
        }
        return EffectResult(
            succeeded: true, summary: "generated the pem keys on every up peer (from \(context.host))",
            outputs: observation.outputs, result: result)
    }
}
