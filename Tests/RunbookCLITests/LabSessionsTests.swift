import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// The shipped runbooks over the lab's two geo-rep sessions in one run (`for_each: vars.sessions`,
/// key `item.primary_volume`): `gvprimary -> gfs-b1::gvsecondary` and `gvprimary2 ->
/// gfs-b1::gvsecondary2`, listed in `inventory.two-sessions.generated.yaml` (written by
/// `Examples/lab/up.sh` next to the one-session inventory). Same gating and helpers as
/// LabEndToEndTests; each test ends with the lab as `healthyLab()` wants it.
extension LabEndToEndTests {
    /// The two-session inventory: next to the one-session one (RUNBOOK_LAB_INVENTORY's directory).
    var twoSessions: String {
        URL(fileURLWithPath: inventory).deletingLastPathComponent()
            .appendingPathComponent("inventory.two-sessions.generated.yaml").path
    }

    /// The lab's items, in `vars.sessions` order: key (the primary volume), secondary volume.
    var items: [(key: String, secondary: String)] {
        Self.labSessions.map { (key: $0.0, secondary: $0.1) }
    }

    func sessionStatus(_ primary: String, _ secondary: String) throws -> String {
        try gluster("gfs-a1", ["volume", "geo-replication", primary, "gfs-b1::\(secondary)", "status"]).stdout
    }

    func running(_ primary: String, _ secondary: String) throws -> Bool {
        let status = try sessionStatus(primary, secondary)
        return status.contains("Active") && status.contains("Passive")
    }

    /// The journaled instance of step `id` for item `key` (node ids read `id[key]` or `id[key]@host`).
    func instance(_ steps: [StepRecord], _ id: String, _ key: String) -> StepRecord? {
        steps.first { $0.stepID == id && ($0.nodeID == "\(id)[\(key)]" || $0.nodeID.hasPrefix("\(id)[\(key)]@")) }
    }

