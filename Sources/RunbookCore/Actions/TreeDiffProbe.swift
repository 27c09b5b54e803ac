import Foundation

/// `tree.diff`: compares two trees on the step's host and says how many entries differ, the first
/// N as `+ - ~` lines, and how long it took: the evidence behind a commit gate.
///
/// One planned command, ``TreePrograms/diff`` as `python3 -c PROGRAM ... -- SOURCE TARGET`. It
/// compares names, types, sizes, permission bits, owners, mtimes (to the second), symlink targets
/// and hard-link groups; content byte for byte for `checksum: all`, for a list of paths, or for
/// the paths a change list names (`checksum_list`). `+ P` is only in the source (the target lacks
/// it), `- P` only in the target, `~ P (what)` in both but different; a name with a control
/// byte or `\` is spelled as rsync spells it (`\#012`). Extended attributes, POSIX ACLs included,
/// with `xattrs: true`; holes on one side only with `sparse: true`; a symlink's own mtime and
/// allocated blocks otherwise are not compared.
///
/// As a probe it can be a step's `expect` (`outputs.differences == 0`, the default), an `until`
/// gate's `condition`, and its outputs are the evidence a commit gate's prompt shows.
public struct TreeDiffProbe: ActionType {
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "tree.diff", kind: .probe,
        summary: "Compare two trees on the step's host (names, types, sizes, modes, owners, mtimes, symlinks, hard "
            + "links; contents with `checksum`): the number of differences and the first N as + - ~ lines.",
        parameters: [
            ParameterSpec("source", .string, required: true, "the reference tree (absolute path on the host)"),
            ParameterSpec("target", .string, required: true, "the tree compared with it"),
            ParameterSpec(
                "checksum", .any,
                "compare contents: `all`, `none` (default), or a list of paths (relative to the trees)"),
            ParameterSpec(
                "checksum_list", .string,
                "a change list on the host (glusterfind's format): compare the contents of the paths it names"),
            ParameterSpec("limit", .int, "how many differences to list (default 20, at most 1000)"),
            ParameterSpec(
                "ignore", .stringList,
                "names at the root to leave out, e.g. [.trashcan, .glusterfs-anonymous-inode-*] (a trailing * is a prefix)"
            ),
            ParameterSpec("require_mounts", .bool, "fail unless source and target are mount points"),
            ParameterSpec(
                "root_mtime", .bool,
                "compare the two roots' own mtimes (default true; a geo-rep secondary's root keeps its own mtime)"),
            ParameterSpec(
                "dir_mtime", .bool,
                "compare directories' mtimes (default true; geo-rep with change_detector changelog does not carry them: a directory gets the time the secondary applied its entries)"
            ),
            ParameterSpec(
                "xattrs", .bool,
                "also compare extended attributes, POSIX ACLs included (default false: two more system calls per entry"
                    + " and name; on GlusterFS the mounts need `-o acl` for the ACLs to be seen at all)"),
            ParameterSpec(
                "sparse", .bool,
                "also say when a file has holes on one side only (`~ P (sparse -> allocated)`: copied without"
                    + " rsync's -S, it takes its whole size; default false)"),
        ] + TreeArguments.volumeParameters,
        outputs: [
            OutputSpec("differences", "int", "entries that differ (each entry under a one-sided directory counts)"),
            OutputSpec("lines", "list", "the first `limit` differences: `+ PATH`, `- PATH`, `~ PATH (what differs)`"),
            OutputSpec(
                "listing", "string",
                "the same lines as one text, one per line (and `... N more` when there are more): for a gate's prompt"),
            OutputSpec("only_source", "int", "entries only the source has"),
            OutputSpec("only_target", "int", "entries only the target has"),
            OutputSpec("changed", "int", "entries in both that differ"),
            OutputSpec("entries", "int", "entries compared (the union of both trees)"),
            OutputSpec("compared", "int", "files compared by content"),
            OutputSpec("duration", "duration", "how long the walk took on the host"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.differences == 0")

    static let maximumLimit = 1000

    /// `none`, `all`, or `listed` with the paths.
    static func checksum(_ arguments: ResolvedArguments) -> (mode: String, paths: [String]) {
        var mode = "none"
        var paths: [String] = []
        switch arguments["checksum"] {
        case .string(let text)?: mode = text
        case .bool(let flag)?: mode = flag ? "all" : "none"
        case .list?:
            paths = arguments.strings("checksum") ?? []
            mode = "listed"
        default: break
        }
        if mode == "none", arguments.string("checksum_list") != nil { mode = "listed" }
        return (mode, paths)
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let python = host.settings[TreeReplayAction.pythonKey] ?? TreeReplayAction.defaultPython
        let limit = min(max(arguments.int("limit") ?? 20, 0), Self.maximumLimit)
        let (mode, paths) = Self.checksum(arguments)
        var argv = [python, "-c", TreePrograms.diff, "--limit=\(limit)", "--checksum=\(mode)"]
        argv += (arguments.strings("ignore") ?? []).map { "--ignore=\($0)" }
        argv += paths.map { "--path=\($0)" }
        if let list = arguments.string("checksum_list") { argv.append("--list=\(list)") }
        if arguments.bool("require_mounts") == true { argv.append("--mounts") }
        if arguments.bool("root_mtime") == false { argv.append("--no-root-mtime") }
        if arguments.bool("dir_mtime") == false { argv.append("--no-dir-mtime") }
        if arguments.bool("xattrs") == true { argv.append("--xattrs") }
        if arguments.bool("sparse") == true { argv.append("--sparse") }
        argv += TreeArguments.volumes(arguments)
        argv += ["--", arguments.string("source") ?? "", arguments.string("target") ?? ""]
        return [PlannedCommand(.probe, on: host.name, CommandSpec(argv: argv))]
    }

    /// The program's argv (the interpreter, the program, its options; not the two trees) for these
    /// arguments: tree.copy runs the same comparison.
    static func options(_ arguments: ResolvedArguments, on host: RenderHost) -> [String] {
        let argv = TreeDiffProbe().commands(for: arguments, on: host)[0].command.argv
        return Array(argv.dropLast(3))
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = TreeArguments.paths(arguments, ["source", "target", "checksum_list"])
        messages += TreeArguments.overlap(arguments) + TreeArguments.ignore(arguments)
        if case .string(let text)? = arguments["checksum"], !text.contains("${{"), !["all", "none"].contains(text) {
            messages.append("`checksum` '\(text)' must be `all`, `none` or a list of paths")
        }
        for path in (arguments.strings("checksum") ?? []) where !path.contains("${{") && !ChangeList.isInside(path) {
            messages.append("`checksum` path '\(path)' must be relative to the trees (no leading /, no . or ..)")
        }
        if let limit = arguments.int("limit"), !(0...Self.maximumLimit).contains(limit) {
            messages.append("`limit` \(limit) must be between 0 and \(Self.maximumLimit)")
        }
        return messages
    }

    /// The listed lines as one text, saying how many more there are.
    static func listing(_ lines: [String], of differences: Int) -> String {
        var text = lines.joined(separator: "\n")
        if differences > lines.count { text += (lines.isEmpty ? "" : "\n") + "... \(differences - lines.count) more" }
        return text
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        guard let command = context.planned(.probe).first else { return Observation(done: true, summary: "no command") }
        let result = try await context.run(command)
        guard result.succeeded, let report = TreePrograms.report(TreePrograms.DiffReport.self, in: result.stdout) else {
            throw TreeProgramError(
                message:
                    "tree.diff on \(context.host) \(CommandFailure.status(result)): \(TreePrograms.message(result))")
        }
        let outputs: [String: Value] = [
            "differences": .int(report.differences), "lines": .list(report.lines.map(Value.string)),
            "listing": .string(Self.listing(report.lines, of: report.differences)),
            "only_source": .int(report.onlySource), "only_target": .int(report.onlyTarget),
            "changed": .int(report.changed), "entries": .int(report.entries), "compared": .int(report.compared),
            "duration": .duration(report.seconds),
        ]
        let source = context.arguments.string("source") ?? ""
        let target = context.arguments.string("target") ?? ""
        let took = String(format: "%.1f s", report.seconds)
        let summary: String
        if report.differences == 0 {
            summary = "\(target) matches \(source): \(report.entries) entries, \(report.compared) by content (\(took))"
        } else {
            let first = report.lines.first.map { "; first: \($0)" } ?? ""
            summary =
                "\(report.differences) difference(s) between \(source) and \(target) (\(report.onlySource) only"
                + " in the source, \(report.onlyTarget) only in the target, \(report.changed) changed; \(took))\(first)"
        }
        return Observation(done: true, summary: summary, outputs: outputs, result: result)
    }
}
