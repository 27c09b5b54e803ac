import Foundation
import RunbookCore

/// `gluster.snapshot.status`: can this volume be snapshotted here, and how are its snapshots.
///
/// For each brick of the volume on this node (`volume info` + `pool list`, as
/// `gluster.volume.empty` finds them): the device under it (`findmnt`), whether that is a thin LV
/// (`lvs -o pool_lv`: glusterd's own test) and how full its thin pool is (`data_percent`); then
/// `snapshot info volume VOL` (how many snapshots, how many more the hard limit allows) and, with
/// `snapshot`, `snapshot status SNAP` (its bricks running, their LVs' data use). A snapshot
/// command that fails (e.g. "LVM commands not found") is an output, not an error, so a
/// precondition can say why a drill cannot snapshot.
public struct SnapshotStatusProbe: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "gluster.snapshot.status", kind: .probe,
        summary:
            "Whether a volume can be snapshotted on this node (every local brick a thin LV, lvm2 present, the hard limit not reached, thin pools below max_pool_percent) and the state of its snapshots.",
        parameters: [
            ParameterSpec("volume", .string, required: true, "the volume"),
            ParameterSpec("snapshot", .string, "also read this snapshot's status (its bricks, their LVs' use)"),
            ParameterSpec("max_pool_percent", .int, "a thin pool fuller than this is a problem (default 90)"),
        ],
        outputs: [
            OutputSpec("ready", "bool", "no problem found: a snapshot can be taken"),
            OutputSpec("problems", "list", "why not, one line each (brick, device, what to do)"),
            OutputSpec("thin", "bool", "every local brick is on a thinly provisioned LV"),
            OutputSpec("bricks", "list", "maps {brick, device, thin_pool, pool_data_percent}"),
            OutputSpec("pool_data_percent", "double", "the fullest thin pool's data use (null when none)"),
            OutputSpec("count", "int", "snapshots of the volume (null when gluster could not say)"),
            OutputSpec("remaining", "int", "snapshots it may still take (null when not printed)"),
            OutputSpec("snapshots", "list", "maps {name, status, created_at}"),
            OutputSpec("snapshot_error", "string", "what `snapshot info` failed with (\"\" when it worked)"),
            OutputSpec("snapshot_bricks", "list", "with `snapshot`: maps {path, running, data_percent}"),
            OutputSpec("snapshot_bricks_running", "int", "with `snapshot`: its bricks that run"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.ready")

    static let brick = "each local brick of the volume"
    static let device = "the brick's device"
    static let pool = "the device's VG/thin pool"

    static func findmnt(_ brick: String) -> CommandSpec {
        CommandSpec(argv: ["findmnt", "-n", "-o", "SOURCE", "--target", brick])
    }
    static func lvsPool(_ device: String) -> CommandSpec {
        CommandSpec(argv: ["lvs", "--noheadings", "--separator", "|", "-o", "vg_name,pool_lv", device])
    }
    static func lvsUse(_ pool: String) -> CommandSpec {
        CommandSpec(argv: ["lvs", "--noheadings", "--nosuffix", "-o", "data_percent", pool])
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        var commands = [
            cli.volumeInfo(volume), cli.poolList,
            Self.findmnt(CommandSpec.placeholder(Self.brick)), Self.lvsPool(CommandSpec.placeholder(Self.device)),
            Self.lvsUse(CommandSpec.placeholder(Self.pool)), cli.snapshotInfo(volume: volume),
        ]
        if let snapshot = arguments.string("snapshot") { commands.append(cli.snapshotStatus(snapshot)) }
        return commands.map { PlannedCommand(.probe, on: host.name, $0) }
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = ArgumentChecks.volume(arguments) + ArgumentChecks.volume(arguments, "snapshot")
        if let limit = arguments.int("max_pool_percent"), !(1...100).contains(limit) {
            messages.append("`max_pool_percent` \(limit) must be between 1 and 100")
        }
        return messages
    }

    /// One local brick's LVM facts.
    struct Brick {
        var name: String
        var device: String = ""
        var pool: String = ""
        var percent: Double?
        var problem: String?
    }

    func inspect(_ brick: GlusterBrick, context: ActionContext) async throws -> Brick {
        var found = Brick(name: brick.name)
        func planned(_ index: Int) -> PlannedCommand { context.node.commands[index] }
        let mount = try await context.run(planned(2), filling: [Self.brick: brick.path])
        let source = mount.stdout.split(separator: "\n").first.map(String.init) ?? ""
        // A bind mount prints `/dev/sda1[/sub/dir]`: the device is before the bracket.
        found.device = String(source.split(separator: "[", maxSplits: 1).first ?? "")
        guard mount.succeeded, found.device.hasPrefix("/dev/") else {
            let what = found.device.isEmpty ? CommandFailure.status(mount) : "on \(found.device), not a block device"
            found.problem = "\(brick.name) is \(what): snapshots need each brick on its own thin LV"
            return found
        }
        let lvs = try await context.run(planned(3), filling: [Self.device: found.device])
        if lvs.exitCode == 127 {
            found.problem =
                "\(brick.name): lvs not found on \(context.host) (install lvm2 and thin-provisioning-tools)"
            return found
        }
        let fields = lvs.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(
            separator: "|", omittingEmptySubsequences: false
        ).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lvs.succeeded, fields.count == 2, !fields[1].isEmpty else {
            let why = lvs.succeeded ? "a thick LV (no thin pool)" : "not an LV (\(CommandFailure.status(lvs)))"
            found.problem = "\(brick.name) is on \(found.device), \(why): snapshots need thinly provisioned LVs"
            return found
        }
        found.pool = "\(fields[0])/\(fields[1])"
        let use = try await context.run(planned(4), filling: [Self.pool: found.pool])
        found.percent = Double(use.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        return found
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let name = try context.required("volume")
        let limit = Double(context.arguments.int("max_pool_percent") ?? 90)
        let client = GlusterClient(context)
        let volume = try await client.volume(name)
        let (poolOutput, _) = try await client.run(client.cli.poolList)
        let local = try GlusterParse.peers(poolOutput).first { $0.hostname == "localhost" }
        let bricks = volume.bricks.filter { $0.hostUUID == local?.uuid }
        var problems: [String] = []
        if bricks.isEmpty { problems.append("no brick of \(name) is on \(context.host)") }
        var facts: [Brick] = []
        for brick in bricks { facts.append(try await inspect(brick, context: context)) }
        problems += facts.compactMap(\.problem)
        for fact in facts {
            if let percent = fact.percent, percent > limit {
                problems.append(
                    "thin pool \(fact.pool) of \(fact.name) is \(percent)% full (over \(Int(limit))%): a clone's writes could fill it"
                )
            }
        }
        var outputs: [String: Value] = [
            "thin": .bool(!facts.isEmpty && facts.allSatisfy { $0.problem == nil }),
            "bricks": .list(
                facts.map {
                    .map([
                        "brick": .string($0.name), "device": .string($0.device), "thin_pool": .string($0.pool),
                        "pool_data_percent": $0.percent.map(Value.double) ?? .null,
                    ])
                }),
            "pool_data_percent": facts.compactMap(\.percent).max().map(Value.double) ?? .null,
            "count": .null, "remaining": .null, "snapshots": .list([]), "snapshot_error": .string(""),
            "snapshot_bricks": .list([]), "snapshot_bricks_running": .int(0),
        ]
        let (infoOutput, _) = try await client.run(client.cli.snapshotInfo(volume: name))
        do {
            let inventory = try GlusterParse.snapshotInventory(infoOutput)
            outputs["count"] = .int(inventory.count)
            outputs["remaining"] = inventory.remaining.map(Value.int) ?? .null
            outputs["snapshots"] = .list(
                inventory.snapshots.map {
                    .map([
                        "name": .string($0.name), "status": .string($0.status),
                        "created_at": $0.createdAt.map(Value.timestamp) ?? .null,
                    ])
                })
            if inventory.remaining == 0 {
                problems.append("\(name) has reached its snapshot hard limit (\(inventory.count)): delete some first")
            }
        } catch let error as GlusterError {
            outputs["snapshot_error"] = .string(error.message)
            problems.append("`snapshot info` on \(context.host) failed: \(error.message)")
        }
        if let snapshot = context.arguments.string("snapshot") {
            let (statusOutput, _) = try await client.run(client.cli.snapshotStatus(snapshot))
            do {
                let snapBricks = try GlusterParse.snapshotBricks(statusOutput)
                outputs["snapshot_bricks"] = .list(
                    snapBricks.map {
                        .map([
                            "path": .string($0.path), "running": .bool($0.running),
                            "data_percent": $0.dataPercent.map(Value.double) ?? .null,
                        ])
                    })
                outputs["snapshot_bricks_running"] = .int(snapBricks.filter(\.running).count)
            } catch let error as GlusterError {
                problems.append("`snapshot status \(snapshot)` on \(context.host) failed: \(error.message)")
            }
        }
        outputs["problems"] = .list(problems.map(Value.string))
        outputs["ready"] = .bool(problems.isEmpty)
        let summary =
            problems.isEmpty
            ? "\(name) can be snapshotted on \(context.host): \(facts.count) thin brick(s)"
                + (facts.compactMap(\.percent).max().map { ", fullest pool \($0)%" } ?? "")
            : "\(name) cannot be snapshotted on \(context.host): " + problems.joined(separator: "; ")
        return Observation(done: true, summary: summary, outputs: outputs)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}
