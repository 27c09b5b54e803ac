import Foundation

/// `tree.replay`: applies a change list (glusterfind's format) from a source tree to a target tree
/// on the step's host, in the order that is safe when the list's lines are not causal.
///
/// Three planned commands, all on the step's host, each an argv (no shell anywhere):
/// 1. ``TreePrograms/replay``: renames on the target (old name there, new one not), then deletes
///    ("remove if present"; a path the source still has is copied instead), writing two NUL lists;
/// 2. `rsync -aHAX --from0 --files-from=WORK/copy0 --ignore-missing-args SRC/ DST/`: NEW, MODIFY
///    and rename targets (`--files-from` implies `-R` and no recursion);
/// 3. `rsync -aHAX -d --delete --from0 --files-from=WORK/dirs0 --ignore-missing-args SRC/ DST/`:
///    the parent directory of every listed path and every renamed directory, each synced to its
///    immediate entries without recursing, which removes what a rename + modify left behind in
///    the same directory (glusterfind reports only `MODIFY new`, upstream issue 3804).
///
/// rsync runs under ``TreePrograms/itemize`` so its itemized lines are counted on the host, not
/// carried back. What it cannot make exact, `tree.diff` reports: a rename + modify across
/// directories (the old directory is in no line), a new hard link to a file in another directory.
///
/// Both trees are paths on the step's host (in a real site: on a node of site B, the promoted
/// secondary's FUSE mount and the original primary's volume mounted over the WAN).
public struct TreeReplayAction: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "tree.replay", kind: .action,
        summary: "Apply a glusterfind change list from `source` to `target` on the step's host: renames, deletes, "
            + "one rsync of the new and modified paths, then a non-recursive rsync --delete of their parent "
            + "directories. Verify with tree.diff.",
        parameters: [
            ParameterSpec("source", .string, required: true, "the tree the list describes (absolute path on the host)"),
            ParameterSpec("target", .string, required: true, "the tree the changes are applied to (absolute path)"),
            ParameterSpec(
                "list", .string, required: true,
                "the change list on the host, as glusterfind writes it (encoded, space-separated)"),
            ParameterSpec("work", .string, "directory for the two NUL-separated rsync lists (default LIST.replay)"),
            ParameterSpec(
                "ignore", .stringList, "names at the root never touched nor copied, e.g. [.glusterfs, .trashcan]"),
            ParameterSpec(
                "require_mounts", .bool,
                "refuse unless source and target are mount points (an unmounted FUSE mount point is an empty dir)"),
        ],
        outputs: [
            OutputSpec("renamed", "int", "renames applied on the target"),
            OutputSpec("renames_skipped", "int", "renames not applied (old name absent, new one present, symlink)"),
            OutputSpec("deleted", "int", "deletes applied (a file, or a whole tree)"),
            OutputSpec("deletes_absent", "int", "deletes of paths the target did not have"),
            OutputSpec("deletes_kept", "int", "deletes of paths the source has again: copied instead"),
            OutputSpec("lines", "map", "lines of the list per type (NEW, MODIFY, RENAME, DELETE)"),
            OutputSpec("copied", "int", "paths in the rsync list (NEW, MODIFY, rename targets, hard links)"),
            OutputSpec("dirs", "int", "directories reconciled (non-recursive rsync --delete)"),
            OutputSpec("itemized", "int", "items the first rsync changed (its --itemize-changes lines)"),
            OutputSpec("reconciled", "int", "items the directory reconcile changed (incl. `*deleting` lines)"),
            OutputSpec("skipped", "list", "the first 20 renames (and deletes) not applied, with why"),
            OutputSpec("duration", "duration", "how long the three commands took"),
        ],
        changes: true, undo: .declared,
        idempotency: "none: it runs every time; a second run changes nothing more (each step checks first)")

    /// The Python interpreter's inventory key (a built-in host key).
    public static let pythonKey = "python3"
    /// Its default: where Debian (and every gluster node's distribution) has it.
    public static let defaultPython = "/usr/bin/python3"

    /// `work`, or `LIST.replay`.
    static func work(_ arguments: ResolvedArguments) -> String {
        arguments.string("work") ?? ((arguments.string("list") ?? "") + ".replay")
    }

    /// A directory as an rsync source or destination: exactly one trailing `/`.
    static func slashed(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return path == "/" ? "/" : path + "/"
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let python = host.settings[Self.pythonKey] ?? Self.defaultPython
        let source = arguments.string("source") ?? ""
        let target = arguments.string("target") ?? ""
        let work = Self.work(arguments)
        let ignore = arguments.strings("ignore") ?? []
        var replay = [python, "-c", TreePrograms.replay, source, target, arguments.string("list") ?? "", work]
        replay += ignore.map { "--ignore=\($0)" }
        if arguments.bool("require_mounts") == true { replay.append("--mounts") }
        let excludes = ignore.map { "--exclude=/\($0)" }
        let copy = [
            "rsync", "-aHAX", "--from0", "--files-from=\(work)/copy0", "--ignore-missing-args", "--itemize-changes",
        ]
        let dirs = [
            "rsync", "-aHAX", "-d", "--delete", "--from0", "--files-from=\(work)/dirs0", "--ignore-missing-args",
            "--itemize-changes",
        ]
        let ends = [Self.slashed(source), Self.slashed(target)]
        let counted = [python, "-c", TreePrograms.itemize]
        return [
            PlannedCommand(.apply, on: host.name, CommandSpec(argv: replay)),
            PlannedCommand(.apply, on: host.name, CommandSpec(argv: counted + copy + excludes + ends)),
            PlannedCommand(.apply, on: host.name, CommandSpec(argv: counted + dirs + excludes + ends)),
        ]
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        TreeArguments.paths(arguments, ["source", "target", "list", "work"]) + TreeArguments.overlap(arguments)
            + TreeArguments.ignore(arguments)
    }

    public func runsEveryTime(_ arguments: ResolvedArguments) -> String? {
        "replays the list every time (a second run changes nothing more): verify with tree.diff"
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let list = context.arguments.string("list") ?? ""
        return Observation(done: false, summary: "replays \(list) onto \(context.arguments.string("target") ?? "")")
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let planned = context.planned(.apply)
        guard planned.count == 3 else {
            return EffectResult(succeeded: false, summary: "tree.replay: \(planned.count) commands planned, not 3")
        }
        let started = ContinuousClock.now
        let replay = try await context.run(planned[0])
        guard replay.succeeded, let report = TreePrograms.report(TreePrograms.ReplayReport.self, in: replay.stdout)
        else {
            return EffectResult(
                succeeded: false,
                summary: "replay on \(context.host) \(CommandFailure.status(replay)): "
                    + TreePrograms.message(replay) + " (nothing was copied)", result: replay)
        }
        var outputs: [String: Value] = [
            "renamed": .int(report.renamed), "renames_skipped": .int(report.renamesSkipped),
            "deleted": .int(report.deleted), "deletes_absent": .int(report.deletesAbsent),
            "deletes_kept": .int(report.deletesKept), "copied": .int(report.copy), "dirs": .int(report.dirs),
            "lines": .map(report.lines.mapValues { .int($0) }), "skipped": .list(report.skipped.map(Value.string)),
        ]
        var last = replay
        for (index, name) in [(1, "itemized"), (2, "reconciled")] {
            let result = try await context.run(planned[index])
            last = result
            let counted = TreePrograms.report(TreePrograms.ItemizeReport.self, in: result.stdout)
            outputs[name] = counted.map { .int($0.itemized) } ?? .null
            guard result.succeeded, counted != nil else {
                let what = index == 1 ? "the rsync of the listed paths" : "the directory reconcile"
                return EffectResult(
                    succeeded: false,
                    summary: "\(what) on \(context.host) \(CommandFailure.status(result)): "
                        + TreePrograms.message(result), outputs: outputs, result: result)
            }
        }
        let elapsed = ContinuousClock.now - started
        outputs["duration"] = .duration(
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let summary =
            "replayed \(report.lines.values.reduce(0, +)) lines onto \(context.arguments.string("target") ?? ""):"
            + " \(report.renamed) renamed (\(report.renamesSkipped) skipped), \(report.deleted) deleted,"
            + " \(outputs["itemized"]?.renderedForText ?? "?") copied,"
            + " \(outputs["reconciled"]?.renderedForText ?? "?") reconciled in \(report.dirs) directories"
        return EffectResult(succeeded: true, summary: summary, outputs: outputs, result: last)
    }
}

