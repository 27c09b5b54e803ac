import Foundation

/// `tree.replay`: applies a change list (glusterfind's format) from a source tree to a target tree
/// on the step's host, in the order that is safe when the list's lines are not causal.
///
/// Two planned commands, both on the step's host, each an argv (no shell anywhere):
/// 1. ``TreePrograms/replay``: renames on the target (old name there, new one not), deletes
///    ("remove if present"; a path the source still has is copied instead), then the reconcile of
///    the listed paths' directories by name, which removes what a rename + modify left behind
///    (glusterfind lists only `MODIFY new`, upstream issue 3804) and finds what no line names;
///    it writes the list of paths for
/// 2. `rsync -aHAX --from0 --files-from=WORK/copy0 --ignore-missing-args SRC/ DST/`: NEW, MODIFY
///    and rename targets, what the reconcile found, and the reconciled directories themselves for
///    their times and modes (`--files-from` implies `-R` and does not recurse).
///
/// The notes' lab recipe (§1.9 item 5) reconciles with `rsync -a -d --delete` over the parent
/// directories instead. That compares every entry of every touched directory on both sides by
/// `lstat`: with 1% of 50,000 files changed across 500 directories it took 1.05 s of a 1.5 s
/// replay in the benchmark, more than a whole walk of the tree. Comparing names (`readdir` only)
/// removes the same stale names and leaves content to the one rsync of what changed; an entry the
/// list does not name and that differs only in content is left for tree.diff to show. With `since`
/// (the window's start), a name only the target has and that changed there during the window (a
/// split-brain write) is kept, not removed, so that tree.diff and the commit gate show it.
///
/// rsync runs under ``TreePrograms/itemize`` so its itemized lines are counted on the host, not
/// carried back. What it cannot make exact, `tree.diff` reports: a rename + modify across
/// directories (the old directory is in no line), a new hard link to a file in another directory,
/// a file written on both sides (the source's version wins).
///
/// Both trees are paths on the step's host (in a real site: on a node of site B, the promoted
/// secondary's FUSE mount and the original primary's volume mounted over the WAN).
public struct TreeReplayAction: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "tree.replay", kind: .action,
        summary: "Apply a glusterfind change list from `source` to `target` on the step's host: renames, deletes, a"
            + " by-name reconcile of the listed paths' directories, then one rsync of what changed. Verify with"
            + " tree.diff.",
        parameters: [
            ParameterSpec("source", .string, required: true, "the tree the list describes (absolute path on the host)"),
            ParameterSpec("target", .string, required: true, "the tree the changes are applied to (absolute path)"),
            ParameterSpec(
                "list", .string, required: true,
                "the change list on the host, as glusterfind writes it (encoded, space-separated)"),
            ParameterSpec("work", .string, "directory for the NUL-separated rsync list (default LIST.replay)"),
            ParameterSpec(
                "since", .any,
                "the window's start (glusterfind.changes' outputs.start): names only the target has that changed"
                    + " there since are kept for tree.diff to show, not removed as stale"),
            ParameterSpec(
                "ignore", .stringList,
                "names at the root never touched nor copied, e.g. [.trashcan, .glusterfs-anonymous-inode-*] (a trailing * is a prefix)"
            ),
            ParameterSpec(
                "identity", .string,
                "the extended attribute that names an entry across the two trees (default glusterfs.gfid.string,"
                    + " the gfid a GlusterFS FUSE mount shows, which geo-replication keeps): a name only the target"
                    + " has is removed only when the source has its identity under another name, otherwise kept for"
                    + " tree.diff to show (never synced before the primary was lost)"),
            ParameterSpec(
                "require_mounts", .bool,
                "refuse unless source and target are mount points (an unmounted FUSE mount point is an empty dir)"),
            ParameterSpec(
                "fenced", .any,
                "when the target was made read-only for the failback (epoch seconds or a timestamp): an entry of the"
                    + " target whose ctime is between `since` and this was written there by its own clients during the"
                    + " window, and is kept, not overwritten nor removed (later changes are the pre-copy's or this"
                    + " replay's own); without it, every change since `since` counts"),
        ] + TreeArguments.volumeParameters,
        outputs: [
            OutputSpec("renamed", "int", "renames applied on the target"),
            OutputSpec("renames_skipped", "int", "renames not applied (old name absent, new one present, symlink)"),
            OutputSpec("deleted", "int", "deletes applied (a file, or a whole tree)"),
            OutputSpec("deletes_absent", "int", "deletes of paths the target did not have"),
            OutputSpec("deletes_kept", "int", "deletes of paths the source has again: copied instead"),
            OutputSpec("removed_stale", "int", "names only the target had in a reconciled directory: removed"),
            OutputSpec("kept_recent", "int", "such names kept because they changed on the target since `since`"),
            OutputSpec(
                "kept_unsynced", "int",
                "such names kept because the source has nothing with their identity (never synced?)"),
            OutputSpec("unsynced", "list", "the first 20 of those"),
            OutputSpec(
                "kept_changed", "int",
                "listed paths whose entry the target changed itself during the window (`since`..`fenced`):"
                    + " kept, not overwritten nor removed"),
            OutputSpec("changed", "list", "the first 20 of those"),
            OutputSpec(
                "added_unlisted", "int",
                "names only the source had that no line named and that changed there during the window: copied"),
            OutputSpec(
                "left_absent", "int",
                "names only the source has that no line names and that did not change there during the window"
                    + " (deleted or renamed on the target): not copied back"),
            OutputSpec("absent", "list", "the first 20 of those"),
            OutputSpec(
                "rejoined", "int",
                "names with a comma glusterfind had split into several lines (its hard-link separator): joined back"),
            OutputSpec("lines", "map", "lines of the list per type (NEW, MODIFY, RENAME, DELETE)"),
            OutputSpec("copied", "int", "paths in the rsync list (incl. the reconciled directories, hard links)"),
            OutputSpec("dirs", "int", "directories reconciled"),
            OutputSpec("itemized", "int", "items rsync changed (its --itemize-changes lines)"),
            OutputSpec("removed", "list", "the first 20 stale names removed"),
            OutputSpec("skipped", "list", "the first 20 renames, deletes and stale names not applied, with why"),
            OutputSpec("duration", "duration", "how long the two commands took"),
        ],
        changes: true, undo: .declared,
        idempotency: "none: it runs every time; a second run changes nothing more (each step checks first)")

    /// What names an entry across the two volumes: the gfid, as a GlusterFS FUSE mount shows it
    /// (`fuse-bridge.c`, `VIRTUAL_GFID_XATTR_KEY_STR`, v10.3). Geo-replication creates each entry
    /// on the other volume with the same gfid, and a rename keeps it.
    public static let defaultIdentity = "glusterfs.gfid.string"

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
        replay.append("--identity=\(arguments.string("identity") ?? Self.defaultIdentity)")
        replay += Self.time("since", arguments)
        if arguments.bool("require_mounts") == true { replay.append("--mounts") }
        replay += Self.time("fenced", arguments)
        replay += TreeArguments.volumes(arguments)
        let rsync =
            [
                python, "-c", TreePrograms.itemize, "rsync", "-aHAX", "--sparse", "--inplace", "--from0",
                "--files-from=\(work)/copy0", "--exclude-from=\(work)/exclude0",
                "--ignore-missing-args", "--itemize-changes",
            ] + ignore.map { "--exclude=/\($0)" } + [Self.slashed(source), Self.slashed(target)]
        return [
            PlannedCommand(.apply, on: host.name, CommandSpec(argv: replay)),
            PlannedCommand(.apply, on: host.name, CommandSpec(argv: rsync)),
        ]
    }

    /// `--NAME=EPOCH` for a time argument, none when it is absent. Known only once an earlier step
    /// ran (glusterfind.changes' outputs.start), the plan shows the argument with its `${{ ... }}`
    /// text, which the run fills in.
    static func time(_ name: String, _ arguments: ResolvedArguments) -> [String] {
        guard let value = arguments[name], value != .null else { return [] }
        if let epoch = Self.epoch(value) { return ["--\(name)=\(epoch)"] }
        return value.renderedForText.contains("${{") ? ["--\(name)=\(value.renderedForText)"] : []
    }

    /// A timestamp, a number or a string of either (a command's output: surrounding blanks and
    /// newlines are dropped), as epoch seconds; nil for anything else.
    static func epoch(_ value: Value) -> Int? {
        switch value {
        case .timestamp(let date): return Int(date.timeIntervalSince1970.rounded(.down))
        case .int(let number): return number
        case .double(let number): return Int(number.rounded(.down))
        case .string(let untrimmed):
            let text = untrimmed.trimmingCharacters(in: .whitespacesAndNewlines)
            if let number = Int(text) { return number }
            return Value.parseTimestamp(text).map { Int($0.timeIntervalSince1970.rounded(.down)) }
        default: return nil
        }
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = TreeArguments.paths(arguments, ["source", "target", "list", "work"])
        messages += TreeArguments.overlap(arguments) + TreeArguments.ignore(arguments)
        for name in ["since", "fenced"] {
            if let value = arguments[name], value != .null, !value.renderedForText.contains("${{"),
                Self.epoch(value) == nil
            {
                messages.append(
                    "`\(name)` must be a timestamp or epoch seconds"
                        + (name == "since" ? " (glusterfind.changes' outputs.start)" : ""))
            }
        }
        return messages
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
        guard planned.count == 2 else {
            return EffectResult(succeeded: false, summary: "tree.replay: \(planned.count) commands planned, not 2")
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
            "deletes_kept": .int(report.deletesKept), "removed_stale": .int(report.removedStale),
            "kept_recent": .int(report.keptRecent), "kept_unsynced": .int(report.keptUnsynced),
            "unsynced": .list(report.unsynced.map(Value.string)), "added_unlisted": .int(report.addedUnlisted),
            "kept_changed": .int(report.keptChanged), "changed": .list(report.changed.map(Value.string)),
            "left_absent": .int(report.leftAbsent), "absent": .list(report.absent.map(Value.string)),
            "rejoined": .int(report.rejoined),
            "copied": .int(report.copy), "dirs": .int(report.dirs), "lines": .map(report.lines.mapValues { .int($0) }),
            "removed": .list(report.removed.map(Value.string)), "skipped": .list(report.skipped.map(Value.string)),
        ]
        let rsync = try await context.run(planned[1])
        let counted = TreePrograms.report(TreePrograms.ItemizeReport.self, in: rsync.stdout)
        outputs["itemized"] = counted.map { .int($0.itemized) } ?? .null
        guard rsync.succeeded, counted != nil else {
            return EffectResult(
                succeeded: false,
                summary: "the rsync of the changed paths on \(context.host) \(CommandFailure.status(rsync)): "
                    + TreePrograms.message(rsync) + " (the renames and deletes were applied; run the step again)",
                outputs: outputs, result: rsync)
        }
        let elapsed = ContinuousClock.now - started
        outputs["duration"] = .duration(
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        var summary =
            "replayed \(report.lines.values.reduce(0, +)) lines onto \(context.arguments.string("target") ?? ""):"
            + " \(report.renamed) renamed (\(report.renamesSkipped) skipped), \(report.deleted) deleted,"
            + " \(report.removedStale) stale names removed in \(report.dirs) directories, \(counted?.itemized ?? 0)"
            + " items copied"
        if report.keptRecent > 0 {
            summary += "; \(report.keptRecent) name(s) only the target has were kept: changed there during the window"
        }
        if report.keptChanged > 0 {
            summary +=
                "; \(report.keptChanged) listed path(s) were kept as the target has them, changed there during the"
                + " window: \(report.changed.prefix(5).joined(separator: ", ")); tree.diff shows them"
        }
        if report.leftAbsent > 0 {
            summary +=
                "; \(report.leftAbsent) name(s) only the source has, unchanged there in the window, were not copied"
                + " back: \(report.absent.prefix(5).joined(separator: ", "))"
        }
        if report.keptUnsynced > 0 {
            summary +=
                "; \(report.keptUnsynced) name(s) only the target has were kept, as the source has nothing with their"
                + " identity (written on the original primary and never synced before it was lost?):"
                + " \(report.unsynced.prefix(5).joined(separator: ", ")); tree.diff shows them"
        }
        return EffectResult(succeeded: true, summary: summary, outputs: outputs, result: rsync)
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

    /// The volume each tree must be a mount of (case 11 of issue 21: a wrong mount writes one
    /// volume's window into another).
    static let volumeParameters = [
        ParameterSpec(
            "source_volume", .string,
            "refuse unless the source is a GlusterFS FUSE mount of this volume (VOLUME or HOST:/VOLUME; the mount"
                + " table's entry for the path, /proc/mounts)"),
        ParameterSpec("target_volume", .string, "the same for the target"),
        ParameterSpec("mount_table", .string, "the mount table read for those checks (default /proc/mounts)"),
    ]

    static func volumes(_ arguments: ResolvedArguments) -> [String] {
        var argv: [String] = []
        if let volume = arguments.string("source_volume") { argv.append("--source-volume=\(volume)") }
        if let volume = arguments.string("target_volume") { argv.append("--target-volume=\(volume)") }
        if !argv.isEmpty, let table = arguments.string("mount_table") { argv.append("--mount-table=\(table)") }
        return argv
    }

    static func ignore(_ arguments: ResolvedArguments) -> [String] {
        (arguments.strings("ignore") ?? []).compactMap { name in
            guard !name.contains("${{") else { return nil }
            let stem = name.hasSuffix("*") ? String(name.dropLast()) : name
            let bad = stem.isEmpty || stem == "." || stem == ".." || stem.contains(where: { "/*?[\\".contains($0) })
            return bad
                ? "`ignore` '\(name)' must be a plain name at the root, or a prefix ending in * (no / ? [ \\)" : nil
        }
    }
}

/// A tree program failed or printed no report: its message, the command and the host.
public struct TreeProgramError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
