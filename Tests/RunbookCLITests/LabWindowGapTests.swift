import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// A gap in the secondary's changelog inside the failback's window (issue 12, item 4).
///
/// In its own file, named to sort after the other lab files: the serialized lab suite runs its
/// tests in source order, and this one leaves the lab failed over (its failback stops before the
/// commit by design), so the test after it pays `up.sh --fresh` (about 2 minutes). Last, nothing
/// does; in another order it only costs that time.
extension LabEndToEndTests {
    /// Item 4: changelog toggled off and on on the promoted secondary inside the window (what the
    /// Red Hat procedure's "reset changelog" would do too early). glusterfind then lists only what
    /// came before the gap, with exit 0; the partial-history guard stops the commit at
    /// final-changes, naming the node and the brick, and nothing is replayed.
    @Test func aChangelogToggledInsideTheWindowStopsTheCommitBeforeAnyReplay() throws {
        try healthyLab()
        let stamp = String(UUID().uuidString.prefix(8)).lowercased()
        let dir = "gap-\(stamp)"
        try make("\(primaryMount)/\(dir)", ["before.txt": "before\n"])
        let state = try newState()
        let over = try timed("failover (a checkpoint)") {
            try runbook(state, ["run", failover, "-i", inventory, "--yes", "--approve", "go-ahead"])
        }
        try #require(over.status == 0, "\(over.stdout.suffix(3000))\(over.stderr)")
        try write("\(secondaryMount)/\(dir)/before-gap.txt", "before the gap\n")
        Thread.sleep(forTimeInterval: oneRollover)
        #expect(try gluster("gfs-b1", ["volume", "set", secondaryVolume, "changelog.changelog", "off"]).status == 0)
        try write("\(secondaryMount)/\(dir)/during-gap.txt", "during the gap\n")
        #expect(try gluster("gfs-b1", ["volume", "set", secondaryVolume, "changelog.changelog", "on"]).status == 0)
        try write("\(secondaryMount)/\(dir)/after-gap.txt", "after the gap\n")

        let back = try newState()
        let failed = try timed("failback stopped by the partial-history guard") {
            try runbook(
                back,
                ["run", failback, "-i", inventory, "--yes", "--approve", "begin", "--approve", "commit"]
                    + Self.shortGrace)
        }
        let output = failed.stdout + failed.stderr
        print(output.suffix(3000))
        #expect(failed.status == 1, "\(output.suffix(3000))")
        #expect(output.contains("final-changes"), "the step is named")
        #expect(output.contains("partial"), "the cause is said: \(output.suffix(2000))")
        #expect(output.contains("gfs-b1"), "the node is named")
        let run = try runID(back)
        let steps = try journal(back).steps(runID: run)
        #expect(steps.first { Self.isInstance($0.nodeID, of: "final-changes") }?.state == .failed)
        for later in ["replay", "verify", "post", "delete-index", "reset-changelog", "restart-original"] {
            let record = steps.first { Self.isInstance($0.nodeID, of: later) }
            #expect(
                record?.state == .pending || record?.state == .skipped,
                "\(later) ran: \(String(describing: record?.state))")
        }
        let replayed = try journal(back).attempts(runID: run).filter { Self.isInstance($0.nodeID, of: "replay") }
        #expect(replayed.isEmpty, "nothing was replayed from the partial list: \(replayed.count) attempts")
        #expect(try node("gfs-b1", ["glusterfind", "list"]).stdout.contains("failback"), "the session is kept")
    }
}
