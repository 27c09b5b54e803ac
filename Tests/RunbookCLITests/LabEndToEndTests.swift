import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Synchronization
import Testing

/// The shipped GlusterFS runbooks against the two-site lab (`Examples/lab/up.sh`): site A
/// (gfs-a1 + gfs-a2, replica 2 `gvprimary`) and site B (gfs-b1, `gvsecondary`), each node its
/// own namespaces, glusterd and sshd; runbook reaches every node over SSH. Enabled by
/// RUNBOOK_LAB=1, which `.ci/run` sets after bringing the lab up; RUNBOOK_LAB_INVENTORY names
/// the lab's generated inventory.
///
/// One lab bring-up serves the suite. Every test starts from a healthy lab (`healthyLab()`
/// repairs it with `up.sh`, or `up.sh --fresh` when a failover was left behind) and the tests
/// that fail over end with a failback, so the order does not matter. Each test prints
/// `lab timing:` lines (see Examples/lab/README.md for measured values).
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["RUNBOOK_LAB"] == "1",
        "needs the two-site GlusterFS lab: run Examples/lab/up.sh as root and set RUNBOOK_LAB=1 (.ci/run does)"))
struct LabEndToEndTests {
    let binary = PackagePaths.runbookExecutable
    let root = PackagePaths.root
    let environment = ProcessInfo.processInfo.environment
    var inventory: String {
        environment["RUNBOOK_LAB_INVENTORY"]
            ?? PackagePaths.root.appendingPathComponent("Examples/lab/inventory.generated.yaml").path
    }
    var failover: String { root.appendingPathComponent("Runbooks/georep-failover.yaml").path }
    var failback: String { root.appendingPathComponent("Runbooks/georep-failback.yaml").path }
    var labDirectory: String { root.appendingPathComponent("Examples/lab").path }
    let primaryVolume = "gvprimary", secondaryVolume = "gvsecondary"
    /// The root namespace's mounts. A mount of a frozen site's volume hangs: never touch
    /// `primaryMount` while site A is frozen.
    let primaryMount = "/mnt/gvprimary", secondaryMount = "/mnt/gvsecondary"
    let session = "gfs-b1::gvsecondary"
    let clientsFile = "/run/runbook-lab/clients"

    // MARK: - Helpers

    func runbook(_ state: String, _ arguments: [String]) throws -> ProcessOutput {
        var env = environment
        env["RUNBOOK_STATE_DIR"] = state
        env["NO_COLOR"] = "1"
        let start = Date()
        let result = try runProgram(binary, arguments, environment: env)
        print(
            "$ runbook \(arguments.joined(separator: " ")) -> exit \(result.status) in \(Int(Date().timeIntervalSince(start)))s"
        )
        return result
    }

    func lab(_ script: String, _ arguments: [String]) throws -> ProcessOutput {
        let result = try runProgram(URL(fileURLWithPath: "/bin/bash"), ["\(labDirectory)/\(script)"] + arguments)
        print("$ \(script) \(arguments.joined(separator: " ")) -> exit \(result.status)")
        return result
    }

    /// A command inside a node's namespaces (Examples/lab/node.sh).
    func node(_ name: String, _ arguments: [String]) throws -> ProcessOutput {
        try runProgram(URL(fileURLWithPath: "/bin/bash"), ["\(labDirectory)/node.sh", name] + arguments)
    }

    func gluster(_ name: String, _ arguments: [String]) throws -> ProcessOutput {
        try node(name, ["timeout", "60", "gluster", "--mode=script"] + arguments)
    }

    func option(_ name: String, _ volume: String, _ option: String) throws -> String {
        let text = try gluster(name, ["volume", "get", volume, option]).stdout
        for line in text.split(separator: "\n") where line.hasPrefix(option) {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
        }
        return ""
    }

