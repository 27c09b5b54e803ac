import Foundation
import RunbookCore

/// One row of `glusterfind list`.
public struct GlusterfindSession: Sendable, Hashable {
    public var session: String
    public var volume: String
    /// As printed: `YYYY-MM-DD HH:MM:SS` in the node's local time zone (`datetime.fromtimestamp`),
    /// or `Session Corrupted` when its status file holds no number.
    public var time: String

    public init(session: String, volume: String, time: String) {
        self.session = session
        self.volume = volume
        self.time = time
    }

    /// Whether glusterfind could read the session's status file.
    public var isCorrupted: Bool { time == "Session Corrupted" }
}

/// The status files of a session on one node (`GlusterfindCLI.readStatus`).
public struct GlusterfindStatus: Sendable, Hashable {
    /// File name → its number (files that hold none are left out).
    public var files: [String: Int]

    public init(files: [String: Int] = [:]) { self.files = files }

    /// `status`: the session time, where the next `pre` starts (the node that created it).
    public var session: Int? { files["status"] }
    /// `status.pre`: the end of a `pre` not posted yet.
    public var pending: Int? { files["status.pre"] }
    /// Each brick's `*.status.pre` (its changelog history reached this far), by quoted brick path.
    public var brickEnds: [String: Int] {
        var result: [String: Int] = [:]
        for (name, value) in files where name.hasSuffix(".status.pre") && name != "status.pre" {
            result[String(name.dropLast(".status.pre".count))] = value
        }
        return result
    }
}

/// Parsers of glusterfind's text output (it has no `--xml`).
public enum GlusterfindParse {
    /// `glusterfind list`: the table (`SESSION VOLUME SESSION TIME`, a line of dashes, one row per
    /// session and volume), or `No sessions found.`.
    public static func sessions(_ output: GlusterOutput) throws -> [GlusterfindSession] {
        guard output.exitCode == 0 else {
            throw GlusterError(.commandFailed, output, Self.failure(output))
        }
        let lines = output.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        if lines == ["No sessions found."] { return [] }
        guard lines.count >= 2, lines[0].hasPrefix("SESSION"), lines[0].contains("VOLUME"),
            lines[1].allSatisfy({ $0 == "-" })
        else {
            throw GlusterError(.unparseable, output, "expected the glusterfind list table or `No sessions found.`")
        }
        return try lines.dropFirst(2).map { line in
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard fields.count == 3 else {
                throw GlusterError(.unparseable, output, "a row without SESSION VOLUME TIME: \(line)")
            }
            return GlusterfindSession(
                session: String(fields[0]), volume: String(fields[1]),
                time: fields[2].trimmingCharacters(in: .whitespaces))
        }
    }

    /// What `readStatus` printed: `DIR/NAME:VALUE` lines. A missing session directory is an empty
    /// result (find exits 1 saying so); an empty status file prints nothing.
    public static func status(_ output: GlusterOutput, directory: String) throws -> GlusterfindStatus {
        let missing = output.stderr.contains("No such file or directory") && output.stdout.isEmpty
        if missing { return GlusterfindStatus() }
        guard output.exitCode == 0 || output.exitCode == 1 else {
            throw GlusterError(.commandFailed, output, "could not read the session's status files in \(directory)")
        }
        var files: [String: Int] = [:]
        for line in output.stdout.split(separator: "\n") {
            guard line.hasPrefix(directory + "/"), let colon = line.lastIndex(of: ":") else {
                throw GlusterError(.unparseable, output, "expected PATH:VALUE lines under \(directory), got: \(line)")
            }
            let name = String(line[line.index(line.startIndex, offsetBy: directory.count + 1)..<colon])
            if let value = Int(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)) {
                files[name] = value
            }
        }
        return GlusterfindStatus(files: files)
    }

    /// The first line glusterfind printed (its failures go to stderr), for messages.
    static func failure(_ output: GlusterOutput) -> String {
        let code = output.exitCode.map { "exited \($0)" } ?? "was killed"
        let first = output.combined.split(separator: "\n").first.map(String.init) ?? "no output"
        if output.exitCode == 127 {
            return "\(code): glusterfind is not at `\(output.command.split(separator: " ").first ?? "")`"
                + " (Debian: package glusterfs-client; or set the inventory key `glusterfind`)"
        }
        return "\(code): \(first)"
    }

    /// Python's `urllib.parse.quote_plus(path)`: how glusterfind names a brick's status file.
    public static func quotePlus(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "): out += "+"
            default: out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// The partial-history guard (notes §1.8 item 4): after `pre`, every brick's `status.pre` (how far
/// its changelog history went) must reach the session's `status.pre` minus one rollover period.
/// A brick behind it had a gap (changelog toggled inside the window, notes §1.6 #2, where 10.3
/// returns a partial list with exit 0) or did not run; its changes after that point are missing.
public enum PartialHistoryGuard {
    /// One brick status file found on a node.
    public struct BrickEnd: Sendable, Hashable {
        public var node: String
        /// The quoted brick path (the file name without `.status.pre`).
        public var brick: String
        public var end: Int

        public init(node: String, brick: String, end: Int) {
            self.node = node
            self.brick = brick
            self.end = end
        }
    }

    /// The problems, each naming the node, the brick and the cause; empty when the list is whole.
    ///
    /// - Parameters:
    ///   - end: the session's `status.pre` (the pre's end).
    ///   - rollover: `changelog.rollover-time` in seconds.
    ///   - bricks: the volume's bricks (`volume info`), as `host:path`.
    ///   - found: every `*.status.pre` read on the nodes.
    public static func problems(end: Int, rollover: Int, bricks: [GlusterBrick], found: [BrickEnd], nodes: [String])
        -> [String]
    {
        var problems: [String] = []
        let floor = end - rollover
        for brick in found.sorted(by: { ($0.node, $0.brick) < ($1.node, $1.brick) }) where brick.end < floor {
            let path = brick.brick.removingPercentEncoding ?? brick.brick
            let behind = end - brick.end
            problems.append(
                "on \(brick.node): brick \(path) reached \(brick.end) (\(stamp(brick.end))), \(behind) s before the"
                    + " session's end \(end) (\(stamp(end))) and more than one rollover (\(rollover) s): its changelog"
                    + " history has a gap (changelog toggled in the window?) or the brick did not run, so the list"
                    + " misses its later changes")
        }
        // Replica bricks share a path on different nodes: count the files per quoted path.
        var expected: [String: [String]] = [:]
        for brick in bricks { expected[GlusterfindParse.quotePlus(brick.path), default: []].append(brick.name) }
        var seen: [String: Int] = [:]
        for brick in found { seen[brick.brick, default: 0] += 1 }
        for (quoted, names) in expected.sorted(by: { $0.key < $1.key }) where (seen[quoted] ?? 0) < names.count {
            problems.append(
                "no pre status for \(names.count - (seen[quoted] ?? 0)) of the bricks \(names.joined(separator: ", "))"
                    + " on \(nodes.joined(separator: ", ")): a node holding it is not in `nodes`, or its pre did not"
                    + " run"
            )
        }
        return problems
    }

    static func stamp(_ epoch: Int) -> String {
        Value.timestamp(Date(timeIntervalSince1970: TimeInterval(epoch))).renderedForText
    }
}
