import Foundation
import GRDB
import RunbookCore
import Testing

@testable import RunbookExecution

#if canImport(Glibc)
    import Glibc
#endif

/// Creating the journal when several processes start at once, and reading it when it cannot be
/// written (a full disk, a read-only file system).
@Suite struct JournalFirstUseTests {
    /// Eight openers at once on a new file, twenty times: each must get a journal with the whole
    /// schema. (Without the setup lock, about one round in three failed with "table runs already
    /// exists" or "database is locked".)
    @Test func concurrentFirstOpensAllSucceed() async throws {
        for round in 0..<20 {
            let dir = TempDir("first-use")
            let path = dir.file("journal.sqlite")
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        do {
                            let journal = try Journal(path: path, redactor: Redactor(secrets: []))
                            _ = try journal.runs(limit: 1)
                            try journal.close()
                            return nil
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                var failures: [String] = []
                for await failure in group { if let failure { failures.append(failure) } }
                return failures
            }
            #expect(failures.isEmpty, "round \(round): \(failures)")
            let applied = try await DatabaseQueue(path: path).read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            }
            #expect(applied == Journal.migrator.migrations && applied.first == "v1", "round \(round)")
        }
    }

    /// A read-only open never creates a journal.
    @Test func readOnlyOpenOfAMissingJournalFailsWithoutCreatingIt() throws {
        let dir = TempDir("ro-missing")
        #expect(throws: JournalError.missing(path: dir.file("journal.sqlite"))) {
            try Journal(path: dir.file("journal.sqlite"), redactor: Redactor(secrets: []), access: .readOnly)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("journal.sqlite")))
    }

    /// A journal on a file system that is full, then read-only: read-only opens read every run.
    /// Writing on the full disk fails as `diskFull` (or as the I/O error SQLite reports when it
    /// cannot grow the `-shm`, which callers name by the free space left).
    @Test func readOnlyOpenWorksOnAFullDiskAndOnAReadOnlyFileSystem() throws {
        guard getuid() == 0 else {
            print("skipped: mounting a small tmpfs to fill needs root (run the suite as root, as CI does)")
            return
        }
        let mount = try SmallFileSystem(megabytes: 2)
        defer { mount.remove() }
        let path = mount.path + "/journal.sqlite"
        do {
            let journal = try Journal(path: path, redactor: Redactor(secrets: []))
            try journal.createRun(makeRun(id: "run-full"))
            try journal.appendEvent(runID: "run-full", type: "run.started")
            try journal.close()
        }
        try mount.fill()
        let state = try StateDirectory.resolved(environment: ["RUNBOOK_STATE_DIR": mount.path])
        #expect(state.diskIsFull)
        #expect(state.diskFullMessage.contains(mount.path))

        // Writing fails (when even opening for writing does not), and says the disk is full.
        do {
            let writer = try Journal(path: path, redactor: Redactor(secrets: []))
            try writer.createRun(makeRun(id: "run-more", params: String(repeating: "x", count: 200_000)))
            Issue.record("a write on a full disk succeeded")
        } catch {
            #expect(Journal.failureKind(of: error) == .diskFull || state.diskIsFull, "\(error)")
        }
        let onFullDisk = try Journal(path: path, redactor: Redactor(secrets: []), access: .readOnly)
        #expect(try onFullDisk.runs().map(\.id) == ["run-full"])
        #expect(try onFullDisk.events(runID: "run-full").map(\.type) == ["run.started"])
        #expect(try onFullDisk.verifyChain(runID: "run-full").isOK)
        try onFullDisk.close()

        try mount.unfill()
        try mount.remountReadOnly()
        let onReadOnly = try Journal(path: path, redactor: Redactor(secrets: []), access: .readOnly)
        #expect(try onReadOnly.runs().map(\.id) == ["run-full"])
        try onReadOnly.close()
    }
}

/// A tmpfs of a few megabytes mounted for one test (root only).
struct SmallFileSystem {
    let path: String

    init(megabytes: Int) throws {
        path = FileManager.default.temporaryDirectory.path + "/runbook-tmpfs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Self.sh("mount -t tmpfs -o size=\(megabytes)m tmpfs '\(path)'")
    }

    /// Fills it until writes fail with ENOSPC.
    func fill() throws { try Self.sh("dd if=/dev/zero of='\(path)/fill' bs=4k 2>/dev/null || true") }
    func unfill() throws { try Self.sh("rm -f '\(path)/fill'") }
    func remountReadOnly() throws { try Self.sh("mount -o remount,ro '\(path)'") }

    func remove() {
        try? Self.sh("umount '\(path)'")
        try? FileManager.default.removeItem(atPath: path)
    }

    static func sh(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw JournalError.corrupt("`\(command)` exited \(process.terminationStatus)")
        }
    }
}
