import Foundation
import RunbookCore
import RunbookExecution
import Testing

/// Real trees in a scratch directory, and the tree types run for real on this machine through the
/// local transport (exactly the argv the plan shows).
final class Scratch: @unchecked Sendable {
    let root: URL
    var source: String { root.appendingPathComponent("src").path }
    var target: String { root.appendingPathComponent("dst").path }
    var list: String { root.appendingPathComponent("changes.txt").path }
    let files = FileManager.default

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-tree-\(UUID().uuidString)")
        try files.createDirectory(atPath: root.appendingPathComponent("src").path, withIntermediateDirectories: true)
        try files.createDirectory(atPath: root.appendingPathComponent("dst").path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func path(_ relative: String, in tree: String? = nil) -> String { (tree ?? source) + "/" + relative }

    func write(_ relative: String, _ text: String, in tree: String? = nil) throws {
        let path = path(relative, in: tree)
        try files.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try #require(files.createFile(atPath: path, contents: Data(text.utf8)), "cannot write \(path)")
    }

    func append(_ relative: String, _ text: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path(relative)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    func truncate(_ relative: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path(relative)))
        try handle.truncate(atOffset: 0)
        try handle.close()
    }

    func mkdir(_ relative: String, in tree: String? = nil) throws {
        try files.createDirectory(atPath: path(relative, in: tree), withIntermediateDirectories: true)
    }

    func move(_ from: String, _ to: String) throws { try files.moveItem(atPath: path(from), toPath: path(to)) }
    func remove(_ relative: String, in tree: String? = nil) throws {
        try files.removeItem(atPath: path(relative, in: tree))
    }
    func link(_ existing: String, _ new: String) throws {
        try files.createDirectory(
            atPath: (path(new) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try files.linkItem(atPath: path(existing), toPath: path(new))
    }

    func symlink(_ relative: String, to destination: String, in tree: String? = nil) throws {
        try files.createSymbolicLink(atPath: path(relative, in: tree), withDestinationPath: destination)
    }

    func chmod(_ relative: String, _ mode: Int, in tree: String? = nil) throws {
        try files.setAttributes([.posixPermissions: mode], ofItemAtPath: path(relative, in: tree))
    }

    func touch(_ relative: String, _ date: Date, in tree: String? = nil) throws {
        try files.setAttributes([.modificationDate: date], ofItemAtPath: path(relative, in: tree))
    }

    /// Sets every file's and directory's mtime an hour back (not symlinks'), so that changes made
    /// next have times of their own, as writes after a failover do.
    func age(_ tree: String? = nil, to date: Date? = nil) throws {
        let base = tree ?? source
        let old = date ?? Date().addingTimeInterval(-3600)
        var paths = [base]
        let walker = try #require(files.enumerator(atPath: base))
        while let relative = walker.nextObject() as? String { paths.append(base + "/" + relative) }
        // Deepest first, so that setting a file's time does not move its directory's again.
        for path in paths.sorted(by: { $0.count > $1.count }) {
            let attributes = try files.attributesOfItem(atPath: path)
            if attributes[.type] as? FileAttributeType == .typeSymbolicLink { continue }
            try files.setAttributes([.modificationDate: old], ofItemAtPath: path)
        }
    }

    /// The state before the window: the target is an exact copy (as geo-rep left it).
    /// The target as geo-replication made it: a copy of the source in which every file and
    /// directory keeps its identity (GlusterFS: the gfid; here `Tree.identity`, a user xattr each
    /// source entry gets first, that `rsync -X` copies and a rename keeps).
    func copyBaseline() throws {
        let identify = try Tree.run(
            Tree.python,
            [
                "-c",
                """
                import os, sys, uuid
                for top, dirs, files in os.walk(sys.argv[1]):
                    for path in [top] + [os.path.join(top, n) for n in dirs + files]:
                        if not os.path.islink(path) and sys.argv[2] not in os.listxattr(path):
                            os.setxattr(path, sys.argv[2], uuid.uuid4().hex.encode())
                """,
                source, Tree.identity,
            ])
        #expect(identify.status == 0, "\(identify.err)")
        let result = try Tree.run("/usr/bin/rsync", ["-aHAX", source + "/", target + "/"])
        #expect(result.status == 0, "\(result.err)")
    }

    func writeList(_ changes: [ChangeList.Change]) throws {
        try Data(ChangeList.encode(changes).utf8).write(to: URL(fileURLWithPath: list))
    }
}

enum Tree {
    static let python = "/usr/bin/python3"
    /// What names an entry in both scratch trees (tree.replay's `identity`; GlusterFS: the gfid).
    static let identity = "user.runbook.id"

    /// Why the real tree tests cannot run here, or nil.
    static var missing: String? {
        for tool in [python, "/usr/bin/rsync"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "needs \(tool)"
        }
        return nil
    }

    static func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errors, as: UTF8.self)
        )
    }

    /// `rsync -n -aHAX --delete --checksum --itemize-changes SRC/ DST/`: what a full verification lists.
    static func rsyncDryRun(_ scratch: Scratch) throws -> [String] {
        let result = try run(
            "/usr/bin/rsync",
            ["-n", "-aHAX", "--delete", "--checksum", "--itemize-changes", scratch.source + "/", scratch.target + "/"])
        #expect(result.status == 0, "\(result.err)")
        return result.out.split(separator: "\n").map(String.init)
    }

    /// YAML for a string, whatever it holds.
    static func quoted(_ text: String) -> String { "\"\(text.replacingOccurrences(of: "\"", with: "\\\""))\"" }

    static func replayNode(_ scratch: Scratch, with extra: String = "") throws -> PlanNode {
        try Lab.node(
            """
            action: tree.replay
            irreversible: true
            with: {source: \(quoted(scratch.source)), target: \(quoted(scratch.target)), \
            list: \(quoted(scratch.list))\(extra.contains("identity:") ? "" : ", identity: \(identity)")\(extra)}
            """, behindCommit: true)
    }

    static func diffNode(_ scratch: Scratch, with extra: String = "") throws -> PlanNode {
        try Lab.node(
            "probe: tree.diff\nwith: {source: \(quoted(scratch.source)), target: \(quoted(scratch.target))\(extra)}")
    }

    /// A context whose commands run on this machine.
    static func context(_ node: PlanNode, _ phase: PlannedCommand.Purpose) -> ActionContext {
        let transport = LocalTransport()
        return ActionContext(
            node: node, host: node.host, settings: Lab.settings(node.host), phase: phase, timeout: 300,
            runner: { _, command, timeout, limit in
                try await transport.run(command, timeout: timeout, outputLimit: limit)
            }
        )
    }

    static func replay(_ scratch: Scratch, with extra: String = "") async throws -> EffectResult {
        let node = try replayNode(scratch, with: extra)
        let type = TreeReplayAction()
        let observation = try await type.probe(context(node, .probe))
        return try await type.apply(context(node, .apply), observation: observation)
    }

    static func diff(_ scratch: Scratch, with extra: String = "") async throws -> Observation {
        try await TreeDiffProbe().probe(context(try diffNode(scratch, with: extra), .probe))
    }
}
