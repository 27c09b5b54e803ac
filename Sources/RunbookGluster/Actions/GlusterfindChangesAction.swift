import Foundation
import RunbookCore

/// `glusterfind.changes`: `glusterfind pre --disable-partial --regenerate-outfile SESSION VOLUME
/// OUTFILE` on the session's node, then the checks that catch what 10.3 does not say.
///
/// After `pre` it reads the session's status files on every node of `nodes` and applies the
/// partial-history guard (``PartialHistoryGuard``: every brick's `status.pre` must reach the
/// session's end minus one rollover), and decodes the whole list on the node (an unknown type or a
/// malformed line fails here, before any replay). The list is only read: `glusterfind.post` moves
/// the session on, and only after the replay was verified.
public struct GlusterfindChangesAction: ActionType {
    /// Creates the type.
    public init() {}

    public let descriptor = ActionDescriptor(
        name: "glusterfind.changes", kind: .action,
        summary: "List what changed since the session time (`glusterfind pre --disable-partial`) into a file on the"
            + " node, check that no brick's history has a gap, and count the lines. Does not post: see"
            + " glusterfind.post.",
        parameters: [
            GlusterfindNodes.session, GlusterfindNodes.volume,
            ParameterSpec("outfile", .string, required: true, "where the list is written on the node (absolute path)"),
            GlusterfindNodes.parameter,
        ],
        outputs: [
            OutputSpec("list", "string", "the list's path on the node"),
            OutputSpec("bytes", "int", "its size"),
            OutputSpec("lines", "int", "its lines"),
            OutputSpec("new", "int", "NEW lines"), OutputSpec("modify", "int", "MODIFY lines"),
            OutputSpec("rename", "int", "RENAME lines"), OutputSpec("delete", "int", "DELETE lines"),
            OutputSpec("start", "timestamp", "the window's start: the session time the pre started from"),
            OutputSpec("end", "timestamp", "the window's end (`status.pre`): writes after it are in the next list"),
            OutputSpec("rollover", "int", "changelog.rollover-time of the volume, in seconds"),
            OutputSpec("bricks", "int", "brick status files the guard checked"),
        ],
        changes: true, undo: .none,
        idempotency: "none: each run lists the changes up to now (the session does not move until glusterfind.post)")

