import Foundation
import RunbookCore

/// `gluster.georep.pem_keys`: `set_geo_rep_pem_keys.sh USER PRIMARY SECONDARY` on a secondary
/// node, after `create push-pem` of a non-root session: it copies
/// `~USER/PRIMARY_SECONDARY_common_secret.pem.pub` to every peer and adds its keys (with their
/// forced commands) to USER's authorized_keys there.
///
/// The script also runs `gluster vol set SECONDARY features.read-only on` (GlusterFS 10.x/11.1):
/// the step declares it (`read_only` output) and its undo puts `features.read-only` back as it
/// was. The keys it added are not removed by the undo (the failover's fence sets keys aside).
/// Probe: done when every key of the user's pem file is in the user's authorized_keys on this
/// node.
public struct PemKeysAction: ActionType, ReprobingAction {
    public var verifyDelay: Double

    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    /// Where the GlusterFS packages of the RPM family put the script (Debian: /usr/lib/x86_64-linux-gnu/glusterfs/).
    public static let defaultScript = "/usr/libexec/glusterfs/set_geo_rep_pem_keys.sh"

    public let descriptor = ActionDescriptor(
        name: "gluster.georep.pem_keys", kind: .action,
        summary:
            "Install a non-root session's pem keys on every secondary node (`set_geo_rep_pem_keys.sh USER PRIMARY SECONDARY`, run on a secondary node). Side effect, declared: it sets features.read-only on on SECONDARY; undo puts that option back.",
        parameters: [
            ParameterSpec("user", .string, required: true, "the session user (not root)"),
            ParameterSpec("primary", .string, required: true, "the primary volume"),
            ParameterSpec("secondary", .string, required: true, "the secondary volume (on this site)"),
            ParameterSpec(
                "script", .string,
                "the script's path (default \(PemKeysAction.defaultScript); Debian: /usr/lib/x86_64-linux-gnu/glusterfs/set_geo_rep_pem_keys.sh)"
            ),
        ],
        outputs: [
            OutputSpec("keys", "int", "the keys of the user's pem file"),
            OutputSpec("missing", "int", "those not in the user's authorized_keys on this node"),
            OutputSpec(
                "read_only", "string", "features.read-only of SECONDARY as read by the probe (the script turns it on)"),
        ],
        changes: true,
        undo: .derived(
            "put features.read-only of SECONDARY back as it was (set, or reset when it was not set); the keys stay"),
        idempotency: "every key of ~USER/PRIMARY_SECONDARY_common_secret.pem.pub is in USER's authorized_keys")