/// Checks `tree.replay` and `tree.diff` share on their resolved arguments (values not known yet,
/// `${{ ... }}`, are not checked).
enum TreeArguments {
    static func known(_ arguments: ResolvedArguments, _ name: String) -> String? {
        guard let value = arguments.string(name), !value.contains("${{") else { return nil }
        return value
    }

    static func paths(_ arguments: ResolvedArguments, _ names: [String]) -> [String] {
        names.compactMap { name in
            guard let value = known(arguments, name) else { return nil }
            return value.hasPrefix("/") ? nil : "`\(name)` '\(value)' must be an absolute path on the step's host"
        }
    }

    static func overlap(_ arguments: ResolvedArguments) -> [String] {
        guard let source = known(arguments, "source"), let target = known(arguments, "target") else { return [] }
        let a = TreeReplayAction.slashed(source)
        let b = TreeReplayAction.slashed(target)
        return a.hasPrefix(b) || b.hasPrefix(a) ? ["`source` and `target` overlap ('\(source)', '\(target)')"] : []
    }

    static func ignore(_ arguments: ResolvedArguments) -> [String] {
        (arguments.strings("ignore") ?? []).compactMap { name in
            guard !name.contains("${{") else { return nil }
            let bad = name.isEmpty || name == "." || name == ".." || name.contains(where: { "/*?[\\".contains($0) })
            return bad ? "`ignore` '\(name)' must be a plain name at the root (no / * ? [ \\)" : nil
        }
    }
}

/// A tree program failed or printed no report: its message, the command and the host.
public struct TreeProgramError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
