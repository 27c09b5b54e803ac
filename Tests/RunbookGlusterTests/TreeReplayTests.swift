import Foundation
import RunbookCore
import RunbookTestSupport
import Testing

/// `tree.replay` for real on plain directories: what the plan shows, then the replay of a window
/// of changes, verified by a full `rsync -n -aHAX --delete --checksum` and by `tree.diff`.
@Suite(.serialized) struct TreeReplayTests {
    @Test func plansTheProgramThenOneRsyncAsArgv() throws {
        let node = try Lab.node(
            """
            action: tree.replay
            irreversible: true
            with: {source: /mnt/b, target: /mnt/a/, list: /var/tmp/final.txt, ignore: [.trashcan], \
            since: 1796110378, require_mounts: true}
            """, behindCommit: true)
        #expect(node.commands.map(\.purpose) == [.apply, .apply])
        let argv = node.commands.map(\.command.argv)
        #expect(argv[0].prefix(3) == ["/usr/bin/python3", "-c", TreePrograms.replay])
        #expect(
            Array(argv[0].dropFirst(3)) == [
                "/mnt/b", "/mnt/a/", "/var/tmp/final.txt", "/var/tmp/final.txt.replay", "--ignore=.trashcan",
                "--identity=glusterfs.gfid.string", "--since=1796110378", "--mounts",
            ])
        #expect(argv[1].prefix(3) == ["/usr/bin/python3", "-c", TreePrograms.itemize])
        #expect(
            Array(argv[1].dropFirst(3)) == [
                "rsync", "-aHAX", "--sparse", "--inplace", "--from0", "--files-from=/var/tmp/final.txt.replay/copy0",
                "--exclude-from=/var/tmp/final.txt.replay/exclude0", "--ignore-missing-args", "--itemize-changes",
                "--exclude=/.trashcan", "/mnt/b/", "/mnt/a/",
            ])
        // No shell anywhere: every command is its own argv.
        #expect(!argv.contains { ["sh", "/bin/sh", "bash"].contains($0[0]) })
        #expect(TreeReplayAction().runsEveryTime(node.arguments) != nil)
        // The window's start as glusterfind.changes gives it (a timestamp) is the same option.
        let stamped = try Lab.node(
            """
            action: tree.replay
            irreversible: true
            with: {source: /mnt/b, target: /mnt/a, list: /l, since: "2026-12-01T07:32:58Z"}
            """, behindCommit: true)
        #expect(stamped.commands[0].command.argv.contains("--since=1796110378"))
    }

    /// A `since` known only at run time (an earlier step's output) is in the planned argv as its
    /// `${{ ... }}` text, so the command that runs is the planned one with the value filled in
    /// (found on the lab: the plan left `--since` out, the run added it).
    @Test func aSinceKnownOnlyAtRunTimeIsInThePlannedCommand() {
        let type = TreeReplayAction()
        let host = RenderHost(name: "gfs-b1", settings: HostSettings())
        let base: [String: Value] = ["source": .string("/mnt/b"), "target": .string("/mnt/a"), "list": .string("/l")]
        let deferred = "${{ steps.final-changes.outputs.start }}"
        let planned = type.commands(
            for: ResolvedArguments(base.merging(["since": .string(deferred)]) { $1 }, hasUnknowns: true), on: host)
        let ran = type.commands(
            for: ResolvedArguments(base.merging(["since": .int(1_796_110_378)]) { $1 }), on: host)
        #expect(planned[0].command.argv.last == "--since=\(deferred)")
        #expect(ran[0].command.argv.last == "--since=1796110378")
        #expect(planned.count == ran.count)
        for (plan, run) in zip(planned, ran) {
            #expect(PlanConformance.matches(plan.command.argv, run.command.argv))
        }
    }

    @Test func checksTheArguments() {
        let type = TreeReplayAction()
        func messages(_ values: [String: Value]) -> [String] { type.check(ResolvedArguments(values)) }
        let base: [String: Value] = ["source": .string("/mnt/b"), "target": .string("/mnt/a"), "list": .string("/l")]
        #expect(messages(base) == [])
        #expect(messages(base.merging(["target": .string("/mnt/b/sub")]) { $1 }).first?.contains("overlap") == true)
        #expect(messages(base.merging(["source": .string("mnt/b")]) { $1 }).first?.contains("absolute") == true)
        #expect(
            messages(base.merging(["ignore": .list([.string("a/b")])]) { $1 }).first?.contains("plain name") == true)
    }

    /// The whole vocabulary of a failover window on a tree with nested and empty directories, hard
    /// links, a symlink and names with spaces, newlines, `%`, commas and a leading `-`, in a list
    /// whose lines are not in causal order: afterwards a full rsync comparison lists nothing.
    @Test func replaysAWindowExactly() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        // Before the failover (the source is the promoted secondary; the target a copy of it).
        try s.write("a/b/c/f1", "one\n")
        try s.write("a/file", "two\n")
        try s.write("a/h1", "hard\n")
        try s.link("a/h1", "a/h2")
        try s.write("x/far", "far\n")
        try s.link("x/far", "y/far-link")
        try s.mkdir("empty")
        try s.mkdir("a/b/empty2")
        try s.write("sp ace/f 1", "space\n")
        try s.write("a/new\nline", "nl\n")
        try s.write("a/100%", "pc\n")
        try s.write("a/x,y", "comma\n")
        try s.write("-lead", "dash\n")
        try s.write("gone/deep/g", "g\n")
        try s.write("gone/g2", "g2\n")
        try s.write("trunc", "truncate me\n")
        try s.write("append", "append to me\n")
        try s.write("a/ren1", "r1\n")
        try s.write("a/ren2", "r2\n")
        try s.write("a/renmod", "rm\n")
        try s.write("movedir/m", "m\n")
        try s.write("movedir/sub/deeper", "d\n")
        try s.write("a/del", "del\n")
        try s.symlink("a/link", to: "file")
        try s.age()
        try s.copyBaseline()
        #expect(try Tree.rsyncDryRun(s) == [])

        // The window, on the source.
        try s.write("a/created", "new\n")
        try s.mkdir("newdir")
        try s.write("newdir/n e w%,-x", "nested new\n")
        try s.mkdir("empty new")
        try s.append("append", "more\n")
        try s.truncate("trunc")
        try s.remove("a/del")
        try s.remove("gone")
        try s.remove("a/b/empty2")
        try s.move("a/ren1", "a/ren1-new")
        try s.move("a/ren2", "sp ace/ren2 moved")
        try s.move("a/renmod", "a/renmod2")
        try s.append("a/renmod2", "modified after the rename\n")
        try s.move("movedir", "moved-dir")
        try s.write("moved-dir/newin", "n\n")
        try s.move("a/x,y", "a/x,y,z")
        try s.write("-lead2\nx%,y", "all of them\n")
        try s.link("a/file", "a/file-link")
        try s.append("a/new\nline", "more\n")
        try s.append("a/h1", "both names\n")
        try s.chmod("sp ace/f 1", 0o600)

        // What glusterfind lists for it: renames of what was renamed and then modified are lost
        // (only MODIFY a/renmod2); a directory's deletes come with its children's, in any order.
        try s.writeList([
            .init(.new, "moved-dir/newin"), .init(.delete, "gone"), .init(.new, "a/created"),
            .init(.modify, "append"), .init(.delete, "gone/deep/g"), .init(.modify, "trunc"),
            .init(.delete, "a/del"), .init(.rename, "a/ren1", to: "a/ren1-new"),
            .init(.rename, "a/ren2", to: "sp ace/ren2 moved"), .init(.modify, "a/renmod2"),
            .init(.rename, "movedir", to: "moved-dir"), .init(.delete, "gone/g2"), .init(.delete, "gone/deep"),
            .init(.new, "newdir"), .init(.new, "newdir/n e w%,-x"), .init(.new, "empty new"),
            .init(.delete, "a/b/empty2"), .init(.rename, "a/x,y", to: "a/x,y,z"), .init(.new, "-lead2\nx%,y"),
            .init(.new, "a/file-link"), .init(.modify, "a/new\nline"), .init(.modify, "a/h1"), .init(.modify, "a/h2"),
            .init(.modify, "sp ace/f 1"),
        ])

        let before = try await Tree.diff(s, with: ", checksum: all")
        #expect(before.outputs["differences"] != .int(0))

        let effect = try await Tree.replay(s)
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["renamed"] == .int(4))
        #expect(effect.outputs["renames_skipped"] == .int(0))
        // gone (its whole tree), a/del and a/b/empty2; gone/deep/g, gone/deep and gone/g2 went with gone.
        #expect(effect.outputs["deleted"] == .int(3) && effect.outputs["deletes_absent"] == .int(3))
        #expect(
            effect.outputs["lines"] == .map(["NEW": .int(7), "MODIFY": .int(7), "RENAME": .int(4), "DELETE": .int(6)]))
        #expect(effect.outputs["removed_stale"] == .int(1) && effect.outputs["removed"] == .list([.string("a/renmod")]))
        #expect(effect.outputs["added_unlisted"] == .int(0) && effect.outputs["kept_recent"] == .int(0))
        #expect(effect.outputs["duration"] != nil)

        #expect(try Tree.rsyncDryRun(s) == [])
        let after = try await Tree.diff(s, with: ", checksum: all")
        #expect(after.outputs["differences"] == .int(0), "\(after.outputs["lines"] ?? .null)")
        #expect(after.done)

        // Replaying again changes nothing more.
        let again = try await Tree.replay(s)
        #expect(again.succeeded && again.outputs["renamed"] == .int(0) && again.outputs["deleted"] == .int(0))
        #expect(again.outputs["itemized"] == .int(0) && again.outputs["removed_stale"] == .int(0))
        #expect(try Tree.rsyncDryRun(s) == [])
    }

    /// What the list cannot say, and so the replay cannot make exact (notes §1.9 item 5): a rename
    /// + modify across directories (only `MODIFY new` is listed, the old directory in no line),
    /// and a new hard link to a file in another directory. tree.diff and rsync both show them.
    @Test func whatCannotBeMadeExactIsShown() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("a/f", "f\n")
        try s.write("a/keep", "k\n")
        try s.mkdir("b")
        try s.write("x/src", "s\n")
        try s.mkdir("y")
        try s.age()
        try s.copyBaseline()
        try s.move("a/f", "b/f2")
        try s.append("b/f2", "modified\n")
        try s.link("x/src", "y/newlink")
        try s.writeList([.init(.modify, "b/f2"), .init(.new, "y/newlink")])

        let effect = try await Tree.replay(s)
        #expect(effect.succeeded, "\(effect.summary)")
        let diff = try await Tree.diff(s, with: ", checksum: all")
        // (a's mtime is right: the reconcile of the root, `./`, syncs its immediate entries, a included.)
        #expect(
            diff.outputs["lines"]
                == .list([
                    .string("- a/f"),
                    .string("~ x/src (hard links: x/src y/newlink -> x/src)"),
                    .string("~ y/newlink (hard links: x/src y/newlink -> y/newlink)"),
                ]))
        #expect(try Tree.rsyncDryRun(s) == ["*deleting   a/f", "hf          y/newlink => x/src"])
    }

    /// The reconcile removes a name only the target has (what a lost rename left) and copies a name
    /// only the source has that no line names; with `since`, a name the target got during the window
    /// (a split-brain write on the original primary) is kept, and tree.diff shows it.
    @Test func theReconcileKeepsWhatTheTargetWroteDuringTheWindow() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("a/x", "x\n")
        try s.write("a/y", "y\n")
        try s.age()
        try s.copyBaseline()
        try await Task.sleep(for: .seconds(1.1))
        let since = Int(Date().timeIntervalSince1970)
        try s.append("a/x", "more\n")
        try s.move("a/y", "a/y2")
        try s.append("a/y2", "renamed, then modified\n")
        try s.write("a/unlisted", "glusterfind split its name on a comma, say\n")
        try s.write("a/primary-only", "written on the original primary during the window\n", in: s.target)
        try s.writeList([.init(.modify, "a/x"), .init(.modify, "a/y2")])

        let effect = try await Tree.replay(s, with: ", since: \(since)")
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["removed"] == .list([.string("a/y")]))
        #expect(effect.outputs["kept_recent"] == .int(1) && effect.outputs["added_unlisted"] == .int(1))
        #expect(
            effect.outputs["skipped"]
                == .list([.string("kept a/primary-only: changed on the target during the window")]))
        let diff = try await Tree.diff(s, with: ", checksum: all")
        #expect(diff.outputs["lines"] == .list([.string("- a/primary-only")]))
    }

    /// Issue 12: data written on the original primary and never synced before it was lost (an
    /// unplanned failover). At failback it is on the target only, from before the window, like what
    /// a lost rename leaves; the root and every directory with a listed change are reconciled. A
    /// name is removed only when the source has its identity (the gfid) under another name: the
    /// lost rename's leftover goes, the never-synced files stay, and tree.diff (the commit gate's
    /// evidence) shows them. Before, both were removed as stale and tree.diff found 0 differences.
    @Test func aFileThePrimaryNeverSyncedIsKeptAndShownNotRemovedAsStale() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("top.txt", "top\n")
        try s.write("a/old", "old\n")
        try s.write("a/keep", "keep\n")
        try s.age()
        try s.copyBaseline()
        // Written on the primary after the last sync, then the primary was lost.
        try s.write("unsynced.txt", "written on the primary, never synced\n", in: s.target)
        try s.write("a/unsynced in a", "also never synced\n", in: s.target)
        try s.mkdir("a/unsynced-dir", in: s.target)
        try s.write("a/unsynced-dir/f", "a whole directory\n", in: s.target)
        try await Task.sleep(for: .seconds(1.1))
        let since = Int(Date().timeIntervalSince1970)
        // The window on the promoted secondary: the root and `a` change; a rename then a modify
        // that glusterfind lists as `MODIFY a/old2` alone (upstream issue 3804).
        try s.write("new-at-root.txt", "new\n")
        try s.move("a/old", "a/old2")
        try s.append("a/old2", "modified after the rename\n")
        try s.writeList([.init(.new, "new-at-root.txt"), .init(.modify, "a/old2")])

        let effect = try await Tree.replay(s, with: ", since: \(since)")
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["removed"] == .list([.string("a/old")]), "the lost rename's leftover: \(effect.outputs)")
        #expect(effect.outputs["kept_unsynced"] == .int(3), "\(effect.outputs)")
        var unsynced: Set<Value> = []
        if case .list(let names) = effect.outputs["unsynced"] { unsynced = Set(names) }
        #expect(unsynced == [.string("unsynced.txt"), .string("a/unsynced in a"), .string("a/unsynced-dir")])
        #expect(effect.summary.contains("never synced"), "\(effect.summary)")
        #expect(try String(contentsOfFile: s.path("unsynced.txt", in: s.target), encoding: .utf8).hasPrefix("written"))
        #expect(FileManager.default.fileExists(atPath: s.path("a/unsynced-dir/f", in: s.target)))
        let diff = try await Tree.diff(s, with: ", checksum: all")
        #expect(
            diff.outputs["lines"]
                == .list([
                    .string("- a/unsynced in a"), .string("- a/unsynced-dir"), .string("- a/unsynced-dir/f"),
                    .string("- unsynced.txt"),
                ]),
            "the gate's evidence shows them: \(diff.outputs)")

        // Trees without the attribute (another identity asked for): nothing only the target has is
        // removed, the leftover included; tree.diff shows it with the rest.
        let t = try Scratch()
        try t.write("a/old", "old\n")
        try t.age()
        try t.copyBaseline()
        try t.write("a/unsynced", "never synced\n", in: t.target)
        try t.move("a/old", "a/old2")
        try t.append("a/old2", "modified\n")
        try t.writeList([.init(.modify, "a/old2")])
        let unknown = try await Tree.replay(t, with: ", identity: user.runbook.none")
        #expect(unknown.succeeded && unknown.outputs["removed"] == .list([]), "\(unknown.outputs)")
        #expect(unknown.outputs["kept_unsynced"] == .int(2), "\(unknown.outputs)")
    }

    /// What the lab's failback showed: the reverse geo-rep session (by gfid) had made each renamed
    /// file's new name a hard link of the old one on the original primary, during the window (so
    /// the old names' ctime is inside it). The old names go; a file written there alone stays.
    @Test func aRenameThePreCopyLinkedIsCompletedAndItsLeftoverRemoved() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        for name in ["d/same", "d/cross", "d/renmod"] { try s.write(name, "\(name)\n") }
        try s.write("e/keep", "k\n")
        try s.age()
        try s.copyBaseline()
        try await Task.sleep(for: .seconds(1.1))
        let since = Int(Date().timeIntervalSince1970)
        // The promoted secondary: a rename in place, one across directories, a rename then a modify.
        try s.move("d/same", "d/same-renamed")
        try s.move("d/cross", "e/cross")
        try s.move("d/renmod", "d/renmod-new")
        try s.append("d/renmod-new", "modified after the rename\n")
        // The original primary after the pre-copy: the new names linked to the old files.
        for (old, new) in [("d/same", "d/same-renamed"), ("d/cross", "e/cross"), ("d/renmod", "d/renmod-new")] {
            try FileManager.default.linkItem(atPath: s.target + "/" + old, toPath: s.target + "/" + new)
        }
        try s.write("d/primary-only", "written on the original primary during the window\n", in: s.target)
        try s.writeList([
            .init(.rename, "d/same", to: "d/same-renamed"), .init(.rename, "d/cross", to: "e/cross"),
            .init(.modify, "d/renmod-new"),
        ])

        let effect = try await Tree.replay(s, with: ", since: \(since)")
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["renamed"] == .int(2) && effect.outputs["renames_skipped"] == .int(0))
        #expect(effect.outputs["removed"] == .list([.string("d/renmod")]), "\(effect.outputs)")
        #expect(effect.outputs["kept_recent"] == .int(1), "only the primary's own write: \(effect.outputs)")
        let diff = try await Tree.diff(s, with: ", checksum: all")
        #expect(diff.outputs["lines"] == .list([.string("- d/primary-only")]), "\(diff.outputs)")
    }

    @Test func aMalformedListChangesNothing() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("old", "o\n")
        try s.write("doomed", "d\n")
        try s.copyBaseline()
        try s.move("old", "new")
        try s.remove("doomed")
        try Data("RENAME old new\nDELETE doomed\nCREATE x\n".utf8).write(to: URL(fileURLWithPath: s.list))
        let effect = try await Tree.replay(s)
        #expect(!effect.succeeded)
        #expect(
            effect.summary.contains("exited 2: line 3:") && effect.summary.contains("nothing was copied"),
            "\(effect.summary)")
        #expect(FileManager.default.fileExists(atPath: s.path("old", in: s.target)))
        #expect(FileManager.default.fileExists(atPath: s.path("doomed", in: s.target)))
    }

    @Test func neverFollowsASymlinkOutOfTheTarget() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        let outside = s.root.appendingPathComponent("outside").path
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: outside + "/precious"))
        try FileManager.default.createSymbolicLink(atPath: s.target + "/dir", withDestinationPath: outside)
        try s.writeList([.init(.delete, "dir/precious"), .init(.rename, "dir/precious", to: "stolen")])
        let effect = try await Tree.replay(s)
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(FileManager.default.fileExists(atPath: outside + "/precious"))
        #expect(effect.outputs["renames_skipped"] == .int(1))
        #expect(effect.outputs["skipped"].map { "\($0)" }?.contains("symlink") == true)
    }

    @Test func refusesUnmountedOrOverlappingTrees() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.writeList([.init(.new, "a")])
        let unmounted = try await Tree.replay(s, with: ", require_mounts: true")
        #expect(!unmounted.succeeded && unmounted.summary.contains("is not a mount point (is the volume mounted?)"))
        try FileManager.default.removeItem(atPath: s.target)
        let gone = try await Tree.replay(s)
        #expect(!gone.succeeded && gone.summary.contains("\(s.target) is not a directory"), "\(gone.summary)")
    }
}