    static func readHomeFile(_ user: String, _ name: String) -> CommandSpec {
        CommandSpec(argv: ["sh", "-c", #"cat "$(getent passwd "$1" | cut -d: -f6)/$2""#, "sh", user, name])
    }

    static func pemFile(_ primary: String, _ secondary: String) -> String {
        "\(primary)_\(secondary)_common_secret.pem.pub"
    }

    func reads(_ arguments: ResolvedArguments, cli: GlusterCLI) -> [CommandSpec] {
        let user = arguments.string("user") ?? ""
        let primary = arguments.string("primary") ?? ""
        let secondary = arguments.string("secondary") ?? ""
        return [
            Self.readHomeFile(user, Self.pemFile(primary, secondary)),
            Self.readHomeFile(user, ".ssh/authorized_keys"),
            cli.volumeInfo(secondary),
        ]
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let reads = reads(arguments, cli: GlusterCLI(host: host))
        let script = CommandSpec(argv: [
            arguments.string("script") ?? Self.defaultScript, arguments.string("user") ?? "",
            arguments.string("primary") ?? "", arguments.string("secondary") ?? "",
        ])
        return reads.map { PlannedCommand(.probe, on: host.name, $0) } + [PlannedCommand(.apply, on: host.name, script)]
            + reads.map { PlannedCommand(.verify, on: host.name, $0) }
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = ArgumentChecks.volume(arguments, "primary") + ArgumentChecks.volume(arguments, "secondary")
        if arguments.string("user") == "root" {
            messages.append("`user` root: set_geo_rep_pem_keys.sh is for non-root sessions (it refuses root)")
        }
        return messages
    }

    /// The key material (type and base64) of each key line, without options such as `command=`.
    static func keys(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(where: { $0.hasPrefix("ssh-") || $0.hasPrefix("ecdsa-") }),
                index + 1 < words.count
            else { return nil }
            return "\(words[index]) \(words[index + 1])"
        }
    }

    struct Observed: Codable {
        var readOnlySet: Bool
        var readOnly: String?
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let user = try context.required("user")
        let secondary = try context.required("secondary")
        let client = GlusterClient(context)
        let reads = reads(context.arguments, cli: client.cli)
        let pem = try await context.run(reads[0])
        let authorized = try await context.run(reads[1])
        let volume = try await client.volume(secondary)
        let readOnly = volume.option("features.read-only")
        let name = Self.pemFile(context.arguments.string("primary") ?? "", secondary)
        let keys = pem.succeeded ? Self.keys(pem.stdout) : []
        let installed = Set(authorized.succeeded ? Self.keys(authorized.stdout) : [])
        let missing = keys.filter { !installed.contains($0) }
        let done = !keys.isEmpty && missing.isEmpty
        let summary: String
        if keys.isEmpty {
            summary =
                "~\(user)/\(name) is missing or has no key on \(context.host): run `create push-pem` as \(user) first (glusterfs issue 4374)"
        } else if done {
            summary = "the \(keys.count) key(s) of ~\(user)/\(name) are in \(user)'s authorized_keys on \(context.host)"
        } else {
            summary =
                "\(missing.count) of \(keys.count) key(s) of ~\(user)/\(name) are not in \(user)'s authorized_keys on \(context.host)"
        }
        return Observation(
            done: done, summary: summary,
            outputs: [
                "keys": .int(keys.count), "missing": .int(missing.count),
                "read_only": readOnly.map { .string($0.value) } ?? .string("off"),
            ],
            undoState: UndoJSON.encode(Observed(readOnlySet: readOnly != nil, readOnly: readOnly?.value)))
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        if observation.outputs["keys"] == .int(0) {
            return EffectResult(succeeded: false, summary: observation.summary)
        }
        guard let command = context.planned(.apply).first else {
            throw GlusterArgumentError(message: "step \(context.node.id): no command rendered for \(descriptor.name)")
        }
        let result = try await context.run(command)
        guard result.succeeded else {
            return EffectResult(
                succeeded: false, summary: CommandFailure.summary("apply", command.command, result), result: result)
        }
        var outputs = observation.outputs
        outputs["read_only"] = .string("on")
        return EffectResult(
            succeeded: true,
            summary:
                "installed the pem keys of \(context.arguments.string("user") ?? "") on every secondary node; features.read-only is now on on \(context.arguments.string("secondary") ?? "")",
            outputs: outputs, result: result)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        let secondary = try context.required("secondary")
        guard let before = UndoJSON.decode(Observed.self, undoState) else {
            return EffectResult(
                succeeded: false, summary: "features.read-only of \(secondary) before the step was not journaled")
        }
        let client = GlusterClient(context)
        let now = try await client.volume(secondary).option("features.read-only")
        if before.readOnlySet, let previous = before.readOnly {
            if let now, OptionValue.same(now.value, previous) {
                return EffectResult(
                    succeeded: true, summary: "features.read-only is '\(previous)' on \(secondary) already")
            }
            let result = try await client.change(client.cli.volumeSet(secondary, "features.read-only", previous))
            return EffectResult(
                succeeded: true,
                summary: "set features.read-only back to '\(previous)' on \(secondary) (the keys stay)",
                result: result)
        }
        guard now != nil else {
            return EffectResult(
                succeeded: true, summary: "features.read-only is not set on \(secondary): nothing to undo")
        }
        let result = try await client.change(client.cli.volumeReset(secondary, "features.read-only", force: true))
        return EffectResult(
            succeeded: true, summary: "reset features.read-only on \(secondary): it was not set before (the keys stay)",
            result: result)
    }
}
