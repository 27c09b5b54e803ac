import Foundation
import RunbookCore
import RunbookGluster
import RunbookTestSupport
import Testing

/// Issue 21: a failback that cannot lose silently. The tree programs run for real (local
/// transport) on two scratch directories standing for the two sites' mounts: `source` the promoted
/// secondary, `target` the original primary. The rule: no entry on either side is overwritten,
/// removed or copied back unless the evidence says it is the other side's newer change; everything
/// else is kept and shown (tree.diff, the `differences` gate), with an offer to copy it (tree.copy).
@Suite(.serialized) struct FailbackSafetyTests {
    /// The lines glusterfind 10.3 writes for one row of its database (`main.py` `write_output`,
    /// v10.3 lines 503-522, with `quote_plus_space_newline` of `utils.py` applied to each path when
    /// it was recorded): `path1` split on every comma (its separator of a file's hard links), empty
    /// pieces and a piece equal to `path2` left out, one line per piece carrying the row's type and
    /// `path2`.
    static func glusterfindLines(_ type: String, _ path1: String, _ path2: String = "") -> String {
        let new = ChangeList.encodePath(path2)
        var out = ""
        for piece in ChangeList.encodePath(path1).split(separator: ",", omittingEmptySubsequences: true)
        where String(piece) != new {
            out += path2.isEmpty ? "\(type) \(piece)\n" : "\(type) \(piece) \(new)\n"
        }
        return out
    }

    static func writeRows(_ scratch: Scratch, _ rows: [(String, String, String)]) throws {
        let text = rows.map { glusterfindLines($0.0, $0.1, $0.2) }.joined()
        try Data(text.utf8).write(to: URL(fileURLWithPath: scratch.list))
    }

    static func text(_ scratch: Scratch, _ path: String, in tree: String) throws -> String? {
        let at = scratch.path(path, in: tree)
        guard FileManager.default.fileExists(atPath: at) else { return nil }
        return try String(contentsOfFile: at, encoding: .utf8)
    }

    static func list(_ value: Value?) -> [String] {
        guard case .list(let items)? = value else { return [] }
        return items.map(\.renderedForText)
    }

    /// Whole seconds on the host's clock strictly after everything written so far, and strictly
    /// before anything written next (a ctime is compared with it).
    static func mark() async throws -> Int {
        try await Task.sleep(for: .seconds(1.1))
        let now = Int(Date().timeIntervalSince1970.rounded(.up))
        try await Task.sleep(for: .seconds(Double(now) - Date().timeIntervalSince1970 + 0.1))
        return now
    }

    // MARK: case 8: names with a comma

    /// The format first: a row with a comma in its name becomes several lines.
    @Test func glusterfindWritesANameWithACommaAsSeveralLines() {
        #expect(Self.glusterfindLines("MODIFY", "d/a,b") == "MODIFY d/a\nMODIFY b\n")
        #expect(Self.glusterfindLines("DELETE", "e/x,y z") == "DELETE e/x\nDELETE y%20z\n")
        #expect(Self.glusterfindLines("RENAME", "r,1", "r,2") == "RENAME r r,2\nRENAME 1 r,2\n")
        // Hard links: the pieces are whole paths.
        #expect(Self.glusterfindLines("MODIFY", "h/one,h/two") == "MODIFY h/one\nMODIFY h/two\n")
    }

    /// Case 8: a modify, a delete and a rename of names with a comma, as glusterfind lists them
    /// (split on the comma, in MODIFY, DELETE and RENAME rows alike). Before, the modify was never
    /// copied (the sites ended different), the rename was not applied, and `DELETE y` removed a
    /// file only the original primary had (never synced) that merely shares the piece's name.
    @Test func rowsGlusterfindSplitOnACommaAreReplayedAsTheirNames() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("d/a,b", "v1\n")
        try s.write("d/a", "another file, unchanged\n")
        try s.write("e/x,y", "doomed\n")
        try s.write("r,1", "renamed\n")
        try s.age()
        try s.copyBaseline()
        try s.write("y", "only on the original primary, never synced\n", in: s.target)
        let since = try await Self.mark()
        try s.append("d/a,b", "v2, longer\n")
        try s.remove("e/x,y")
        try s.move("r,1", "r,2")
        try Self.writeRows(s, [("MODIFY", "d/a,b", ""), ("DELETE", "e/x,y", ""), ("RENAME", "r,1", "r,2")])
        #expect(try String(contentsOfFile: s.list, encoding: .utf8).split(separator: "\n").count == 6)

