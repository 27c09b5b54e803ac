import Foundation
import Testing

@testable import RunbookExecution

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct RunLockTests {
    @Test func secondAcquireFailsNamingTheHolderUntilReleased() throws {
        let dir = TempDir("lock")
        let locks = dir.file("locks")
        let first = try RunLock.acquire(
            directory: locks, runbook: "georep-failover", inventory: "site-a-to-b",
            runID: "20261125-091502-3f9a", now: fixedStart
        )
        #expect(first.tookOverFrom == nil)
        #expect(first.path == locks + "/site-a-to-b.lock")

        do {
            _ = try RunLock.acquire(
                directory: locks, runbook: "georep-failover", inventory: "site-a-to-b", runID: "other"
            )
            Issue.record("second acquire succeeded while the first holds the lock")
        } catch let error as LockHeldError {
            #expect(error.holder?.runID == "20261125-091502-3f9a")
            #expect(error.holder?.pid == getpid())
            #expect(error.holder?.hostname == RunLock.currentHostname())
            #expect(
                error.description == """
                    another run holds the lock of inventory site-a-to-b: run 20261125-091502-3f9a \
                    (runbook georep-failover), host \(RunLock.currentHostname()), pid \(getpid()), started 2026-11-25T09:15:02Z
                    """)
        }

        // The lock is the inventory's (the site pair's): a failback waits for the failover too.
        #expect(throws: LockHeldError.self) {
            try RunLock.acquire(directory: locks, runbook: "georep-failback", inventory: "site-a-to-b", runID: "back")
        }
        // Another inventory is independent.
        let other = try RunLock.acquire(
            directory: locks, runbook: "georep-failover", inventory: "site-b-to-a", runID: "x")
        other.release()

        first.release()
        #expect(!first.isHeld)
        first.release()  // idempotent
        let again = try RunLock.acquire(
            directory: locks, runbook: "georep-failover", inventory: "site-a-to-b", runID: "r2"
        )
        #expect(again.tookOverFrom == nil, "a released lock names no holder")
        try again.updateRunID("r3")
        let text = try String(contentsOfFile: again.path, encoding: .utf8)
        #expect(text.contains("\"runID\":\"r3\""))
        again.release()
    }

    /// A run that parked or was interrupted keeps its name in the file: another run is refused
    /// while the journal says it is still parked, the run itself (its resume) takes the lock back,
    /// and once it ended the next run takes it over.
    @Test func aKeptLockRefusesOtherRunsButNotItsOwnResume() throws {
        let dir = TempDir("lock")
        let locks = dir.file("locks")
        let parked = try RunLock.acquire(
            directory: locks, runbook: "georep-failover", inventory: "site-a-to-b", runID: "parked")
        parked.keep(true)
        parked.release()
        #expect(try String(contentsOfFile: parked.path, encoding: .utf8).contains("\"runID\":\"parked\""))

        do {
            _ = try RunLock.acquire(
                directory: locks, runbook: "georep-failback", inventory: "site-a-to-b", runID: "back",
                stillHeld: { $0.runID == "parked" })
            Issue.record("a second run took the lock of a parked run")
        } catch let error as LockHeldError {
            #expect(error.kept)
            #expect(error.holder?.runID == "parked")
            #expect(error.holder?.runbook == "georep-failover")
            #expect(
                error.description.hasPrefix(
                    "a parked or interrupted run holds the lock of inventory site-a-to-b: run parked (runbook georep-failover)"
                ))
        }
        #expect(try String(contentsOfFile: parked.path, encoding: .utf8).contains("\"runID\":\"parked\""))

        let resumed = try RunLock.acquire(
            directory: locks, runbook: "georep-failover", inventory: "site-a-to-b", runID: "parked",
            stillHeld: { $0.runID == "parked" })
        #expect(resumed.tookOverFrom?.runID == "parked")
        resumed.release()
        let next = try RunLock.acquire(
            directory: locks, runbook: "georep-failback", inventory: "site-a-to-b", runID: "back",
            stillHeld: { $0.runID == "parked" })
        #expect(next.tookOverFrom == nil)
        next.release()
    }

    @Test func staleHolderIsTakenOver() throws {
        let dir = TempDir("lock")
        let locks = dir.file("locks")
        try FileManager.default.createDirectory(atPath: locks, withIntermediateDirectories: true)
        let path = RunLock.lockPath(directory: locks, inventory: "site/a")
        #expect(path == locks + "/site_a.lock")
        let stale =
            #"{"runID":"20261124-010203-dead","hostname":"ops-9","pid":999999,"startedAt":"2026-11-24T01:02:03.000Z"}"#
        try stale.write(toFile: path, atomically: false, encoding: .utf8)

        let lock = try RunLock.acquire(directory: locks, runbook: "georep failover", inventory: "site/a", runID: "new")
        let previous = try #require(lock.tookOverFrom)
        #expect(previous.runID == "20261124-010203-dead")
        #expect(previous.pid == 999999)
        #expect(previous.hostname == "ops-9")
        #expect(!previous.processExists)
        #expect(lock.holder?.runID == "new")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"runID\":\"new\""))
        #expect(!text.contains("dead"))
        lock.release()
    }

    @Test func holderWithLivePidButNoLockIsTakenOver() throws {
        // The file names a process that exists (pid reused after the holder died): flock decides.
        let dir = TempDir("lock")
        let locks = dir.file("locks")
        try FileManager.default.createDirectory(atPath: locks, withIntermediateDirectories: true)
        let path = RunLock.lockPath(directory: locks, inventory: "inv")
        let text = #"{"runID":"old","hostname":"h","pid":\#(getpid()),"startedAt":"2026-11-24T01:02:03.000Z"}"#
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let lock = try RunLock.acquire(directory: locks, runbook: "rb", inventory: "inv", runID: "new")
        #expect(lock.tookOverFrom?.runID == "old")
        #expect(lock.tookOverFrom?.processExists == true)
        lock.release()
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
    func lockHeldByAnotherProcessIsFreedWhenItIsKilled() throws {
        let dir = TempDir("lock")
        let locks = dir.file("locks")
        try FileManager.default.createDirectory(atPath: locks, withIntermediateDirectories: true)
        let path = RunLock.lockPath(directory: locks, inventory: "site-a-to-b")

        // The child locks the file, names itself in it, then sleeps holding the lock.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = [
            "-c",
            #"""
            exec 9<>"$1" || exit 2
            /usr/bin/flock -x -n 9 || exit 3
            printf '{"runID":"child-run","hostname":"child-host","pid":%d,"startedAt":"2026-11-25T09:15:02.000Z"}\n' $$ >&9
            exec sleep 60
            """#,
            "sh", path,
        ]
        try child.run()
        defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }

        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("child-run") { break }
            usleep(20_000)
        }
        #expect(child.isRunning)

        do {
            _ = try RunLock.acquire(directory: locks, runbook: "georep-failover", inventory: "site-a-to-b", runID: "me")
            Issue.record("acquire succeeded while the child holds the lock")
        } catch let error as LockHeldError {
            #expect(error.holder?.runID == "child-run")
            #expect(error.holder?.pid == child.processIdentifier)
        }

        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)

        let lock = try RunLock.acquire(
            directory: locks, runbook: "georep-failover", inventory: "site-a-to-b", runID: "me")
        #expect(lock.tookOverFrom?.runID == "child-run")
        #expect(lock.tookOverFrom?.pid == child.processIdentifier)
        lock.release()
    }

    @Test func lockIsReleasedWhenTheLockObjectGoesAway() throws {
        let dir = TempDir("lock")
        let locks = dir.file("locks")
        do {
            _ = try RunLock.acquire(directory: locks, runbook: "a", inventory: "b", runID: "r1")
        }
        let lock = try RunLock.acquire(directory: locks, runbook: "a", inventory: "b", runID: "r2")
        #expect(lock.tookOverFrom == nil)
        lock.release()
    }
}
