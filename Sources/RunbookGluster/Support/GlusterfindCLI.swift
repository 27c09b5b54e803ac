import Foundation
import RunbookCore

/// Builds glusterfind command lines and knows where its state lives (GlusterFS 10.3, Debian 12:
/// `../shared/reference/drills-glusterfind-notes.md` §1.2-1.4).
///
/// Every glusterfind command of a session runs on the node that created it (its `status` files
/// are there), so the steps of a session are pinned to one host.
public struct GlusterfindCLI: Sendable, Hashable {
    /// The binary, from the inventory's `glusterfind` key.
    public var binary: String

    /// The inventory key that names the binary.
    public static let binaryKey = "glusterfind"
    /// Where Debian's glusterfs-client puts it (`#!/usr/bin/python3`).
    public static let defaultBinary = "/usr/bin/glusterfind"
    /// `session_dir` of tool.conf.
    public static let sessionRoot = "/var/lib/glusterd/glusterfind"
    /// Where `create` copies the session's public key; no Debian package makes it.
    public static let keysDirectory = "/var/lib/glusterd/glusterfind/.keys"
    /// The interpreter glusterfind's scripts name in their `#!` line on Debian 12 (changelog.py,
    /// which needs pyxattr, runs on every brick node under it): not whatever `python3` is on PATH.
    public static let defaultPython = "/usr/bin/python3"

    /// Creates a builder for `binary`.
    public init(binary: String = GlusterfindCLI.defaultBinary) {
        self.binary = binary
    }

    /// The builder for a host's inventory settings (its `glusterfind` key, or the default).
    public init(settings: HostSettings) {
        self.init(binary: settings[Self.binaryKey] ?? Self.defaultBinary)
    }

    /// `glusterfind create SESSION VOLUME`.
    public func create(_ session: String, _ volume: String) -> CommandSpec {
        CommandSpec(argv: [binary, "create", session, volume])
    }

    /// `glusterfind delete SESSION VOLUME`.
    public func delete(_ session: String, _ volume: String) -> CommandSpec {
        CommandSpec(argv: [binary, "delete", session, volume])
    }

    /// `glusterfind list` (every session of this node: `--session` fails for an unknown one).
    public var list: CommandSpec { CommandSpec(argv: [binary, "list"]) }

    /// `glusterfind pre --disable-partial --regenerate-outfile SESSION VOLUME OUTFILE`.
    ///
    /// `--disable-partial` makes a failed brick fail the command (without it the rest is written
    /// and it exits 0). `--regenerate-outfile` is passed every time: in 10.3 its only effect is to
    /// allow a `pre` while an earlier one is not posted (main.py `mode_pre`, the one place that reads
    /// it), which then lists from the same start again, and a replay of that longer list is right.
    public func pre(_ session: String, _ volume: String, outfile: String) -> CommandSpec {
        CommandSpec(argv: [binary, "pre", "--disable-partial", "--regenerate-outfile", session, volume, outfile])
    }

    /// `glusterfind post SESSION VOLUME`.
    public func post(_ session: String, _ volume: String) -> CommandSpec {
        CommandSpec(argv: [binary, "post", session, volume])
    }

    /// `/var/lib/glusterd/glusterfind/SESSION/VOLUME`.
    public static func sessionDirectory(_ session: String, _ volume: String) -> String {
        "\(sessionRoot)/\(session)/\(volume)"
    }

    /// Prints every status file of the session on a node as `PATH:VALUE`: `status` and
    /// `status.pre` on the node that created it, `<quoted brick>.status[.pre]` on each brick's node.
    public static func readStatus(_ session: String, _ volume: String) -> CommandSpec {
        CommandSpec(argv: [
            "find", sessionDirectory(session, volume), "-maxdepth", "1", "-type", "f", "-name", "*status*",
            "-exec", "grep", "-H", "", "{}", "+",
        ])
    }

    // MARK: Prerequisites Debian does not provide