    /// The process of gfs-b1's brick of a secondary volume (the first of its replica 2, gfs-b1's).
    func brickPID(_ volume: String) throws -> Int32 {
        let info = try gluster("gfs-b1", ["--xml", "volume", "status", volume]).stdout
        return try #require(
            info.components(separatedBy: "<pid>").dropFirst().first?.components(separatedBy: "</pid>").first.flatMap {
                Int32($0)
            })
    }

    @Test func bothSessionsFailOverInOneRunWithoutWaitingForEachOtherThenFailBackTogether() throws {
        try healthyLab()
        try #require(FileManager.default.fileExists(atPath: twoSessions), "up.sh writes \(twoSessions)")
        let stamp = UUID().uuidString.prefix(8)
        for (key, _) in items { try write("/mnt/\(key)/before-\(stamp).txt", "\(key) before the failover\n") }

        // 1. One planned failover of both sessions.
        let state = try newState()
        let run = try timed("failover of two sessions (two checkpoints, in parallel)") {
            try runbook(state, ["run", failover, "-i", twoSessions, "--yes", "--approve", "go-ahead"])
        }
        #expect(run.status == 0, "\(run.stdout.suffix(3000))\(run.stderr.suffix(2000))")
        let failoverRun = try runID(state)
        try expectRanOnlyWhatWasPlanned(state, failoverRun, "the two-session failover")
        let steps = try journal(state).steps(runID: failoverRun)

        // The sessions did not wait for each other: each session's checkpoint was set before the
        // other's wait for it ended (sequential items would set the second checkpoint only after
        // the first wait ended).
        let origin = try #require(steps.compactMap(\.startedAt).min())
        func offset(_ date: Date?) -> String {
            date.map { String(format: "%.1f s", $0.timeIntervalSince(origin)) } ?? "-"
        }
        var waits: [(key: String, checkpointStarted: Date, waitStarted: Date, waitEnded: Date)] = []
        for (key, _) in items {
            let checkpoint = try #require(instance(steps, "checkpoint", key), "checkpoint[\(key)] journaled")
            let wait = try #require(instance(steps, "wait-synced", key), "wait-synced[\(key)] journaled")
            #expect(
                checkpoint.state == .succeeded && [.succeeded, .alreadyDone].contains(wait.state),
                "\(key): \(checkpoint.state), \(wait.state)")
            print(
                "lab interleave: [\(key)] checkpoint \(offset(checkpoint.startedAt))-\(offset(checkpoint.finishedAt)),"
                    + " wait-synced \(offset(wait.startedAt ?? wait.firstReachedAt))-\(offset(wait.finishedAt))")
            waits.append(
                (
                    key, try #require(checkpoint.startedAt), try #require(wait.startedAt ?? wait.firstReachedAt),
                    try #require(wait.finishedAt)
                ))
        }
        let firstDone = try #require(waits.min { $0.waitEnded < $1.waitEnded })
        for other in waits where other.key != firstDone.key {
            let why =
                "[\(other.key)] waited for [\(firstDone.key)]: its checkpoint started \(offset(other.checkpointStarted)), "
                + "its wait \(offset(other.waitStarted)), [\(firstDone.key)]'s wait ended \(offset(firstDone.waitEnded))"
            #expect(
                other.checkpointStarted < firstDone.waitEnded && other.waitStarted < firstDone.waitEnded, "\(why)")
        }
        for (key, secondary) in items {
            #expect(try option("gfs-b1", secondary, "features.read-only") == "off", "\(secondary) writable")
            #expect(try sessionStatus(key, secondary).contains("Stopped"), "\(key)'s session stopped")
            #expect(read("/mnt/\(secondary)/before-\(stamp).txt") == "\(key) before the failover\n")
        }
        #expect(read(clientsFile) == "secondary\n")

        // 2. The failover again: every instance of both items is already done, skipped by its
        //    `when` (the sessions are stopped: nothing to wait for) or a probe that reads the
        //    stopped session (session-state); none changes anything.
        let again = try timed("failover of two sessions again") {
            try runbook(state, ["run", failover, "-i", twoSessions, "--yes", "--approve", "go-ahead"])
        }
        #expect(again.status == 0, "\(again.stdout.suffix(2000))\(again.stderr.suffix(1500))")
        let rerun = try journal(state).steps(runID: try runID(state))
        #expect(try runID(state) != failoverRun)
        let changed = rerun.filter(\.changed).map(\.nodeID)
        #expect(changed.isEmpty, "the re-run changed \(changed)")
        for (key, _) in items {
            let mine = rerun.filter { $0.nodeID.contains("[\(key)]") }
            let byState = Dictionary(grouping: mine, by: { "\($0.state)" }).mapValues(\.count)
            print("lab re-run: [\(key)] \(mine.count) instances: \(byState.sorted { $0.key < $1.key })")
            let other = mine.filter { ![.alreadyDone, .skipped].contains($0.state) }.map(\.nodeID)
            #expect(mine.count > 5 && other.allSatisfy { $0.hasPrefix("session-state[") }, "\(byState): \(other)")
        }

        // 3. Writes on both promoted secondaries, then one failback of both sessions.
        for (key, secondary) in items {
            try write("/mnt/\(secondary)/during-\(stamp).txt", "\(key) written on B during the failover\n")
        }
        let failbackState = try newState()
        let back = try timed("failback of two sessions") {
            try runbook(
                failbackState,
                ["run", failback, "-i", twoSessions, "--yes", "--approve", "begin", "--approve", "commit"])
        }
        #expect(back.status == 0, "\(back.stdout.suffix(3000))\(back.stderr.suffix(2000))")
        let failbackRun = try runID(failbackState)
        try expectRanOnlyWhatWasPlanned(failbackState, failbackRun, "the two-session failback")
        let backSteps = try journal(failbackState).steps(runID: failbackRun)
        for (key, secondary) in items {
            // The index-fed commit of each: its changes listed by glusterfind and replayed.
            for id in ["final-changes", "replay", "verify", "restart-original", "secondary-read-only"] {
                #expect(instance(backSteps, id, key)?.state == .succeeded, "\(id)[\(key)]: \(backSteps.map(\.nodeID))")
            }
            #expect(read("/mnt/\(key)/during-\(stamp).txt") == "\(key) written on B during the failover\n")
            #expect(try option("gfs-b1", secondary, "features.read-only") == "on", "\(secondary) read-only again")
            #expect(try option("gfs-a1", key, "features.read-only") == "off", "\(key) writable again")
            let reverse = try gluster("gfs-b1", ["volume", "geo-replication", secondary, "gfs-a1::\(key)", "status"])
            #expect(!reverse.stdout.contains("Active"), "the reverse session of \(key) is gone: \(reverse.stdout)")
        }
        #expect(read(clientsFile) == "primary\n")
        try waitUntil(120, "both original sessions run primary -> secondary again") {
            try items.allSatisfy { try running($0.key, $0.secondary) }
        }
        try expectReplicating("after the failback of both")
    }

    @Test func aSessionWhoseSecondaryHasABrickDownIsLeftOutTheOtherFailsOverAndRollbackUndoesOnlyIt() throws {
        try healthyLab()
        let (first, firstSecondary) = items[0]
        let (second, secondSecondary) = items[1]
        // gvsecondary2's brick process on gfs-b1 killed (a pid of gfs-b1's PID namespace).
        let pid = try brickPID(secondSecondary)
        _ = try node("gfs-b1", ["kill", "-KILL", "\(pid)"])
        defer {
            // `start force` restarts the brick (every brick online: no `<status>0`); glusterd may refuse
            // while it is busy, so ask again.
            try? waitUntil(120, "\(secondSecondary)'s brick is back") {
                if try !gluster("gfs-b1", ["--xml", "volume", "status", secondSecondary]).stdout.contains(
                    "<status>0</status>")
                {
                    return true
                }
                let start = try gluster("gfs-b1", ["volume", "start", secondSecondary, "force"])
                print("gluster volume start \(secondSecondary) force -> \(start.status) \(start.stdout)\(start.stderr)")
                return false
            }
        }
        try waitUntil(30, "the brick shows offline") {
            try gluster("gfs-b1", ["--xml", "volume", "status", secondSecondary]).stdout.contains("<status>0</status>")
        }
        let brick = "gfs-b1:/bricks/\(secondSecondary)"

        // 1. The plan says which session cannot fail over (its precondition, naming the brick) and,
        //    per the policy, that the other runs.
        let state = try newState()
        let plan = try timed("plan, two sessions, one brick down") {
            try runbook(state, ["plan", failover, "-i", twoSessions])
        }
        print(plan.stdout.suffix(4000))
        print(plan.stderr.suffix(1500))
        let planText = plan.stdout + plan.stderr
        #expect(plan.status == 3, "a precondition fails: \(plan.stderr)")
        #expect(planText.contains("(on_item_failure: isolate)"), "\(plan.stdout)")
        #expect(planText.contains("secondary-bricks-online[\(second)]"), "\(planText)")
        #expect(planText.contains(brick), "the plan names the brick: \(planText)")
        #expect(
            planText.contains("item [\(second)] would be left out"), "the plan says what happens to it: \(plan.stderr)")
        #expect(!planText.contains("would stop before changing anything"), "\(plan.stderr)")
        #expect(planText.contains("+ writable[\(first)]"), "the first session will change: \(plan.stdout)")
        let rollbackOrder = plan.stdout.components(separatedBy: "Rollback order").last ?? ""
        #expect(
            rollbackOrder.contains("writable[\(first)]") && !rollbackOrder.contains("[\(second)]"),
            "the predicted rollback has only what would run: \(rollbackOrder)")

        // 2. The run: the first session fails over, the second is left out (nothing of it runs),
        //    the step that needs every session (go-ahead, then switch-clients) does not run: failed.
        let run = try timed("failover of two sessions, the second left out") {
            try runbook(state, ["run", failover, "-i", twoSessions, "--yes", "--approve", "go-ahead"])
        }
        print(run.stdout.suffix(2500))
        print(run.stderr.suffix(2500))
        #expect(run.status == 1, "\(run.stderr.suffix(2000))")
        let output = run.stdout + run.stderr
        #expect(output.contains("per item (for_each):"), "\(output)")
        #expect(
            output.contains("item [\(second)] left out: precondition secondary-bricks-online[\(second)]"), "\(output)")
        #expect(output.contains(brick), "the run names the brick: \(output)")
        let failedRun = try runID(state)
        let record = try #require(try journal(state).run(id: failedRun))
        #expect(record.status == .failed, "\(record.status)")
        let steps = try journal(state).steps(runID: failedRun)
        #expect(instance(steps, "writable", first)?.changed == true, "\(steps.map(\.nodeID))")
        #expect(instance(steps, "stop-session", first)?.changed == true)
        let notRun: Set<StepState> = [.pending, .skipped, .cancelled]
        let ranForSecond = steps.filter {
            $0.nodeID.contains("[\(second)]") && !$0.nodeID.hasPrefix("secondary-bricks-online[")
                && (!notRun.contains($0.state) || $0.changed)
        }
        #expect(
            ranForSecond.isEmpty,
            "nothing of [\(second)] ran: \(ranForSecond.map { "\($0.nodeID) \($0.state)" })")
        #expect(steps.first { $0.stepID == "switch-clients" }?.changed != true, "clients not switched")
        #expect(try option("gfs-b1", firstSecondary, "features.read-only") == "off")
        #expect(try sessionStatus(first, firstSecondary).contains("Stopped"))
        #expect(try option("gfs-b1", secondSecondary, "features.read-only") == "on")
        // Left as it was: started (its workers are Faulty while its secondary's brick is down).
        #expect(!(try sessionStatus(second, secondSecondary).contains("Stopped")), "the second session was not stopped")
        #expect(read(clientsFile) == "primary\n")

        // 3. `runbook rollback RUN` undoes what changed, per session: the first's secondary is
        //    read-only again and its session restarted; the second had nothing to undo.
        let rollback = try timed("rollback of the run") { try runbook(state, ["rollback", failedRun, "--yes"]) }
        print(rollback.stdout.suffix(2500))
        print(rollback.stderr.suffix(1500))
        #expect(rollback.status == 0, "\(rollback.stdout.suffix(2000))\(rollback.stderr.suffix(2000))")
        let undone = try journal(state).steps(runID: failedRun).filter { $0.state == .undone }.map(\.nodeID)
        print("lab rollback: rolled back \(undone)")
        #expect(undone.contains { $0.hasPrefix("writable[\(first)]") }, "\(undone)")
        #expect(undone.contains { $0.hasPrefix("stop-session[\(first)]") }, "\(undone)")
        #expect(!undone.contains { $0.contains("[\(second)]") }, "nothing of [\(second)] was undone: \(undone)")
        #expect(try option("gfs-b1", firstSecondary, "features.read-only") == "on")
        #expect(try option("gfs-b1", firstSecondary, "geo-replication.indexing") == "off")
        #expect(try option("gfs-b1", secondSecondary, "features.read-only") == "on")
        #expect(try option("gfs-b1", secondSecondary, "geo-replication.indexing") == "off")
        try waitUntil(120, "the first session runs again") { try running(first, firstSecondary) }
        #expect(!(try sessionStatus(second, secondSecondary).contains("Stopped")), "the second session still started")
        #expect(read(clientsFile) == "primary\n")

        // 4. The brick back: the second session, never touched, syncs again (Active + Passive).
        try timed("brick back, the second session Active again") {
            try waitUntil(120, "\(secondSecondary)'s brick is back") {
                if try !gluster("gfs-b1", ["--xml", "volume", "status", secondSecondary]).stdout.contains(
                    "<status>0</status>")
                {
                    return true
                }
                _ = try gluster("gfs-b1", ["volume", "start", secondSecondary, "force"])
                return false
            }
            try waitUntil(180, "the second session runs again") { try running(second, secondSecondary) }
        }
    }

    /// The run's `max_concurrency: 1` over the lab's two sessions (issue 24, item 3): the shipped
    /// drill with the budget added at its top; the plan says it, and the journal's timestamps
    /// show each session's whole drill ended before the other's first step started.
    @Test func withMaxConcurrencyOneTheTwoSessionsDrillOneAfterTheOther() throws {
        try healthyLab()
        try #require(FileManager.default.fileExists(atPath: twoSessions), "up.sh writes \(twoSessions)")
        let state = try newState()
        let shipped = try String(
            contentsOf: root.appendingPathComponent("Runbooks/georep-drill.yaml"), encoding: .utf8)
        try #require(shipped.contains("\nparams:\n"))
        let drill = URL(fileURLWithPath: state).appendingPathComponent("drill-one-at-a-time.yaml").path
        try write(drill, shipped.replacingOccurrences(of: "\nparams:\n", with: "\nmax_concurrency: 1\nparams:\n"))

        let plan = try runbook(state, ["plan", drill, "-i", twoSessions, "--offline"])
        #expect(plan.status == 0, "\(plan.stderr.suffix(2000))")
        #expect(plan.stdout.contains("(max_concurrency: 1) at most 1 of the 2 items changes at once"))

        let run = try timed("drill of two sessions, one at a time") {
            try runbook(state, ["run", drill, "-i", twoSessions, "--yes"])
        }
        #expect(run.status == 0, "\(run.stdout.suffix(3000))\(run.stderr.suffix(2000))")
        let steps = try journal(state).steps(runID: try runID(state))
        let preconditions: Set<String> = [
            "secondary-bricks-online", "georep-key-accepted", "session-running", "snapshot-possible",
        ]
        var spans: [(key: String, start: Date, end: Date, count: Int)] = []
        for (key, _) in items {
            let mine = steps.filter { !preconditions.contains($0.stepID) && $0.nodeID.contains("[\(key)]") }
            let starts = mine.compactMap(\.startedAt)
            let ends = mine.compactMap(\.finishedAt)
            let start = try #require(starts.min(), "[\(key)]: no step started: \(mine.map(\.nodeID))")
            let end = try #require(ends.max(), "[\(key)]: no step finished")
            spans.append((key, start, end, starts.count))
        }
        spans.sort { $0.start < $1.start }
        let origin = spans[0].start
        for span in spans {
            print(
                "lab max_concurrency 1: [\(span.key)] \(span.count) steps from "
                    + String(
                        format: "%.1f s to %.1f s", span.start.timeIntervalSince(origin),
                        span.end.timeIntervalSince(origin)))
        }
        #expect(spans.count == 2 && spans.allSatisfy { $0.count >= 5 })
        #expect(
            spans[0].end <= spans[1].start,
            "[\(spans[1].key)] started \(spans[1].start.timeIntervalSince(origin)) s, before [\(spans[0].key)] ended \(spans[0].end.timeIntervalSince(origin)) s"
        )
    }
}
