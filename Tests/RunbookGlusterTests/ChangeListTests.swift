import Foundation
import RunbookCore
import Testing

/// The change-list decoder on glusterfind 10.3's live outputs, and the Python decoder the tree
/// types run on the host agreeing with it line for line.
@Suite struct ChangeListTests {
    func decode(_ name: String, separator: UInt8 = UInt8(ascii: " ")) throws -> [ChangeList.Change] {
        try ChangeList.decode(Fixture(name).text, separator: separator)
    }

    @Test func decodesTheLivePreOutput() throws {
        let changes = try decode("live-10.3-glusterfind-pre1.txt")
        #expect(changes.count == 14)
        #expect(changes[2] == ChangeList.Change(.new, "newdir/file with space.txt"))
        #expect(changes[4] == ChangeList.Change(.rename, "olddir", to: "olddir-renamed"))
        #expect(changes[12] == ChangeList.Change(.new, "percent%file"))
        #expect(changes[13] == ChangeList.Change(.delete, "deldir/x"))
        let counts = ChangeList.counts(changes)
        #expect(counts == [.new: 5, .modify: 2, .rename: 3, .delete: 4])
    }

    @Test func decodesTheLiveFailbackList() throws {
        let changes = try decode("live-10.3-glusterfind-final.txt")
        #expect(ChangeList.counts(changes) == [.new: 5, .modify: 3, .rename: 3, .delete: 3])
        #expect(changes.contains(ChangeList.Change(.rename, "old name", to: "new name")))
        #expect(changes.contains(ChangeList.Change(.new, "nd/a b%c")))
        // Issue 3804: the renames of d1/f3 and file1 are missing, only their MODIFY is there.
        #expect(changes.contains(ChangeList.Change(.modify, "d1/f3-moved")))
        #expect(!changes.contains { $0.kind == .rename && $0.path == "d1/f3" })
    }

    @Test func decodesFullFieldSeparatorAndNamespaceOnlyVariants() throws {
        let full = try decode("live-10.3-glusterfind-full.txt")
        #expect(full.count == 13 && full.allSatisfy { $0.kind == .new })
        #expect(full.contains(ChangeList.Change(.new, "olddir-renamed/f")))
        let plain = try decode("live-10.3-glusterfind-pre1.txt")
        #expect(try decode("live-10.3-glusterfind-pre1-fs.txt", separator: UInt8(ascii: "|")) == plain)
        #expect(try decode("live-10.3-glusterfind-pre1-N.txt") == plain.filter { $0.kind != .modify })
    }

    @Test func refusesTheNoEncodeOutputAtItsFirstRawSpace() throws {
        #expect {
            try decode("live-10.3-glusterfind-pre1-noencode.txt")
        } throws: { error in
            let error = error as? ChangeListError
            return error?.line == 3 && error?.reason.contains("expected NEW PATH") == true
        }
    }

    @Test(arguments: [
        ("CREATE a", "unknown type"), ("new a", "unknown type"), ("NEW", "expected NEW PATH"),
        ("RENAME a", "expected RENAME OLD NEW"), ("DELETE a b", "expected DELETE PATH"), ("NEW a%2", "escape"),
        ("NEW a%zzb", "escape"), ("NEW a%0a", "escape"), ("NEW /etc/passwd", "inside the tree"),
        ("DELETE a/../../x", "inside the tree"), ("NEW a//b", "inside the tree"), ("NEW ./a", "inside the tree"),
        ("MODIFY a ", "expected MODIFY PATH"),
    ])
    func rejectsWhatIsNotTheFormat(line: String, reason: String) {
        #expect {
            try ChangeList.decode("NEW ok\n\(line)\n")
        } throws: { error in
            let error = error as? ChangeListError
            return error?.line == 2 && error?.reason.contains(reason) == true
        }
    }

    static let awkwardNames = [
        "sp ace", "new\nline", "100%", "%20 literal", "a,b", "-lead", "tab\there", "cr\r", "é ü", "x%0Ay", "%", "\n",
    ]

    @Test func encodesWhatItDecodes() throws {
        let changes =
            Self.awkwardNames.map { ChangeList.Change(.new, "d/\($0)") }
            + [ChangeList.Change(.rename, "a b/%", to: "-c,d/e\nf")]
        let text = ChangeList.encode(changes)
        // Bytes, not Characters: "cr\r" then the newline is one Character.
        #expect(text.utf8.split(separator: 10, omittingEmptySubsequences: false).count == changes.count + 1)
        #expect(try ChangeList.decode(text) == changes)
        #expect(ChangeList.encodePath("a b\n%") == "a%20b%0A%25")
    }

    /// The decoder that ships inside every tree program, run by /usr/bin/python3 over the same
    /// texts: the same changes, and the same lines refused.
    @Test func thePythonDecoderAgrees() throws {
        let python = "/usr/bin/python3"
        try #require(FileManager.default.isExecutableFile(atPath: python), "needs \(python)")
        let harness =
            TreePrograms.prelude + """
                for kind, paths in changes(sys.argv[1]):
                    sys.stdout.buffer.write(kind.encode() + b"\\0" + b"\\0".join(paths) + b"\\0\\0")

                """
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("changelist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var texts = try [
            "live-10.3-glusterfind-pre1.txt", "live-10.3-glusterfind-final.txt", "live-10.3-glusterfind-full.txt",
            "live-10.3-glusterfind-pre1-N.txt",
        ].map { try Fixture($0).text }
        texts.append(ChangeList.encode(Self.awkwardNames.map { ChangeList.Change(.modify, "x/\($0)") }))
        for (index, text) in texts.enumerated() {
            let file = directory.appendingPathComponent("\(index).txt")
            try Data(text.utf8).write(to: file)
            let (status, out, err) = try run(python, ["-c", harness, file.path])
            #expect(status == 0, "\(err)")
            let records = out.split(separator: [0, 0], omittingEmptySubsequences: true)
            let decoded = records.map { record -> ChangeList.Change in
                let fields = record.split(separator: 0, omittingEmptySubsequences: false).map {
                    String(decoding: $0, as: UTF8.self)
                }
                return ChangeList.Change(
                    ChangeList.Kind(rawValue: fields[0])!, fields[1], to: fields.count > 2 ? fields[2] : nil)
            }
            #expect(decoded == (try ChangeList.decode(text)))
        }
        for bad in ["NEW ok\nCREATE a\n", "NEW ok\nNEW a%2\n", "NEW ok\nDELETE a/../b\n", "NEW ok\nRENAME a\n"] {
            let file = directory.appendingPathComponent("bad.txt")
            try Data(bad.utf8).write(to: file)
            let (status, _, err) = try run(python, ["-c", harness, file.path])
            #expect(status == 2 && err.contains("runbook: line 2:"), "\(bad.debugDescription): \(err)")
        }
    }

    func run(_ program: String, _ arguments: [String]) throws -> (Int32, [UInt8], String) {
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
        return (process.terminationStatus, [UInt8](data), String(decoding: errors, as: UTF8.self))
    }
}
