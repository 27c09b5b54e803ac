import Foundation
import RunbookCore

/// `gluster.georep.config`: set (or reset) one session option; undo restores the previous value.
///
/// Reads with `gluster --mode=script --xml volume geo-replication P S config` (get-all; `--xml`
/// before the verb: after `config` it is not parsed). Sets and resets run in text mode with no
/// `--xml` at all (`config KEY VALUE`, `config !KEY`), since every word after `config` is taken
/// as part of the option. Keys are compared with `-` and `_` as the same character, as gluster does.
public struct GeoRepConfigAction: ActionType, ReprobingAction {
    /// Seconds between verify attempts.
    public var verifyDelay: Double

    /// Creates the type.
    public init(verifyDelay: Double = 2) { self.verifyDelay = verifyDelay }

    /// 10.3 defaults (geo-replication/gsyncd.conf.in) of the keys a runbook is likely to touch:
    /// restoring one of these resets the key (`config !KEY`) instead of setting it explicitly.
    public static let defaults: [String: String] = [
        "sync_method": "rsync", "special_sync_mode": "", "change_detector": "changelog",
        "gfid_conflict_resolution": "true",
        "use_meta_volume": "false", "ignore_deletes": "false", "checkpoint": "0", "ssh_port": "22", "sync_jobs": "3",
        "secondary_timeout": "120", "connection_timeout": "60", "replica_failover_interval": "1",
        "change_interval": "5",
        "max_rsync_retries": "10", "log_level": "INFO", "gluster_log_level": "INFO", "changelog_log_level": "INFO",
        "secondary_log_level": "INFO", "secondary_gluster_log_level": "INFO", "rsync_options": "",
        "rsync_ssh_options": "",
        "use_rsync_xattrs": "false", "sync_xattrs": "true", "sync_acls": "true", "access_mount": "false",
        "secondary_access_mount": "false", "log_rsync_performance": "false",
    ]

    public let descriptor = ActionDescriptor(
        name: "gluster.georep.config", kind: .action,
        summary:
            "Set (`value`) or reset (`reset: true`) one option of a geo-replication session. Setting any key but `checkpoint` restarts the session. 10.x names: sync-method (rsync|tarssh; use-tarssh is gone), special-sync-mode (partial|recover), gfid-conflict-resolution, change-detector (changelog|xsync), use-meta-volume; `-` and `_` are the same.",
        parameters: [
            GeoRepSessionAction.primary, GeoRepSessionAction.secondary,
            ParameterSpec(
                "key", .string, required: true,
                "the option, e.g. sync-method, special-sync-mode, gfid-conflict-resolution"),
            ParameterSpec("value", .string, "the value to set"),
            ParameterSpec("reset", .bool, "reset the option to its default (`config !KEY`) instead of setting it"),
        ],
        outputs: [
            OutputSpec("key", "string", "the option"),
            OutputSpec("value", "string", "its value after the step (empty when reset)"),
            OutputSpec("previous", "string", "its value before the step (null when it was not listed)"),
        ],
        changes: true, undo: .derived("set the previous value again, or reset the option when it was at its default"),
        idempotency:
            "the session's current value equals `value` (booleans in any spelling); for reset: the option is at its 10.3 default or empty"
    )

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let primary = arguments.string("primary") ?? ""
        let secondary = arguments.string("secondary") ?? ""
        let key = arguments.string("key") ?? ""
        let read = cli.geoRepConfigGet(primary, secondary)
        let apply =
            arguments.bool("reset") == true
            ? cli.geoRepConfigReset(primary, secondary, key)
            : cli.geoRepConfigSet(primary, secondary, key, arguments.string("value") ?? "")
        return [
            PlannedCommand(.probe, on: host.name, read), PlannedCommand(.apply, on: host.name, apply),
            PlannedCommand(.verify, on: host.name, read),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = ArgumentChecks.session(arguments)
        let reset = arguments.bool("reset") == true
        let value = arguments.string("value")
        if reset && value != nil { messages.append("give either `value` or `reset: true`, not both") }
        if !reset && value == nil { messages.append("give `value` (or `reset: true`)") }
        if let key = arguments.string("key"), !ArgumentChecks.isUnknown(key) {
            let normalized = GeoRepConfig.normalize(key)
            if key.hasPrefix("!") { messages.append("write the key without `!` and use `reset: true`") }
            if normalized == "use_tarssh" {
                messages.append("`use-tarssh` is not a 10.x config key: use key sync-method, value tarssh")
            }
            if normalized.hasPrefix("slave_") || normalized.hasPrefix("master_") {
                messages.append("10.x rejects `\(key)`: the keys are named secondary-*/primary-* now")
            }
            if normalized == "checkpoint", value == "now" {
                messages.append("use gluster.georep.checkpoint to set a checkpoint now")
            }
        }
        if let value, value == "--xml" || value.hasPrefix("--mode") {
            messages.append(
                "`value` '\(value)' would be stored as the option's value (gluster does not parse options after `config`)"
            )
        }
        return messages
    }