    /// How the list is counted: with the tree programs' interpreter (a built-in host key).
    static func python(_ host: HostSettings) -> String {
        host[TreeReplayAction.pythonKey] ?? TreeReplayAction.defaultPython
    }

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        let cli = GlusterfindCLI(settings: host.settings)
        let gluster = GlusterCLI(host: host)
        let session = arguments.string("session") ?? ""
        let volume = arguments.string("volume") ?? ""
        let outfile = arguments.string("outfile") ?? ""
        let status = GlusterfindCLI.readStatus(session, volume)
        var result = [
            PlannedCommand(.probe, on: host.name, status),
            PlannedCommand(.apply, on: host.name, cli.pre(session, volume, outfile: outfile)),
            PlannedCommand(.apply, on: host.name, gluster.volumeInfo(volume)),
            PlannedCommand(.apply, on: host.name, gluster.volumeGet(volume, "changelog.rollover-time")),
        ]
        result += GlusterfindNodes.of(arguments, host: host.name).map { PlannedCommand(.apply, on: $0, status) }
        let count = CommandSpec(argv: [Self.python(host.settings), "-c", TreePrograms.count, outfile])
        result.append(PlannedCommand(.apply, on: host.name, count))
        return result
    }

    public func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = GlusterfindNodes.check(arguments)
        if let outfile = arguments.string("outfile"), !ArgumentChecks.isUnknown(outfile), !outfile.hasPrefix("/") {
            messages.append("`outfile` '\(outfile)' must be an absolute path on the node")
        }
        return messages
    }

    public func runsEveryTime(_ arguments: ResolvedArguments) -> String? {
        "lists the changes up to the time it runs, every time"
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let session = try context.required("session")
        let volume = try context.required("volume")
        let status = try await GlusterfindSessionAction.status(context, session, volume)
        guard let start = status.session else {
            throw GlusterArgumentError(
                message: "no glusterfind session \(session) for \(volume) on \(context.host) (no status file in"
                    + " \(GlusterfindCLI.sessionDirectory(session, volume))): create it with glusterfind.session on"
                    + " this node (a session's commands run only where it was created)")
        }
        var summary =
            "lists the changes to \(volume) since \(Self.stamp(start)) into"
            + " \(context.arguments.string("outfile") ?? "")"
        if let pending = status.pending {
            summary += " (a pre up to \(Self.stamp(pending)) was not posted: this one lists from the same start again)"
        }
        return Observation(done: false, summary: summary)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        let session = try context.required("session")
        let volume = try context.required("volume")
        let outfile = try context.required("outfile")
        let cli = GlusterfindCLI(settings: context.settings)
        let client = GlusterClient(context)

        let pre = cli.pre(session, volume, outfile: outfile)
        let ran = try await context.run(pre)
        let output = GlusterOutput(command: pre, host: context.host, result: ran)
        if let why = Self.preFailure(output, session: session, volume: volume) {
            return EffectResult(succeeded: false, summary: "glusterfind pre on \(context.host) \(why)", result: ran)
        }

        let bricks = try await client.volume(volume).bricks
        let (rolloverOutput, _) = try await client.run(client.cli.volumeGet(volume, "changelog.rollover-time"))
        let options = try GlusterParse.volumeGet(rolloverOutput)
        let rollover = GlusterOption.find("changelog.rollover-time", in: options).flatMap { Int($0.value) } ?? 15

        var found: [PartialHistoryGuard.BrickEnd] = []
        var start: Int?
        var end: Int?
        let nodes = context.glusterfindNodes()
        for node in nodes {
            let status = try await GlusterfindSessionAction.status(context, session, volume, on: node)
            if node == context.host {
                start = status.session
                end = status.pending
            }
            found += status.brickEnds.map { PartialHistoryGuard.BrickEnd(node: node, brick: $0.key, end: $0.value) }
        }
        guard let start, let end else {
            return EffectResult(
                succeeded: false,
                summary: "glusterfind pre on \(context.host) exited 0 but left no status/status.pre in"
                    + " \(GlusterfindCLI.sessionDirectory(session, volume)): the list cannot be trusted", result: ran)
        }
        let problems = PartialHistoryGuard.problems(
            end: end, rollover: rollover, bricks: bricks, found: found, nodes: nodes)
        guard problems.isEmpty else {
            return EffectResult(
                succeeded: false,
                summary: "the list \(outfile) is partial, do not replay it: " + problems.joined(separator: "; "),
                result: ran)
        }

        let count = CommandSpec(argv: [Self.python(context.settings), "-c", TreePrograms.count, outfile])
        let counted = try await context.run(count)
        guard counted.succeeded, let report = TreePrograms.report(TreePrograms.CountReport.self, in: counted.stdout)
        else {
            return EffectResult(
                succeeded: false,
                summary: "the list \(outfile) on \(context.host) cannot be read as a change list:"
                    + " \(TreePrograms.message(counted))", result: counted)
        }
        let lines = report.lines
        var outputs: [String: Value] = [
            "list": .string(outfile), "bytes": .int(report.bytes), "lines": .int(lines.values.reduce(0, +)),
            "start": .timestamp(Date(timeIntervalSince1970: TimeInterval(start))),
            "end": .timestamp(Date(timeIntervalSince1970: TimeInterval(end))),
            "rollover": .int(rollover), "bricks": .int(found.count),
        ]
        for kind in ChangeList.Kind.allCases { outputs[kind.rawValue.lowercased()] = .int(lines[kind.rawValue] ?? 0) }
        let counts = ChangeList.Kind.allCases.map { "\(lines[$0.rawValue] ?? 0) \($0.rawValue)" }.joined(
            separator: ", ")
        return EffectResult(
            succeeded: true,
            summary: "listed \(outputs["lines"]?.renderedForText ?? "0") changes to \(volume) from \(Self.stamp(start))"
                + " to \(Self.stamp(end)) into \(outfile) (\(counts); \(found.count) brick(s) complete)",
            outputs: outputs, result: counted)
    }

    /// Why a `pre` cannot be used, or nil. glusterfind says some failures only in its text.
    ///
    /// A brick node glusterfind could not run on (down, unreachable over its root ssh, or its
    /// changelog.py failing) prints `NODE - pre failed; stdout (including remote stderr):`, then the
    /// node's output as a Python bytes repr (lab fixture: `b'ssh: connect to host gfs-a2 port 22: No
    /// route to host\r\n'`). With `--disable-partial` it exits 1; without it the rest is still
    /// written with exit 0. Either way the list is not used, and the message names the node and its
    /// last line.
    static func preFailure(_ output: GlusterOutput, session: String, volume: String) -> String? {
        let text = output.combined
        let failed = nodeFailures(text, task: "pre")
        let nodes = failed.map(\.node).joined(separator: ", ")
        let code = output.exitCode.map { "exited \($0)" } ?? "was killed"
        if text.contains("No module named 'xattr'") || text.contains("No module named \\'xattr\\'") {
            return "\(code): the brick nodes \(nodes) cannot import xattr: run"
                + " `apt-get install python3-pyxattr` on them (Debian's glusterfs packages do not depend on it)"
        }
        if text.contains("Invalid session") {
            return "\(GlusterfindParse.failure(output)): there is no session \(session) on this node; create it"
                + " with glusterfind.session here (a session's commands run only where it was created)"
        }
        if text.contains("is not online") {
            return "\(GlusterfindParse.failure(output)): start the volume \(volume) first"
        }
        if !failed.isEmpty {
            let causes = failed.map { "on \($0.node): \($0.cause)" }.joined(separator: "; ")
            return "\(code): pre failed \(causes). glusterfind runs on every brick node of \(volume) over root ssh,"
                + " so the list would miss \(nodes)'s bricks: it is not used and nothing is replayed. Bring \(nodes)"
                + " back (its sshd answering, `gluster pool list` showing it Connected), then run this step again"
                + " (`runbook resume`)"
        }
        if output.exitCode != 0 { return GlusterfindParse.failure(output) }
        if !text.contains("Generated output file") {
            return "exited 0 without saying `Generated output file`: \(output.start)"
        }
        return nil
    }

    /// The nodes glusterfind reports `NODE - TASK failed` for, each with the last line of what it
    /// printed there (its stdout, which carries the remote stderr, else its stderr), once per node.
    static func nodeFailures(_ text: String, task: String) -> [(node: String, cause: String)] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var found: [(node: String, cause: String)] = []
        let marker = " - \(task) failed"
        for (index, line) in lines.enumerated() {
            guard let range = line.range(of: marker) else { continue }
            let node = String(line[..<range.lowerBound])
            guard !found.contains(where: { $0.node == node }) else { continue }
            // The reprs follow: stdout's on the next line, then `stderr:` and stderr's.
            let following = lines[(index + 1)...].prefix(3)
            let reprs = following.filter { $0 != "stderr:" }.compactMap(pythonBytes)
            let cause =
                reprs.lazy.compactMap { $0.split(whereSeparator: \.isNewline).last.map(String.init) }
                .first { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? "no message"
            found.append((node, cause.trimmingCharacters(in: .whitespaces)))
        }
        return found
    }

    /// The text of a Python bytes repr line (`b'...'` or `b"..."`), its escapes decoded; nil when
    /// the line is not one.
    static func pythonBytes(_ line: String) -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 3, trimmed.hasPrefix("b'") || trimmed.hasPrefix("b\""),
            trimmed.last == trimmed.dropFirst().first
        else { return nil }
        var bytes: [UInt8] = []
        var characters = Array(trimmed.dropFirst(2).dropLast().utf8)[...]
        while let byte = characters.popFirst() {
            guard byte == UInt8(ascii: "\\"), let next = characters.popFirst() else {
                bytes.append(byte)
                continue
            }
            switch next {
            case UInt8(ascii: "n"): bytes.append(10)
            case UInt8(ascii: "r"): bytes.append(13)
            case UInt8(ascii: "t"): bytes.append(9)
            case UInt8(ascii: "x"):
                let hex = String(decoding: characters.prefix(2), as: UTF8.self)
                if let value = UInt8(hex, radix: 16), hex.count == 2 {
                    bytes.append(value)
                    characters = characters.dropFirst(2)
                } else {
                    bytes += [byte, next]
                }
            default: bytes.append(next)  // \\, \', \"
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func stamp(_ epoch: Int) -> String { PartialHistoryGuard.stamp(epoch) }
}