    /// A changelog rollover and one second more: the lab's `changelog.rollover-time`
    /// (Examples/lab/lib.sh `LAB_ROLLOVER`, the same on every volume; read on gfs-b1, which no
    /// test freezes; 15 s when unreadable). A change is in a closed changelog at most this long
    /// after it is made.
    var oneRollover: TimeInterval {
        (Double((try? option("gfs-b1", secondaryVolume, "changelog.rollover-time")) ?? "") ?? 15) + 1
    }

    func sessionStatus() throws -> String {
        try gluster("gfs-a1", ["volume", "geo-replication", primaryVolume, session, "status"]).stdout
    }

    /// Short, so the ssh control sockets fit (multiplexing stays on).
    func newState() throws -> String {
        let path = "/tmp/rbl-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func journal(_ state: String) throws -> Journal {
        try Journal(path: state + "/journal.sqlite", redactor: Redactor(secrets: []))
    }

    func runID(_ state: String) throws -> String {
        try #require(try journal(state).runs(limit: 1).first?.id)
    }

    func waitUntil(_ seconds: Double, _ what: String, every: Double = 2, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: every)
        }
        Issue.record("timed out after \(Int(seconds))s waiting until \(what)")
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    func write(_ path: String, _ text: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    func timed<T>(_ what: String, _ body: () throws -> T) rethrows -> T {
        let start = Date()
        defer { print("lab timing: \(what): \(Int(Date().timeIntervalSince(start).rounded())) s") }
        return try body()
    }

    /// The lab's sessions (Examples/lab/lib.sh `LAB_SESSIONS`): primary volume, secondary volume.
    static let labSessions = [("gvprimary", "gvsecondary"), ("gvprimary2", "gvsecondary2")]

    /// Both sites up, both secondaries read-only and not promoted, clients on the primary, and
    /// both sessions replicating: `health.sh` writes, renames and deletes a marker on each primary
    /// and waits until its secondary shows each change (a status line saying Active/Passive is not
    /// enough: a session can say so and copy nothing). Repairs with up.sh (or `up.sh --fresh`
    /// after a failover).
    func healthyLab() throws {
        try timed("healthy lab check/repair") {
            _ = try lab("site.sh", ["up", "A"])
            _ = try lab("site.sh", ["up", "B"])
            var promoted = false
            for (_, secondary) in Self.labSessions {
                promoted =
                    promoted || (try? option("gfs-b1", secondary, "geo-replication.indexing")) != "off"
                    || (try? option("gfs-b1", secondary, "features.read-only")) != "on"
            }
            var healthy = false
            let provenAgo = Self.replicationProven.withLock { proven in
                defer { proven = nil }
                return proven.map { Date().timeIntervalSince($0) }
            }
            if !promoted, let ago = provenAgo, ago < Self.provenFor {
                // The test before ended with every session proven replicating (expectReplicating)
                // moments ago, and nothing has run since: health.sh would prove it again.
                print("lab health: every session was proven replicating \(Int(ago)) s ago by the last test")
                healthy = true
            } else if !promoted {
                let check = try lab("health.sh", [])
                print(check.stdout + check.stderr)
                healthy = check.status == 0
            }
            if promoted || !healthy {
                var up = try lab("up.sh", promoted ? ["--fresh"] : [])
                if up.status != 0 && !promoted {
                    // A session whose restarted worker gets no live changelog may not recover by
                    // restarts (Examples/lab/README.md, "changelog"); a fresh lab's first start does.
                    print("up.sh could not repair the lab: \(up.stderr.suffix(800)); up.sh --fresh")
                    up = try lab("up.sh", ["--fresh"])
                }
                try #require(up.status == 0, "up.sh: \(up.stdout.suffix(1500))\(up.stderr.suffix(1500))")
            }
            try write(clientsFile, "primary\n")
        }
    }

    /// Every session replicates again: a new file, a rename and a delete made on each primary reach
    /// its secondary (health.sh). What a user needs most after a failback.
    func expectReplicating(_ what: String) throws {
        let check = try timed("\(what): every session replicates a new file, a rename, a delete") {
            try lab("health.sh", [])
        }
        print(check.stdout + check.stderr)
        #expect(check.status == 0, "\(what): \(check.stdout)\(check.stderr)")
        Self.replicationProven.withLock { $0 = check.status == 0 ? Date() : nil }
    }

    /// When the last `expectReplicating` passed (the suite is serialized). The next test's
    /// `healthyLab()` takes it instead of its own health.sh when it is at most `provenFor` old and
    /// the sites are up and the secondaries not promoted; any test takes it only once.
    static let replicationProven = Mutex<Date?>(nil)
    static let provenFor: TimeInterval = 120

    /// Whether a journaled node is an instance of `step`: the step itself (a site-wide step, once
    /// per run) or one of its per-session instances (`writable[gvprimary]`, `x[gvprimary]@gfs-b1`).
    static func isInstance(_ nodeID: String, of step: String) -> Bool {
        nodeID == step || nodeID.hasPrefix(step + "[") || nodeID.hasPrefix(step + "@")
    }

    /// Apply attempts per step of a run (each must be at most 1: applied once).
    func applies(_ state: String, _ run: String) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for attempt in try journal(state).attempts(runID: run) where attempt.phase == .apply {
            counts[attempt.nodeID, default: 0] += 1
        }
        return counts
    }

    // MARK: - Tests

    /// Every command the run's attempts ran is in the journaled plan for that step instance.
    func expectRanOnlyWhatWasPlanned(_ state: String, _ run: String, _ what: String) throws {
        let (violations, checked) = try PlanConformance.check(journal: try journal(state), runID: run)
        print("lab: \(what): \(checked) commands in the journal, all in the plan: \(violations.isEmpty)")
        #expect(checked > 10, "\(what): the journal recorded only \(checked) commands")
        #expect(
            violations.isEmpty,
            "\(what) ran commands its plan does not show:\n\(violations.map(\.description).joined(separator: "\n"))")
    }

    @Test func aKilledSecondaryBrickFailsTheFailoverPreconditionBeforeAnythingChanges() throws {
        try healthyLab()
        try timed("test killed brick on B") {
            let info = try gluster("gfs-b1", ["--xml", "volume", "status", secondaryVolume]).stdout
            let pid = try #require(
                info.components(separatedBy: "<pid>").dropFirst().first?.components(separatedBy: "</pid>").first.flatMap
                { Int32($0) })
            #expect(pid > 0)
            _ = try node("gfs-b1", ["kill", "-KILL", "\(pid)"])  // a pid of gfs-b1's PID namespace
            defer {
                // `start force` restarts the brick (every brick online: no `<status>0`); glusterd may refuse
                // while it is busy, so ask again.
                try? waitUntil(120, "the secondary brick is back") {
                    if try !gluster("gfs-b1", ["--xml", "volume", "status", secondaryVolume]).stdout.contains(
                        "<status>0</status>")
                    {
                        return true
                    }
                    let start = try gluster("gfs-b1", ["volume", "start", secondaryVolume, "force"])
                    print(
                        "gluster volume start \(secondaryVolume) force -> \(start.status) \(start.stdout)\(start.stderr)"
                    )
                    return false
                }
            }
            try waitUntil(30, "the brick shows offline") {
                try gluster("gfs-b1", ["--xml", "volume", "status", secondaryVolume]).stdout.contains(
                    "<status>0</status>")
            }
            let readOnlyBefore = try option("gfs-b1", secondaryVolume, "features.read-only")
            let state = try newState()
            let result = try runbook(state, ["run", failover, "-i", inventory, "--yes"])
            // The precondition is per session: the lab's one session is left out (isolate), nothing
            // of it runs, the gate and the client switch (every session's) do not: exit 1.
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("secondary-bricks-online[gvprimary]"), "\(result.stderr)")
            #expect(result.stderr.contains("item [gvprimary] left out"), "\(result.stderr)")
            #expect(
                result.stderr.contains("gfs-b1:/bricks/\(secondaryVolume)"),
                "the message names the brick: \(result.stderr)")
            #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == readOnlyBefore)
        }
    }

    @Test func plannedFailoverRollbackFailoverAndFailbackOverSSH() throws {
        try healthyLab()
        let stamp = UUID().uuidString.prefix(8)
        let before = "\(primaryMount)/before-failover-\(stamp).txt"
        try write(before, "written on the primary \(stamp)\n")

        // 1. The plan against the healthy lab: the changes it will make, with what it observed
        //    over SSH on each site.
        let state = try newState()
        let plan = try timed("plan (planned)") { try runbook(state, ["plan", failover, "-i", inventory]) }
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("+ writable[gvprimary]  on gfs-b1"), "\(plan.stdout)")
        #expect(plan.stdout.contains("features.read-only is 'on'"), "\(plan.stdout)")
        #expect(plan.stdout.contains("+ stop-session[gvprimary]  on gfs-a1"), "\(plan.stdout)")

        // 2. A failover parked at its go-ahead gate, then rolled back: options and session as before.
        let parked = try timed("failover to the gate (a checkpoint)") {
            try runbook(state, ["run", failover, "-i", inventory, "--yes"])
        }
        #expect(parked.status == 4, "\(parked.stderr)")
        #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == "off")
        let parkedRun = try runID(state)
        let rollback = try timed("rollback") { try runbook(state, ["rollback", parkedRun, "--yes"]) }
        #expect(rollback.status == 0, "\(rollback.stderr)")
        #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == "on")
        #expect(try option("gfs-b1", secondaryVolume, "geo-replication.indexing") == "off")
        try waitUntil(120, "the session runs again") {
            let status = try sessionStatus()
            return status.contains("Active") && status.contains("Passive")
        }

        // 3. The failover for real.
        let run = try timed("failover (a checkpoint)") {
            try runbook(state, ["run", failover, "-i", inventory, "--yes", "--approve", "go-ahead"])
        }
        #expect(run.status == 0, "\(run.stderr)")
        try expectRanOnlyWhatWasPlanned(state, try runID(state), "the failover")
        #expect(read("\(secondaryMount)/before-failover-\(stamp).txt") == "written on the primary \(stamp)\n")
        #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == "off")
        #expect(try sessionStatus().contains("Stopped"))
        let during = "\(secondaryMount)/during-failover-\(stamp).txt"
        try write(during, "written on the secondary during the failover \(stamp)\n")

        // Re-running changes nothing, and the plan says so.
        let again = try runbook(state, ["run", failover, "-i", inventory, "--yes"])
        #expect(again.status == 0, "\(again.stderr)")
        let changed = try journal(state).steps(runID: try runID(state)).filter(\.changed).map(\.nodeID)
        #expect(changed.isEmpty, "re-run changed \(changed)")
        #expect(read(clientsFile) == "secondary\n")
        let planAfter = try runbook(state, ["plan", failover, "-i", inventory])
        #expect(planAfter.stdout.contains(" 0 will change, "), "\(planAfter.stdout)")
        #expect(planAfter.stdout.contains("= writable[gvprimary]"))

        // 4. Failback: start, status (in progress, then completed), commit.
        let failbackState = try newState()
        let back = try timed("failback (two checkpoints)") {
            try runbook(
                failbackState,
                [
                    "run", failback, "-i", inventory, "--yes", "--approve", "begin", "--approve", "commit", "--events",
                    failbackState + "/events.jsonl",
                ])
        }
        #expect(back.status == 0, "\(back.stderr)")
        try expectRanOnlyWhatWasPlanned(failbackState, try runID(failbackState), "the failback")
        let events = read(failbackState + "/events.jsonl") ?? ""
        let polls = events.split(separator: "\n").filter {
            $0.contains("\"step\":\"sync-status") && $0.contains("gate.poll")
        }
        #expect(polls.contains { $0.contains("Sync Completed") }, "\(polls)")
        #expect(
            read("\(primaryMount)/during-failover-\(stamp).txt")
                == "written on the secondary during the failover \(stamp)\n")
        #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == "on")
        #expect(try option("gfs-a1", primaryVolume, "features.read-only") == "off")
        #expect(read(clientsFile) == "primary\n")
        try waitUntil(120, "the original session runs primary -> secondary again") {
            let status = try sessionStatus()
            return status.contains("Active") && status.contains("Passive")
        }
        try expectReplicating("after the failback")
        let reverse = try gluster(
            "gfs-b1", ["volume", "geo-replication", secondaryVolume, "gfs-a1::\(primaryVolume)", "status"])
        #expect(!reverse.stdout.contains("Active"), "the reverse session is gone: \(reverse.stdout)")
    }

    @Test func unplannedFailoverWithSiteAFrozenThenSiteAComesBackThenFailback() throws {
        try healthyLab()
        let stamp = UUID().uuidString.prefix(8)
        let shared = "shared-\(stamp).txt"
        let late = "late-\(stamp).txt"
        let window = "window-\(stamp).txt"

        // 1. A file that reached B, then a newer version of it and a new file on A that the
        //    session may not have shipped yet when the site freezes (the changelog rolls over every
        //    5 s: usually not; the test prints which, and holds in both cases).
        try write("\(primaryMount)/\(shared)", "v1 from A\n")
        try timed("a new file reaches B") {
            try waitUntil(180, "\(shared) reaches B", every: 3) { read("\(secondaryMount)/\(shared)") == "v1 from A\n" }
        }
        try write("\(primaryMount)/\(shared)", "v2 from A, never synced\n")
        try write("\(primaryMount)/\(late)", "written on A just before it froze\n")
        let freeze = try lab("site.sh", ["freeze", "A"])
        try #require(freeze.status == 0, "\(freeze.stderr)")
        var siteAFrozen = true
        defer { if siteAFrozen { _ = try? lab("site.sh", ["up", "A"]) } }
        let unsynced = read("\(secondaryMount)/\(late)") == nil
        print("A's last writes were \(unsynced ? "not yet" : "already") on B when A froze")

        // 2. The plan says up front what is skipped and that A does not answer; it waits on A
        //    once, for at most the connect timeout (5 s in the lab inventory).
        let state = try newState()
        let plan = try timed("plan --mode unplanned, A frozen") {
            try runbook(state, ["plan", failover, "-i", inventory, "--mode", "unplanned"])
        }
        print(plan.stdout)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("- session-state[gvprimary]"), "skipped by mode, no host asked: \(plan.stdout)")
        #expect(plan.stdout.contains("- stop-session[gvprimary]  on gfs-a1"), "\(plan.stdout)")
        #expect(plan.stdout.contains("= primary-answers  on gfs-a1"), "\(plan.stdout)")
        #expect(plan.stdout.contains("unreachable: Connection timed out during banner exchange"), "\(plan.stdout)")
        #expect(
            plan.stdout.contains("skipped: when: steps.primary-answers.outputs.reachable is false"), "\(plan.stdout)")
        // On every node of site B: a returning worker of A may connect to either.
        for node in ["gfs-b1", "gfs-b2"] {
            #expect(plan.stdout.contains("+ fence-old-session@\(node)  on \(node)"), "\(plan.stdout)")
        }
        #expect(plan.stdout.contains("+ writable[gvprimary]  on gfs-b1"), "\(plan.stdout)")

        // 3. The run: nothing needs A; the one probe of A gives up after the connect timeout.
        let start = Date()
        let run = try timed("unplanned failover, A frozen") {
            try runbook(
                state, ["run", failover, "-i", inventory, "--mode", "unplanned", "--yes", "--approve", "go-ahead"])
        }
        let elapsed = Date().timeIntervalSince(start)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(elapsed < 90, "took \(Int(elapsed)) s")
        let unplannedRun = try runID(state)
        let steps = try journal(state).steps(runID: unplannedRun)
        for step in steps where step.host?.hasPrefix("gfs-a") == true {
            #expect(
                step.state == .skipped || step.nodeID == "primary-answers",
                "\(step.nodeID) on \(step.host ?? "?"): \(step.state)")
        }
        let probeOfA = try #require(steps.first { $0.nodeID == "primary-answers" })
        if let started = probeOfA.startedAt, let finished = probeOfA.finishedAt {
            #expect(
                finished.timeIntervalSince(started) < 5 + 4,
                "the probe of A waited \(finished.timeIntervalSince(started)) s (connect timeout 5 s)")
        }
        #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == "off")
        #expect(read(clientsFile) == "secondary\n")

        // 4. B is writable: a new file, and a new version of the file A also changed.
        try write("\(secondaryMount)/\(shared)", "v3 written on B during the window\n")
        try write("\(secondaryMount)/\(window)", "written on B during the window\n")

        // 5. Site A comes back: its glusterd and the old session's workers carry on. What was
        //    written on B must stay (without the fence, A's v2 replaced B's v3 within one
        //    15-s rollover). Watched for six rollovers (at least 30 s).
        let watch = max(30, 6 * oneRollover)
        let up = try lab("site.sh", ["up", "A"])
        try #require(up.status == 0, "\(up.stderr)")
        siteAFrozen = false
        try timed("watch B after A came back (\(Int(watch)) s)") {
            let until = Date().addingTimeInterval(watch)
            while Date() < until {
                #expect(
                    read("\(secondaryMount)/\(shared)") == "v3 written on B during the window\n",
                    "A's old session overwrote B's write")
                #expect(
                    read("\(secondaryMount)/\(window)") == "written on B during the window\n",
                    "B's new file was removed")
                if unsynced { #expect(read("\(secondaryMount)/\(late)") == nil, "A's old session wrote to B") }
                if read("\(secondaryMount)/\(shared)") != "v3 written on B during the window\n" { break }
                Thread.sleep(forTimeInterval: 5)
            }
        }
        print("session on A after it came back:\n\(try sessionStatus())")

        // 6. Failback: stops A's old session first (force), syncs B -> A, puts the fenced keys
        //    back and restarts the original session. A's last new file never reached B: the
        //    replay keeps it (B has nothing with its gfid) and the commit gate shows it, instead
        //    of deleting it as a stale name of the root directory.
        let failbackState = try newState()
        var back = try timed("failback after the unplanned failover") {
            try runbook(
                failbackState, ["run", failback, "-i", inventory, "--yes", "--approve", "begin", "--approve", "commit"])
        }
        if unsynced {
            #expect(back.status == 4, "parks at the differences gate: \(back.stdout.suffix(3000))\(back.stderr)")
            let parked = try runID(failbackState)
            let status = try runbook(failbackState, ["status", parked])
            print(status.stdout.suffix(2000))
            #expect(status.stdout.contains("- \(late)"), "the gate shows A's never-synced file: \(status.stdout)")
            #expect(read("\(primaryMount)/\(late)") == "written on A just before it froze\n", "kept, not removed")
            let replay = try outputs(failbackState, parked, "replay")
            print("lab: replay kept as never synced: \(replay["unsynced"] ?? "none")")
            #expect(replay["kept_unsynced"] as? Int ?? 0 >= 1, "\(replay)")
            let reason = "A's last write before it was lost is wanted"
            let approve = try runbook(
                failbackState, ["approve", parked, "differences[\(primaryVolume)]", "--by", "lab", "--reason", reason])
            #expect(approve.status == 0, "\(approve.stderr)")
            // The approval copies what only B has or changed (`copy-differences`) and diffs again;
            // A's own file is still a difference, accepted at the second gate.
            back = try timed("resume after the approval") {
                try runbook(failbackState, ["resume", parked, "--approve", "accept-differences[\(primaryVolume)]"])
            }
        }
        #expect(back.status == 0, "\(back.stdout.suffix(3000))\(back.stderr)")
        if unsynced { #expect(read("\(primaryMount)/\(late)") == "written on A just before it froze\n") }
        let backSteps = try journal(failbackState).steps(runID: try runID(failbackState))
        #expect(
            backSteps.first { Self.isInstance($0.nodeID, of: "stop-original") }?.changed == true,
            "the old session was running and was stopped")
        for node in ["gfs-b1", "gfs-b2"] {
            #expect(
                backSteps.first { $0.nodeID == "unfence@\(node)" }?.changed == true,
                "the fenced keys were put back on \(node)")
        }
        #expect(read("\(primaryMount)/\(window)") == "written on B during the window\n")
        #expect(read("\(primaryMount)/\(shared)") == "v3 written on B during the window\n")
        #expect(read("\(secondaryMount)/\(shared)") == "v3 written on B during the window\n")
        #expect(read(clientsFile) == "primary\n")
        try waitUntil(120, "the original session runs primary -> secondary again") {
            let status = try sessionStatus()
            return status.contains("Active") && status.contains("Passive")
        }
        try expectReplicating("after the failback")
    }

    @Test func theLinkToADropsBetweenTheCatchUpAndTheStopThenResumeFinishes() throws {
        try healthyLab()
        let state = try newState()
        // The failover's `after-sync` hook runs on the controller once the secondary caught up,
        // right before `stop-session`: it takes site A's links down at exactly that moment.
        let hook = "after_sync=[bash, \(labDirectory)/site.sh, down, A]"
        var siteADown = false
        defer { if siteADown { _ = try? lab("site.sh", ["up", "A"]) } }
        let failed = try timed("planned failover, link to A dropped before the stop") {
            try runbook(state, ["run", failover, "-i", inventory, "-p", hook, "--yes", "--approve", "go-ahead"])
        }
        siteADown = true
        print(failed.stdout.suffix(2500))
        print(failed.stderr.suffix(1500))
        #expect(failed.status == 1, "\(failed.stderr)")
        let output = failed.stdout + failed.stderr
        #expect(output.contains("stop-session"), "\(output)")
        #expect(output.contains("gfs-a1 is unreachable"), "the host is named as unreachable: \(output)")
        let failedRun = try runID(state)
        let record = try #require(try journal(state).run(id: failedRun))
        #expect(record.status == .failed, "stopped, not rolled back: \(record.status)")
        #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == "on", "nothing after the stop ran")

        let up = try lab("site.sh", ["up", "A"])
        try #require(up.status == 0, "\(up.stderr)")
        siteADown = false
        // As an operator would: the site's glusterds see each other again before the resume
        // (gluster refuses a geo-rep stop while a peer of the volume is down: "Peer gfs-a2, which
        // is a part of gvprimary volume, is down. Please bring up the peer and retry.").
        try waitUntil(120, "site A's peers are connected again") {
            let pool = try gluster("gfs-a1", ["pool", "list"])
            return pool.status == 0 && pool.stdout.contains("Connected") && !pool.stdout.contains("Disconnected")
        }
        let resumed = try timed("resume after site.sh up A") {
            try runbook(state, ["resume", failedRun, "--approve", "go-ahead"])
        }
        #expect(resumed.status == 0, "\(resumed.stdout.suffix(2500))\(resumed.stderr)")
        let applies = try applies(state, failedRun)
        print("apply attempts per step: \(applies.sorted { $0.key < $1.key })")
        for (step, count) in applies { #expect(count == 1, "\(step) applied \(count) times") }
        for step in [
            "checkpoint-marker", "after-sync", "stop-session", "writable", "indexing", "changelog", "switch-clients",
        ] {
            let count = applies.filter { Self.isInstance($0.key, of: step) }.values.reduce(0, +)
            #expect(count == 1, "\(step) applied once: \(applies)")
        }
        #expect(try sessionStatus().contains("Stopped"))
        #expect(try option("gfs-b1", secondaryVolume, "features.read-only") == "off")
        #expect(read(clientsFile) == "secondary\n")

        // Back to the lab's normal state for whatever runs next.
        let back = try timed("failback after the resumed failover") {
            try runbook(
                try newState(),
                ["run", failback, "-i", inventory, "--yes", "--approve", "begin", "--approve", "commit"])
        }
        #expect(back.status == 0, "\(back.stdout.suffix(2000))\(back.stderr)")
    }
}