    struct Observed: Codable, Sendable {
        var key: String
        var previous: String?
        var previousIsDefault: Bool
    }

    static func isDefault(_ key: String, _ value: String?) -> Bool {
        guard let value, !value.isEmpty else { return true }
        guard let known = defaults[GeoRepConfig.normalize(key)] else { return false }
        return OptionValue.same(known, value)
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let primary = try context.required("primary")
        let secondary = try context.required("secondary")
        let key = try context.required("key")
        let config = try await GlusterClient(context).geoRepConfig(primary, secondary)
        let current = config[key]
        let observed = Observed(key: key, previous: current, previousIsDefault: Self.isDefault(key, current))
        let shown = current.map { $0.isEmpty ? "empty" : "'\($0)'" } ?? "not listed"
        let outputs: [String: Value] = [
            "key": .string(key), "value": current.map(Value.string) ?? .null,
            "previous": current.map(Value.string) ?? .null,
        ]
        if context.flag("reset") {
            let done = Self.isDefault(key, current)
            return Observation(
                done: done, summary: "\(key) is \(shown)\(done ? " (the default)" : "")", outputs: outputs,
                undoState: UndoJSON.encode(observed))
        }
        let wanted = context.arguments.string("value") ?? ""
        let done = current.map { OptionValue.same($0, wanted) } ?? false
        let restart = GeoRepConfig.normalize(key) == "checkpoint" ? "" : "; setting it restarts the session"
        return Observation(
            done: done,
            summary: done ? "\(key) is already '\(wanted)'" : "\(key) is \(shown), wanted '\(wanted)'\(restart)",
            outputs: outputs, undoState: UndoJSON.encode(observed))
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        guard let command = context.node.commands.first(where: { $0.purpose == .apply }) else {
            throw GlusterArgumentError(
                message: "step \(context.node.id): no command rendered for gluster.georep.config")
        }
        let result = try await GlusterClient(context).change(command.command)
        let key = context.arguments.string("key") ?? ""
        let reset = context.flag("reset")
        let value = reset ? "" : (context.arguments.string("value") ?? "")
        return EffectResult(
            succeeded: true,
            summary: reset ? "reset \(key) on \(context.host)" : "set \(key) to '\(value)' on \(context.host)",
            outputs: [
                "key": .string(key), "value": .string(value), "previous": observation.outputs["previous"] ?? .null,
            ], result: result)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        let primary = try context.required("primary")
        let secondary = try context.required("secondary")
        guard let before = UndoJSON.decode(Observed.self, undoState) else {
            return EffectResult(
                succeeded: false,
                summary:
                    "no previous value of \(context.arguments.string("key") ?? "the key") was journaled: cannot restore it"
            )
        }
        let client = GlusterClient(context)
        let current = try await client.geoRepConfig(primary, secondary)[before.key]
        if before.previousIsDefault {
            if Self.isDefault(before.key, current) {
                return EffectResult(succeeded: true, summary: "\(before.key) is at its default already")
            }
            let result = try await client.change(client.cli.geoRepConfigReset(primary, secondary, before.key))
            return EffectResult(succeeded: true, summary: "reset \(before.key) to its default", result: result)
        }
        let previous = before.previous ?? ""
        if let current, OptionValue.same(current, previous) {
            return EffectResult(succeeded: true, summary: "\(before.key) is '\(previous)' already")
        }
        let result = try await client.change(client.cli.geoRepConfigSet(primary, secondary, before.key, previous))
        return EffectResult(succeeded: true, summary: "set \(before.key) back to '\(previous)'", result: result)
    }
}
