import Foundation
import RunbookCore
import Testing

/// The live failback list of the notes (lab 2, `live-10.3-glusterfind-final.txt`) replayed for real
/// on a plain-directory rebuild of that lab's trees.
@Suite(.serialized) struct GlusterfindReplayTests {
    /// The notes' three-step replay left four lines for rsync to list (`*deleting file1`,
    /// `*deleting d1/f3`, the root's time, `hf d1/f5-link => d1/f5`). With the directory reconcile
    /// and the same-directory hard links, tree.replay leaves none.
    @Test func theLiveListOfLabTwoReplaysExactly() async throws {
        if let missing = Tree.missing {
            Issue.record("skipped: \(missing)")
            return
        }
        let s = try Scratch()
        // Lab 2 before the window (the names its writes and its list use).
        for name in [
            "d1/f1", "d1/f2", "d1/f3", "d1/f4", "d1/f5", "file1", "safe-save", "gone/x", "d2/sub/old", "old name",
        ] {
            try s.write(name, "v1 \(name)\n")
        }
        try s.age()
        try s.copyBaseline()
        // The writes of the window, as the notes ran them on the promoted secondary.
        try s.append("d1/f1", "v2\n")
        try s.move("d1/f2", "d1/f2-moved")
        try s.move("d1/f3", "d1/f3-moved")
        try s.append("d1/f3-moved", "v2\n")
        try s.move("file1", "file1new")
        try s.move("file1new", "file2new")
        try s.append("file2new", "v2\n")
        try s.write(".safe-save.tmp", "tmp\n")
        try s.move(".safe-save.tmp", "safe-save.new")
        try s.remove("safe-save")
        try s.move("safe-save.new", "safe-save")
        try s.remove("gone")
        try s.remove("d1/f4")
        try s.move("d2", "d2-renamed")
        try s.write("d2-renamed/sub/new", "new\n")
        try s.mkdir("nd")
        try s.write("nd/a b%c", "n\n")
        try s.move("old name", "new name")
        try s.link("d1/f5", "d1/f5-link")
        // glusterfind's list of it, verbatim.
        try FileManager.default.copyItem(
            atPath: try #require(
                Bundle.module.url(forResource: "Fixtures/live-10.3-glusterfind-final.txt", withExtension: nil)
            ).path,
            toPath: s.list)

        let effect = try await Tree.replay(s)
        #expect(effect.succeeded, "\(effect.summary)")
        #expect(effect.outputs["renamed"] == .int(3) && effect.outputs["renames_skipped"] == .int(0))
        #expect(effect.outputs["deleted"] == .int(3), "gone/x, gone, d1/f4: \(effect.outputs)")
        #expect(try Tree.rsyncDryRun(s) == [])
        let diff = try await Tree.diff(s, with: ", checksum_list: \(Tree.quoted(s.list))")
        #expect(diff.outputs["differences"] == .int(0), "\(diff.outputs["lines"] ?? .null)")
    }
}