        let effect = try await Tree.replay(s, with: ", since: \(since)")
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["rejoined"] == .int(3), "\(effect.outputs)")
        #expect(effect.outputs["renamed"] == .int(1) && effect.outputs["deleted"] == .int(1), "\(effect.outputs)")
        #expect(try Self.text(s, "d/a,b", in: s.target) == "v1\nv2, longer\n")
        #expect(try Self.text(s, "y", in: s.target) == "only on the original primary, never synced\n")
        #expect(try Self.text(s, "e/x,y", in: s.target) == nil)
        let diff = try await Tree.diff(s, with: ", checksum_list: \(Tree.quoted(s.list))")
        #expect(Self.list(diff.outputs["lines"]) == ["- y"], "\(diff.outputs)")
    }

    /// Case 8, the gate: approving the differences used to accept them for good. tree.copy (the
    /// gate's "copy" answer) copies every `+` and `~` entry, whatever tree.diff's limit listed,
    /// never a `-` one, and a second tree.diff shows only what the target alone has.
    @Test func theCopyAnswerCopiesWhatTheSourceHasAndKeepsWhatOnlyTheTargetHas() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("same", "same\n")
        try s.write("content", "aaaa\n")
        try s.write("bigger", "b\n")
        try s.age()
        try s.copyBaseline()
        for n in 0..<30 { try s.write("new/\(n)", "\(n)\n") }
        try s.write("bigger", "a longer version\n")
        // Same size and mtime, other content: only a content comparison sees it.
        let mtime = try #require(try FileManager.default.attributesOfItem(atPath: s.path("content"))[.modificationDate])
        try s.write("content", "bbbb\n", in: s.target)
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: s.path("content", in: s.target))
        try s.write("target-only", "kept\n", in: s.target)
        try s.touch("", Date(timeIntervalSince1970: 1_000_000_000), in: s.target)

        let before = try await Tree.diff(s, with: ", checksum: all, limit: 5")
        #expect(before.outputs["differences"] == .int(35), "\(before.outputs)")
        let node = try Lab.node(
            """
            action: tree.copy
            irreversible: true
            with: {source: \(Tree.quoted(s.source)), target: \(Tree.quoted(s.target)), \
            work: \(Tree.quoted(s.root.appendingPathComponent("copy-work").path)), checksum: all}
            """, behindCommit: true)
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let effect = try await type.apply(
            Tree.context(node, .apply), observation: try await type.probe(Tree.context(node, .probe)))
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["copied"] == .int(34) && effect.outputs["kept"] == .int(1), "\(effect.outputs)")
        let after = try await Tree.diff(s, with: ", checksum: all")
        #expect(Self.list(after.outputs["lines"]) == ["- target-only"], "\(after.outputs)")
        #expect(try Self.text(s, "content", in: s.target) == "aaaa\n")
    }

    // MARK: cases 5, 6, 7: what the original primary never synced, and its own deletes

    /// Case 5: a directory the secondary deleted, holding a file the original primary wrote and never
    /// synced before it was lost. Before, the DELETE loop removed the whole tree (`rmtree`).
    @Test func aNeverSyncedFileUnderADirectoryTheSourceDeletedIsKept() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("proj/a", "a\n")
        try s.write("proj/sub/b", "b\n")
        try s.write("other/c", "c\n")
        try s.age()
        try s.copyBaseline()
        try s.write("proj/sub/unsynced", "written on the primary after its last sync\n", in: s.target)
        let since = try await Self.mark()
        try s.remove("proj")
        try s.remove("other")
        try s.writeList([
            .init(.delete, "proj/a"), .init(.delete, "proj/sub/b"), .init(.delete, "proj/sub"), .init(.delete, "proj"),
            .init(.delete, "other"), .init(.delete, "other/c"),
        ])

        let effect = try await Tree.replay(s, with: ", since: \(since)")
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(try Self.text(s, "proj/sub/unsynced", in: s.target) == "written on the primary after its last sync\n")
        #expect(try Self.text(s, "proj/a", in: s.target) == nil && Self.text(s, "proj/sub/b", in: s.target) == nil)
        #expect(!FileManager.default.fileExists(atPath: s.path("other", in: s.target)), "a wholly listed tree goes")
        #expect(Self.list(effect.outputs["unsynced"]) == ["proj/sub/unsynced"], "\(effect.outputs)")
        let diff = try await Tree.diff(s)
        #expect(
            Self.list(diff.outputs["lines"]) == ["- proj", "- proj/sub", "- proj/sub/unsynced"], "\(diff.outputs)")
    }

    /// Case 6: the original primary renamed and edited a file and never synced it; the secondary
    /// still has it under the old name and did not touch it, but changed its directory. Before, the
    /// identity rule (same gfid as the secondary's entry under another name) removed the renamed
    /// file and copied the old name back: the edits were gone.
    @Test func aNeverSyncedRenameWithEditsIsKept() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("a/doc", "v1\n")
        try s.age()
        try s.copyBaseline()
        // Renamed and edited in place: the file keeps its identity (its gfid).
        try FileManager.default.moveItem(
            atPath: s.path("a/doc", in: s.target), toPath: s.path("a/doc-v2", in: s.target))
        let handle = try #require(FileHandle(forWritingAtPath: s.path("a/doc-v2", in: s.target)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("edited on the primary, never synced\n".utf8))
        try handle.close()
        let since = try await Self.mark()
        try s.write("a/other", "new on the secondary\n")
        try s.writeList([.init(.new, "a/other")])

        let effect = try await Tree.replay(s, with: ", since: \(since)")
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(try Self.text(s, "a/doc-v2", in: s.target) == "v1\nedited on the primary, never synced\n")
        #expect(try Self.text(s, "a/doc", in: s.target) == nil, "the old name is not copied back")
        #expect(effect.outputs["removed_stale"] == .int(0), "\(effect.outputs)")
        let diff = try await Tree.diff(s)
        #expect(Self.list(diff.outputs["lines"]) == ["+ a/doc", "- a/doc-v2"], "\(diff.outputs)")
    }

    /// Case 7: a file the original primary deleted (and never synced the delete), which the
    /// secondary did not touch. Before, the reconcile of its directory (the root is always one)
    /// copied it back.
    @Test func aDeleteTheTargetMadeIsNotUndone() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("keep", "k\n")
        try s.write("deleted-on-primary", "d\n")
        try s.age()
        try s.copyBaseline()
        try s.remove("deleted-on-primary", in: s.target)
        let since = try await Self.mark()
        try s.write("new", "new on the secondary\n")
        try s.writeList([.init(.new, "new")])

        let effect = try await Tree.replay(s, with: ", since: \(since)")
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(try Self.text(s, "deleted-on-primary", in: s.target) == nil)
        #expect(effect.outputs["left_absent"] == .int(1) && effect.outputs["added_unlisted"] == .int(0))
        #expect(Self.list(effect.outputs["absent"]) == ["deleted-on-primary"])
        #expect(try Self.text(s, "new", in: s.target) == "new on the secondary\n")
        let diff = try await Tree.diff(s)
        #expect(Self.list(diff.outputs["lines"]) == ["+ deleted-on-primary"], "\(diff.outputs)")
    }

    // MARK: case 1: the original primary written during the window

    /// Case 1: after a planned failover the original primary stayed writable; a file was appended
    /// to and another written there, then the secondary changed the first and deleted the second.
    /// A third file the reverse session's pre-copy wrote (after the primary was fenced) and the
    /// secondary changed again is an ordinary replay. Before, the replay overwrote the first and
    /// removed the second, and tree.diff compared two equal trees: 0 differences.
    @Test func whatTheTargetWroteDuringTheWindowIsNeitherOverwrittenNorRemoved() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("appended", "v1\n")
        try s.write("doomed", "v1\n")
        try s.write("precopied", "v1\n")
        try s.write("untouched", "v1\n")
        try s.age()
        try s.copyBaseline()
        let since = try await Self.mark()
        // On the original primary, its clients during the window.
        let handle = try #require(FileHandle(forWritingAtPath: s.path("appended", in: s.target)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("written on the primary after the failover\n".utf8))
        try handle.close()
        try s.write("doomed", "rewritten on the primary after the failover\n", in: s.target)
        // On the secondary.
        try s.append("appended", "the secondary's change\n")
        try s.remove("doomed")
        try s.append("precopied", "v2\n")
        try s.append("untouched", "v2\n")
        let fenced = try await Self.mark()
        // The pre-copy (after the primary was fenced) copied v2; the secondary wrote v3 since.
        let copied = try Tree.run("/usr/bin/rsync", ["-aX", s.path("precopied"), s.path("precopied", in: s.target)])
        #expect(copied.status == 0, "\(copied.err)")
        try s.append("precopied", "v3\n")
        try s.writeList([
            .init(.modify, "appended"), .init(.delete, "doomed"), .init(.modify, "precopied"),
            .init(.modify, "untouched"),
        ])

        let effect = try await Tree.replay(s, with: ", since: \(since), fenced: \(fenced)")
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(
            try Self.text(s, "appended", in: s.target) == "v1\nwritten on the primary after the failover\n",
            "the primary's write is kept")
        #expect(try Self.text(s, "doomed", in: s.target) == "rewritten on the primary after the failover\n")
        #expect(try Self.text(s, "precopied", in: s.target) == "v1\nv2\nv3\n")
        #expect(try Self.text(s, "untouched", in: s.target) == "v1\nv2\n")
        #expect(effect.outputs["kept_changed"] == .int(2), "\(effect.outputs)")
        #expect(Set(Self.list(effect.outputs["changed"])) == ["appended", "doomed"])
        #expect(effect.summary.contains("changed there during the window"), "\(effect.summary)")
        let diff = try await Tree.diff(s, with: ", checksum_list: \(Tree.quoted(s.list))")
        #expect(Self.list(diff.outputs["lines"]).map { String($0.prefix(10)) } == ["~ appended", "- doomed"])
    }

    // MARK: deletes through the window's renames

    /// A file deleted on the secondary inside a directory that was renamed afterwards: glusterfind
    /// lists `DELETE old/f` and `RENAME old new`. Before, the renames went first and the delete found
    /// nothing at `old/f`: the file came back on the primary under the new directory name.
    @Test func aDeleteInADirectoryRenamedLaterIsApplied() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("old/f", "deleted on the secondary\n")
        try s.write("old/g", "kept\n")
        try s.age()
        try s.copyBaseline()
        let since = try await Self.mark()
        try s.remove("old/f")
        try s.move("old", "new")
        try s.writeList([.init(.delete, "old/f"), .init(.rename, "old", to: "new")])

        let effect = try await Tree.replay(s, with: ", since: \(since)")
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["deleted"] == .int(1) && effect.outputs["renamed"] == .int(1), "\(effect.outputs)")
        #expect(try Self.text(s, "new/f", in: s.target) == nil)
        let diff = try await Tree.diff(s)
        #expect(diff.outputs["differences"] == .int(0), "\(diff.outputs)")
    }

    // MARK: case 9: sparse files, gfids, ACLs and xattrs

    /// Case 9 and case 4's part: a sparse file stays sparse on the target (`--sparse`), and a file
    /// the replay rewrites keeps its inode (`--inplace`; on GlusterFS its gfid, which the restarted
    /// session needs). Before, rsync wrote every file whole into a new inode.
    @Test func theReplayKeepsSparseFilesSparseAndRewritesFilesInPlace() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("rewritten", "v1\n")
        try s.age()
        try s.copyBaseline()
        let inode = try #require(
            try FileManager.default.attributesOfItem(atPath: s.path("rewritten", in: s.target))[.systemFileNumber]
                as? Int)
        try s.append("rewritten", "v2\n")
        try s.write("sparse", "")
        let handle = try #require(FileHandle(forWritingAtPath: s.path("sparse")))
        try handle.truncate(atOffset: 64 << 20)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("end\n".utf8))
        try handle.close()
        try s.writeList([.init(.modify, "rewritten"), .init(.new, "sparse")])

        let effect = try await Tree.replay(s)
        #expect(effect.succeeded, "\(effect.summary)")
        let after = try FileManager.default.attributesOfItem(atPath: s.path("rewritten", in: s.target))
        #expect(after[.systemFileNumber] as? Int == inode, "rewritten in place")
        #expect(try Self.text(s, "rewritten", in: s.target) == "v1\nv2\n")
        let blocks = try Tree.run("/usr/bin/stat", ["-c", "%b %B %s", s.path("sparse", in: s.target)])
        let fields = blocks.out.split(separator: " ").compactMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(fields.count == 3 && fields[0] * fields[1] < fields[2] / 16, "allocated: \(blocks.out)")
        let same = try await Tree.diff(s, with: ", sparse: true")
        #expect(same.outputs["differences"] == .int(0), "\(same.outputs)")

        // Copied without -S, it takes its whole size: tree.diff says so when asked (case 9).
        try s.remove("sparse", in: s.target)
        let whole = try Tree.run("/usr/bin/rsync", ["-a", s.path("sparse"), s.path("sparse", in: s.target)])
        #expect(whole.status == 0, "\(whole.err)")
        // Removing the file and copying it touched the target directory: give it the source's
        // time back (as a replay does), or "." differs whenever the two fall in different seconds
        // (it failed so once in CI, on a loaded machine).
        let sourceTime = try #require(try s.files.attributesOfItem(atPath: s.source)[.modificationDate] as? Date)
        try s.files.setAttributes([.modificationDate: sourceTime], ofItemAtPath: s.target)
        #expect(try await Tree.diff(s).outputs["differences"] == .int(0))
        let shown = try await Tree.diff(s, with: ", sparse: true")
        #expect(Self.list(shown.outputs["lines"]) == ["~ sparse (sparse -> allocated)"], "\(shown.outputs)")
    }

    /// Case 9: tree.diff compares extended attributes (ACLs included) when asked: a difference the
    /// default comparison does not see.
    @Test func theDiffComparesExtendedAttributesWhenAsked() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("f", "f\n")
        try s.age()
        try s.copyBaseline()
        let set = try Tree.run(
            Tree.python, ["-c", "import os, sys; os.setxattr(sys.argv[1], 'user.label', b'secondary')", s.path("f")])
        #expect(set.status == 0, "\(set.err)")
        let plain = try await Tree.diff(s)
        #expect(plain.outputs["differences"] == .int(0))
        let full = try await Tree.diff(s, with: ", xattrs: true")
        #expect(Self.list(full.outputs["lines"]) == ["~ f (xattr user.label)"], "\(full.outputs)")
    }

    // MARK: case 11: the mounts' volumes

    /// Case 11: a wrong `primary_wan_mount` wrote one volume's window into another. With the
    /// sessions' volumes given, tree.replay (and tree.diff) read the mount table and refuse a tree
    /// that is not a GlusterFS mount of its volume, before changing anything.
    @Test func aTreeThatIsNotAMountOfItsVolumeIsRefused() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        try s.write("doomed", "d\n")
        try s.age()
        try s.copyBaseline()
        try s.remove("doomed")
        try s.writeList([.init(.delete, "doomed")])
        // A mount table as /proc/mounts writes it (a space in a path is \040).
        let table = s.root.appendingPathComponent("mounts").path
        func mounts(_ target: String) throws {
            let text = """
                /dev/vda / ext4 rw,relatime 0 0
                gfs-b1:/gv0-dr \(s.source.replacingOccurrences(of: " ", with: "\\040")) fuse.glusterfs rw,relatime,user_id=0,group_id=0,default_permissions,allow_other,max_read=131072 0 0
                \(target) \(s.target.replacingOccurrences(of: " ", with: "\\040")) fuse.glusterfs rw,relatime,user_id=0,group_id=0,default_permissions,allow_other,max_read=131072 0 0

                """
            try Data(text.utf8).write(to: URL(fileURLWithPath: table))
        }
        let volumes = ", source_volume: gv0-dr, target_volume: gfs-a1:/gv0, mount_table: \(Tree.quoted(table))"
        try mounts("gfs-a1:/gv1")
        let wrong = try await Tree.replay(s, with: volumes)
        #expect(!wrong.succeeded)
        #expect(wrong.summary.contains("gfs-a1:/gv1 (fuse.glusterfs), not the volume gv0"), "\(wrong.summary)")
        #expect(FileManager.default.fileExists(atPath: s.path("doomed", in: s.target)), "nothing was changed")
        do {
            _ = try await Tree.diff(s, with: volumes)
            Issue.record("tree.diff must refuse the wrong volume too")
        } catch {
            #expect("\(error)".contains("not the volume gv0"), "\(error)")
        }
        // The real mount table: a scratch directory is no mount at all.
        let unmounted = try await Tree.replay(s, with: ", target_volume: gv0")
        #expect(!unmounted.succeeded && unmounted.summary.contains("is not a mount point in /proc/mounts"))
        // The right volume (from another node of its cluster): the replay goes ahead.
        try mounts("gfs-a2:/gv0")
        let right = try await Tree.replay(s, with: volumes)
        #expect(right.succeeded, "\(right.summary)")
        #expect(!FileManager.default.fileExists(atPath: s.path("doomed", in: s.target)))
    }
}
