import Foundation
import RunbookCore

/// `gluster.mountbroker`: the mountbroker of a site that receives non-root geo-replication
/// (`gluster-mountbroker setup ROOT GROUP`, then `gluster-mountbroker add VOLUME USER`), run on
/// one node: the tool applies it on every peer that is up (`gluster system:: execute`).
///
/// Probe and verify read `gluster-mountbroker status`: done when every node is UP with the mount
/// root and group present (`(OK)`) and, with `user` and `volume`, the user may mount the volume.
/// A node that was down misses its glusterd.vol lines: the probe names it. glusterd must then be
/// restarted on every node of the site (a separate step: the tool does not do it). Undo removes
/// the volume from the user (`remove --volume VOLUME --user USER`) when the step added it; the
/// setup (mount root, group, glusterd.vol's lines for them) is left, as it serves other users.
public struct MountbrokerAction: ActionType, ReprobingAction {
    public var verifyDelay: Double

    public init(verifyDelay: Double = 1) { self.verifyDelay = verifyDelay }

    static let tool = "gluster-mountbroker"

    public let descriptor = ActionDescriptor(
        name: "gluster.mountbroker", kind: .action,
        summary:
            "Set up the mountbroker of a non-root geo-rep secondary site (`gluster-mountbroker setup ROOT GROUP`, `add VOLUME USER`, on every up peer) and check `gluster-mountbroker status` on every node. Restart glusterd on each node afterwards.",
        parameters: [
            ParameterSpec(
                "root", .string, required: true, "the mountbroker root directory, e.g. /var/mountbroker-root"),
            ParameterSpec("group", .string, required: true, "the group of the session users, e.g. geogroup"),
            ParameterSpec("user", .string, "the session user to allow the volume (with `volume`)"),
            ParameterSpec("volume", .string, "the secondary volume the user may mount (with `user`)"),
        ],
        outputs: [
            OutputSpec("nodes", "list", "the nodes `gluster-mountbroker status` lists"),
            OutputSpec("not_ok", "list", "what is not OK, one `NODE: why` each (empty when done)"),
        ],
        changes: true,
        undo: .derived(
            "`gluster-mountbroker remove --volume VOLUME --user USER` when the step added the volume; the setup stays"),
        idempotency: "gluster-mountbroker status lists every node UP, ROOT(OK), GROUP(OK) and USER(…VOLUME…)")

    static let status = CommandSpec(argv: [tool, "status"])
    static func setup(_ root: String, _ group: String) -> CommandSpec {
        CommandSpec(argv: [tool, "setup", root, group])
    }
    static func add(_ volume: String, _ user: String) -> CommandSpec { CommandSpec(argv: [tool, "add", volume, user]) }
    static func remove(_ volume: String, _ user: String) -> CommandSpec {
        CommandSpec(argv: [tool, "remove", "--volume", volume, "--user", user])
    }

    func wantsUser(_ arguments: ResolvedArguments) -> (user: String, volume: String)? {
        guard let user = arguments.string("user"), let volume = arguments.string("volume"), !user.isEmpty,
            !volume.isEmpty
        else { return nil }
        return (user, volume)
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        var apply = [Self.setup(arguments.string("root") ?? "", arguments.string("group") ?? "")]
        if let wanted = wantsUser(arguments) { apply.append(Self.add(wanted.volume, wanted.user)) }
        return [PlannedCommand(.probe, on: host.name, Self.status)]
            + apply.map { PlannedCommand(.apply, on: host.name, $0) }
            + [PlannedCommand(.verify, on: host.name, Self.status)]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = ArgumentChecks.volume(arguments)
        if (arguments.string("user") == nil) != (arguments.string("volume") == nil) {
            messages.append("`user` and `volume` go together (the volume the user may mount)")
        }
        if let root = arguments.string("root"), !ArgumentChecks.isUnknown(root), !root.hasPrefix("/") {
            messages.append("`root` '\(root)' must be an absolute path")
        }
        return messages
    }

