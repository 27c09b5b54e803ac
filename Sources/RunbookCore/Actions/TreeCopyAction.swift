import Foundation

/// `tree.copy`: copies from `source` to `target` every entry tree.diff reports as `+` (only in the
/// source) or `~` (in both, different), and never touches a `-` entry (only in the target): the
/// "copy them" answer of the failback's `differences` gate (issue 21, case 8), which before could
/// only accept the differences for good or stop.
///
/// Two planned commands on the step's host, each an argv:
/// 1. ``TreePrograms/diff`` with the step's comparison settings (the same as the tree.diff step it
///    follows: `checksum`, `checksum_list`, `ignore`, the mtime switches, `xattrs`, the volume
///    checks) and `--write WORK/differences0`: every `+` and `~` path, NUL-separated, none left out
///    (tree.diff's `limit` is only what it lists);
/// 2. `rsync -aHAX --sparse --inplace --ignore-times --from0 --files-from=WORK/differences0
///    --ignore-missing-args --itemize-changes SRC/ DST/` under ``TreePrograms/itemize``:
///    `--ignore-times` because a `~ (content)` entry has the same size and mtime, `--inplace` so an
///    existing file keeps its inode (its gfid on GlusterFS), no `--delete` and no recursion
///    (`--files-from`), so nothing only the target has is removed.
///
/// Run a tree.diff after it: what is left is the `-` entries, and whatever changed meanwhile.
public struct TreeCopyAction: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "tree.copy", kind: .action,
        summary: "Copy from `source` to `target` every entry tree.diff finds only in the source (+) or different (~),"
            + " never removing what only the target has (-). Compare again with tree.diff.",
        parameters: [
            ParameterSpec("source", .string, required: true, "the reference tree (absolute path on the host)"),
            ParameterSpec("target", .string, required: true, "the tree the differing entries are copied to"),
            ParameterSpec(
                "work", .string, required: true,
                "a directory on the host for the list of differing paths (absolute path)"),
            ParameterSpec(
                "checksum", .any, "compare contents as tree.diff does: `all`, `none` (default), or a list of paths"),
            ParameterSpec(
                "checksum_list", .string, "a change list on the host: compare the contents of the paths it names"),
            ParameterSpec("ignore", .stringList, "names at the root never compared nor copied (as tree.diff)"),
            ParameterSpec("require_mounts", .bool, "fail unless source and target are mount points"),
            ParameterSpec("root_mtime", .bool, "as tree.diff (default true)"),
            ParameterSpec("dir_mtime", .bool, "as tree.diff (default true)"),
            ParameterSpec("xattrs", .bool, "as tree.diff (default false)"),
            ParameterSpec("sparse", .bool, "as tree.diff (default false)"),
        ] + TreeArguments.volumeParameters,
        outputs: [
            OutputSpec("differences", "int", "the `+`, `-` and `~` entries found before the copy"),
            OutputSpec("copied", "int", "the `+` and `~` paths handed to rsync"),
            OutputSpec("kept", "int", "the `-` entries (only in the target): left as they are"),
            OutputSpec("itemized", "int", "items rsync changed (its --itemize-changes lines)"),
            OutputSpec("lines", "list", "the differences found before the copy, as tree.diff lists them"),
            OutputSpec("duration", "duration", "how long the two commands took"),
        ],
        changes: true, undo: .declared,
        idempotency: "none: it compares every time; a second run copies nothing more")

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let python = host.settings[TreeReplayAction.pythonKey] ?? TreeReplayAction.defaultPython
        let source = arguments.string("source") ?? ""
        let target = arguments.string("target") ?? ""
        let list = "\(arguments.string("work") ?? "")/differences0"
        let diff = TreeDiffProbe.options(arguments, on: host) + ["--write=\(list)", "--", source, target]
        let rsync =
            [
                python, "-c", TreePrograms.itemize, "rsync", "-aHAX", "--sparse", "--inplace", "--ignore-times",
                "--from0", "--files-from=\(list)", "--ignore-missing-args", "--itemize-changes",
            ] + (arguments.strings("ignore") ?? []).map { "--exclude=/\($0)" } + [
                TreeReplayAction.slashed(source), TreeReplayAction.slashed(target),
            ]
        return [
            PlannedCommand(.apply, on: host.name, CommandSpec(argv: diff)),
            PlannedCommand(.apply, on: host.name, CommandSpec(argv: rsync)),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = TreeDiffProbe().check(arguments)
        messages += TreeArguments.paths(arguments, ["work"])
        return messages
    }

    public func runsEveryTime(_ arguments: ResolvedArguments) -> String? {
        "compares and copies every time (a second run copies nothing more): verify with tree.diff"
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        Observation(
            done: false,
            summary: "copies what \(context.arguments.string("target") ?? "") lacks or has different from"
                + " \(context.arguments.string("source") ?? "")")
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let planned = context.planned(.apply)
        guard planned.count == 2 else {
            return EffectResult(succeeded: false, summary: "tree.copy: \(planned.count) commands planned, not 2")
        }
        let started = ContinuousClock.now
        let diff = try await context.run(planned[0])
        guard diff.succeeded, let report = TreePrograms.report(TreePrograms.DiffReport.self, in: diff.stdout) else {
            return EffectResult(
                succeeded: false,
                summary: "the comparison on \(context.host) \(CommandFailure.status(diff)): "
                    + TreePrograms.message(diff) + " (nothing was copied)", result: diff)
        }
        var outputs: [String: Value] = [
            "differences": .int(report.differences), "copied": .int(report.onlySource + report.changed),
            "kept": .int(report.onlyTarget), "lines": .list(report.lines.map(Value.string)),
        ]
        let rsync = try await context.run(planned[1])
        let counted = TreePrograms.report(TreePrograms.ItemizeReport.self, in: rsync.stdout)
        outputs["itemized"] = counted.map { .int($0.itemized) } ?? .null
        guard rsync.succeeded, counted != nil else {
            return EffectResult(
                succeeded: false,
                summary: "the rsync of the differing paths on \(context.host) \(CommandFailure.status(rsync)): "
                    + TreePrograms.message(rsync) + " (run the step again)", outputs: outputs, result: rsync)
        }
        let elapsed = ContinuousClock.now - started
        outputs["duration"] = .duration(
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return EffectResult(
            succeeded: true,
            summary: "copied \(report.onlySource) entries only in the source and \(report.changed) different ones"
                + " onto \(context.arguments.string("target") ?? "") (\(counted?.itemized ?? 0) items changed);"
                + " \(report.onlyTarget) only in the target left as they are",
            outputs: outputs, result: rsync)
    }
}