    /// `test -d /var/lib/glusterd/glusterfind/.keys`.
    public static var keysCheck: CommandSpec { CommandSpec(argv: ["test", "-d", keysDirectory]) }

    /// Whether the interpreter imports the pyxattr API changelog.py calls (`xattr.list`,
    /// `xattr.getxattr`). python3-xattr has a module of the same name without `xattr.list`.
    public static func pyxattrCheck(python: String) -> CommandSpec {
        CommandSpec(argv: [python, "-c", "import xattr; xattr.list; xattr.getxattr"])
    }

    /// What is missing on a node, and how to fix it, from the two checks' results (nil: nothing).
    public static func missing(keys: CommandResult, pyxattr: CommandResult, python: String) -> [String] {
        var problems: [String] = []
        if keys.exitCode == 1 {
            problems.append(
                "\(keysDirectory) does not exist (no Debian package creates it; glusterfind create fails"
                    + " with \"Failed to copy public key\"): run `mkdir -p \(keysDirectory)`")
        } else if !keys.succeeded {
            problems.append("could not test for \(keysDirectory) (`test -d` \(CommandFailure.status(keys)))")
        }
        if !pyxattr.succeeded {
            let text = pyxattr.stderr + pyxattr.stdout
            if text.contains("No module named") {
                problems.append(
                    "\(python) cannot import xattr (Debian's glusterfs packages do not depend on"
                        + " python3-pyxattr; without it every incremental pre fails): run"
                        + " `apt-get install python3-pyxattr`"
                )
            } else if text.contains("has no attribute") {
                problems.append(
                    "\(python) imports an xattr module without the pyxattr API (`xattr.list`): that is"
                        + " python3-xattr, a different library; run `apt-get install python3-pyxattr` (and remove"
                        + " python3-xattr if it still shadows it)")
            } else if pyxattr.exitCode == 126 || pyxattr.exitCode == 127 {
                problems.append("\(python) is missing: install python3 (glusterfind's scripts run under it)")
            } else {
                let last = text.split(separator: "\n").last.map(String.init) ?? "no message"
                problems.append("\(python) -c 'import xattr' \(CommandFailure.status(pyxattr)): \(last)")
            }
        }
        return problems
    }
}

/// A value of the inventory and arguments that glusterfind steps share.
extension ActionContext {
    /// `nodes`, or the step's host; the step's host first, each once.
    func glusterfindNodes() -> [String] { GlusterfindNodes.of(arguments, host: host) }
}

enum GlusterfindNodes {
    static func of(_ arguments: ResolvedArguments, host: String) -> [String] {
        var nodes = [host]
        for node in arguments.strings("nodes") ?? [] where !nodes.contains(node) { nodes.append(node) }
        return nodes
    }

    /// The `nodes` parameter (every type of a session reads the brick nodes' files).
    static let parameter = ParameterSpec(
        "nodes", .stringList, hostReference: true,
        "the inventory hosts holding the volume's bricks, e.g. \"${{ hosts.secondary }}\" (default: the step's host)")
    static let session = ParameterSpec(
        "session", .string, required: true,
        "the glusterfind session name (letters, digits, _ and -; 2-256; not default)")
    static let volume = ParameterSpec("volume", .string, required: true, "the volume the session watches")

    /// glusterfind's own rules for a session name (main.py `validate_session_name`).
    static func check(_ arguments: ResolvedArguments) -> [String] {
        var messages = ArgumentChecks.volume(arguments)
        if let session = arguments.string("session"), !ArgumentChecks.isUnknown(session) {
            if session.range(of: "^[0-9A-Za-z_-]{2,256}$", options: .regularExpression) == nil {
                messages.append("`session` '\(session)' must be 2-256 letters, digits, _ or - (glusterfind's rule)")
            } else if session == "default" {
                messages.append("`session` 'default' is reserved by glusterfind (its query sessions)")
            }
        }
        return messages
    }
}
