import Foundation
import RunbookCore

/// `gluster.volume.set` / `gluster.volume.reset`: one volume option; undo restores what was there.
///
/// Reads `volume info VOL --xml`, whose `<options>` lists the options set explicitly (so "not
/// listed" means "at its default"), and, for `set` when the option is not listed, `volume get VOL
/// OPTION --xml` for the effective default value. Short names (`changelog`) match the one listed
/// option they end (`changelog.changelog`).
public struct VolumeOptionAction: ActionType, ReprobingAction {
    /// `set` or `reset`.
    public enum Mode: String, Sendable { case set, reset }

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
        let option = ParameterSpec(
            "option", .string, required: true,
            "the option, e.g. features.read-only, geo-replication.indexing, changelog.changelog")
        switch mode {
        case .set:
            return ActionDescriptor(
                name: "gluster.volume.set", kind: .action,
                summary: "Set a volume option (`volume set VOL OPTION VALUE`).",
                parameters: [
                    volume, option,
                    ParameterSpec(
                        "value", .string, required: true, "the value (on/off, true/false, ... are the same boolean)"),
                ],
                outputs: [
                    OutputSpec(
                        "previous", "string",
                        "the explicitly set value before the step (null when it was at its default)"),
                    OutputSpec("value", "string", "the value after the step"),
                ],
                changes: true,
                undo: .derived("set the previous value again, or `volume reset VOL OPTION force` when it was not set"),
                idempotency:
                    "the current value (listed by volume info, else the default from volume get) equals `value`")
        case .reset:
            return ActionDescriptor(
                name: "gluster.volume.reset", kind: .action,
                summary:
                    "Reset a volume option to its default (`volume reset VOL OPTION [force]`; geo-replication.indexing needs force and no geo-rep session).",
                parameters: [volume, option, ParameterSpec("force", .bool, "pass `force`")],
                outputs: [
                    OutputSpec(
                        "previous", "string",
                        "the explicitly set value before the step (null when it was at its default)")
                ],
                changes: true, undo: .derived("set the previous value again (when it was set)"),
                idempotency: "the option is not set on the volume (volume info does not list it)")
        }
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterCLI(host: host)
        let volume = arguments.string("volume") ?? ""
        let option = arguments.string("option") ?? ""
        var probes = [cli.volumeInfo(volume)]
        let apply: CommandSpec
        switch mode {
        case .set:
            probes.append(cli.volumeGet(volume, option))
            apply = cli.volumeSet(volume, option, arguments.string("value") ?? "")
        case .reset:
            apply = cli.volumeReset(volume, option, force: arguments.bool("force") ?? false)
        }
        return probes.map { PlannedCommand(.probe, on: host.name, $0) } + [PlannedCommand(.apply, on: host.name, apply)]
            + probes.map { PlannedCommand(.verify, on: host.name, $0) }
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = ArgumentChecks.volume(arguments)
        if let option = arguments.string("option"), !ArgumentChecks.isUnknown(option), option == "all" {
            messages.append("`option: all` is not supported: name one option, so that it can be undone")
        }
        return messages
    }

    struct Observed: Codable, Sendable {
        var option: String
        var wasSet: Bool
        var previous: String?
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let volumeName = try context.required("volume")
        let option = try context.required("option")
        let client = GlusterClient(context)
        let volume = try await client.volume(volumeName)
        let listed = volume.option(option)
        let observed = Observed(option: listed?.name ?? option, wasSet: listed != nil, previous: listed?.value)
        var outputs: [String: Value] = ["previous": listed.map { .string($0.value) } ?? .null]
        switch mode {
        case .reset:
            let done = listed == nil
            let summary =
                listed.map { "\(option) is set to '\($0.value)' on \(volumeName)" }
                ?? "\(option) is not set on \(volumeName) (at its default)"
            return Observation(done: done, summary: summary, outputs: outputs, undoState: UndoJSON.encode(observed))
        case .set:
            let wanted = try context.required("value")
            var current = listed?.value
            var source = "set"
            if listed == nil {
                let (output, _) = try await client.run(client.cli.volumeGet(volumeName, option))
                let effective = try GlusterParse.volumeGet(output)
                current =
                    GlusterOption.find(option, in: effective)?.value
                    ?? (effective.count == 1 ? effective.first?.value : nil)
                source = "default"
            }
            outputs["value"] = current.map(Value.string) ?? .null
            let done = current.map { OptionValue.same($0, wanted) } ?? false
            let shown = current.map { "'\($0)' (\(source))" } ?? "unknown"
            let summary =
                done
                ? "\(option) is already '\(wanted)' on \(volumeName)"
                : "\(option) is \(shown) on \(volumeName), wanted '\(wanted)'"
            return Observation(done: done, summary: summary, outputs: outputs, undoState: UndoJSON.encode(observed))
        }
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        guard let command = context.node.commands.first(where: { $0.purpose == .apply }) else {
            throw GlusterArgumentError(message: "step \(context.node.id): no command rendered for \(descriptor.name)")
        }
        let result = try await GlusterClient(context).change(command.command)
        let volume = context.arguments.string("volume") ?? ""
        let option = context.arguments.string("option") ?? ""
        var outputs: [String: Value] = ["previous": observation.outputs["previous"] ?? .null]
        let summary: String
        switch mode {
        case .set:
            let value = context.arguments.string("value") ?? ""
            outputs["value"] = .string(value)
            summary = "set \(option) = \(value) on \(volume)"
        case .reset:
            summary = "reset \(option) on \(volume)"
        }
        return EffectResult(succeeded: true, summary: summary, outputs: outputs, result: result)
    }

    public func undo(_ context: ActionContext, undoState: String?) async throws -> EffectResult {
        if let declared = try await runDeclaredUndo(context) { return declared }
        let volumeName = try context.required("volume")
        guard let before = UndoJSON.decode(Observed.self, undoState) else {
            return EffectResult(
                succeeded: false,
                summary:
                    "no previous value of \(context.arguments.string("option") ?? "the option") on \(volumeName) was journaled: cannot restore it"
            )
        }
        let client = GlusterClient(context)
        let now = try await client.volume(volumeName).option(before.option)
        if before.wasSet, let previous = before.previous {
            if let now, OptionValue.same(now.value, previous) {
                return EffectResult(
                    succeeded: true, summary: "\(before.option) is '\(previous)' on \(volumeName) already")
            }
            let result = try await client.change(client.cli.volumeSet(volumeName, before.option, previous))
            return EffectResult(
                succeeded: true, summary: "set \(before.option) back to '\(previous)' on \(volumeName)", result: result)
        }
        guard now != nil else {
            return EffectResult(
                succeeded: true, summary: "\(before.option) is not set on \(volumeName): nothing to undo")
        }
        let result = try await client.change(client.cli.volumeReset(volumeName, before.option, force: true))
        return EffectResult(
            succeeded: true, summary: "reset \(before.option) on \(volumeName) (force): it was not set before",
            result: result)
    }
}