    struct Observed: Codable {
        var setUp: Bool
        var userHadVolume: Bool
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let root = try context.required("root")
        let group = try context.required("group")
        let result = try await context.run(Self.status)
        guard result.succeeded else {
            throw GlusterError(
                .commandFailed, GlusterOutput(command: Self.status, host: context.host, result: result),
                "gluster-mountbroker status failed")
        }
        let rows = MountbrokerStatus.parse(result.stdout)
        let wanted = wantsUser(context.arguments)
        var notOK: [String] = []
        var setUp = !rows.isEmpty
        var userHadVolume = !rows.isEmpty
        for row in rows {
            var problems: [String] = []
            if !row.up { problems.append("node DOWN") }
            if row.mountRoot != root || !row.mountRootOK || row.group != group || !row.groupOK {
                setUp = false
                problems.append(
                    "mount root \(row.mountRoot)\(row.mountRootOK ? "" : " (missing)"), group \(row.group)\(row.groupOK ? "" : " (missing)"); wanted \(root), \(group)"
                )
            }
            if let wanted, !(row.users[wanted.user] ?? []).contains(wanted.volume) {
                userHadVolume = false
                problems.append("\(wanted.user) may not mount \(wanted.volume)")
            }
            if !problems.isEmpty { notOK.append("\(row.node): \(problems.joined(separator: ", "))") }
        }
        if rows.isEmpty { notOK.append("\(context.host): gluster-mountbroker status listed no node") }
        let summary =
            notOK.isEmpty
            ? "the mountbroker is set up on \(rows.count) node(s)\(wanted.map { ", \($0.user) may mount \($0.volume)" } ?? "")"
            : "the mountbroker is not OK: \(notOK.joined(separator: "; "))"
        return Observation(
            done: notOK.isEmpty, summary: summary,
            outputs: ["nodes": .list(rows.map { .string($0.node) }), "not_ok": .list(notOK.map { .string($0) })],
            undoState: UndoJSON.encode(Observed(setUp: setUp, userHadVolume: userHadVolume)), result: result)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let before =
            UndoJSON.decode(Observed.self, observation.undoState) ?? Observed(setUp: false, userHadVolume: false)
        var commands: [CommandSpec] = []
        if !before.setUp { commands.append(Self.setup(try context.required("root"), try context.required("group"))) }
        if let wanted = wantsUser(context.arguments), !before.userHadVolume {
            commands.append(Self.add(wanted.volume, wanted.user))
        }
        var last: CommandResult?
        for command in commands {
            let result = try await context.run(command)
            last = result
            let failures = PeerTable.failures(result.stdout)
            guard result.succeeded, failures.isEmpty else {
                let said =
                    failures.isEmpty
                    ? GlusterOutput(command: command, host: context.host, result: result).start
                    : failures.joined(separator: "; ")
                return EffectResult(
                    succeeded: false,
                    summary: "`\(command.argv.joined(separator: " "))` on \(context.host) failed: \(said)",
                    result: result)
            }
        }
        return EffectResult(
            succeeded: true,
            summary: commands.isEmpty
                ? "nothing to run"
                : "ran \(commands.map { $0.argv.dropFirst().prefix(1).joined() }.joined(separator: ", ")); restart glusterd on every node of the site",
            outputs: observation.outputs, result: last)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        guard let wanted = wantsUser(context.arguments) else {
            return EffectResult(succeeded: true, summary: "the setup is left in place (nothing else to undo)")
        }
        guard let before = UndoJSON.decode(Observed.self, undoState) else {
            return EffectResult(
                succeeded: false, summary: "what the mountbroker allowed before the step was not journaled: cannot undo"
            )
        }
        if before.userHadVolume {
            return EffectResult(succeeded: true, summary: "\(wanted.user) could mount \(wanted.volume) before: left")
        }
        let command = Self.remove(wanted.volume, wanted.user)
        let result = try await context.run(command)
        let failures = PeerTable.failures(result.stdout)
        guard result.succeeded, failures.isEmpty else {
            return EffectResult(
                succeeded: false,
                summary:
                    "`\(command.argv.joined(separator: " "))` on \(context.host) failed: \(failures.joined(separator: "; "))",
                result: result)
        }
        return EffectResult(
            succeeded: true, summary: "removed \(wanted.volume) from \(wanted.user) on the mountbroker", result: result)
    }
}
