import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// Issue 12, item 4 on the lab: glusterfind's faults on site A's replica 2 `gvprimary` (bricks on
/// gfs-a1 and gfs-a2), with two small runbooks in `Fixtures/`, as the failover and the failback
/// use the types: `lab-glusterfind-session.yaml` (the typed `glusterfind.session` on gfs-a1, both
/// brick nodes in `nodes`), then `lab-glusterfind-changes.yaml` (`glusterfind.changes`, then a
/// `tree.replay` of the list into a plain directory on gfs-a1). No failover: each test takes
/// under a minute. Each ends with the lab as it was: gfs-a2 back and the pool connected, the
/// session deleted, the volume options `glusterfind create` set put back.
extension LabEndToEndTests {
    var sessionRunbook: String {
        root.appendingPathComponent("Tests/RunbookCLITests/Fixtures/lab-glusterfind-session.yaml").path
    }
    var changesRunbook: String {
        root.appendingPathComponent("Tests/RunbookCLITests/Fixtures/lab-glusterfind-changes.yaml").path
    }
    /// The fixture runbook's defaults.
    var faultSession: String { "labfault" }
    var faultList: String { "/var/tmp/rbl-gfind-fault.txt" }
    var faultTarget: String { "/var/tmp/rbl-gfind-fault-target" }
    /// What `glusterfind create` turns on (notes §1.4).
    var glusterfindOptions: [String] { ["changelog.changelog", "changelog.capture-del-path", "storage.build-pgfid"] }

    func primaryOptions() throws -> [String: String] {
        var values: [String: String] = [:]
        for name in glusterfindOptions { values[name] = try option("gfs-a1", primaryVolume, name) }
        return values
    }

    /// gfs-a2 back, the pool connected both ways, no session `labfault`, the options as `before`,
    /// the list and the replay target removed.
    func restoreAfterGlusterfindFault(_ before: [String: String]) {
        _ = try? lab("site.sh", ["up", "gfs-a2"])
        try? waitUntil(90, "gfs-a1 and gfs-a2 see each other Connected") {
            let one = try gluster("gfs-a1", ["pool", "list"]).stdout
            let two = try gluster("gfs-a2", ["pool", "list"]).stdout
            return [one, two].allSatisfy { text in
                text.split(separator: "\n").dropFirst().allSatisfy { $0.contains("Connected") }
                    && text.split(separator: "\n").count == 3
            }
        }
        if (try? node("gfs-a1", ["glusterfind", "list"]).stdout.contains(faultSession)) == true {
            let deleted = try? node("gfs-a1", ["glusterfind", "delete", faultSession, primaryVolume])
            print("glusterfind delete \(faultSession) -> \(deleted?.status ?? -1) \(deleted?.stdout ?? "")")
        }
        for (name, value) in before.sorted(by: { $0.key < $1.key })
        where (try? option("gfs-a1", primaryVolume, name)) != value {
            let set = try? gluster("gfs-a1", ["volume", "set", primaryVolume, name, value])
            print("gluster volume set \(primaryVolume) \(name) \(value) -> \(set?.status ?? -1)")
        }
        _ = try? node("gfs-a1", ["rm", "-rf", faultList, faultList + ".replay", faultTarget])
    }

    /// A node down before `pre`: glusterfind reaches gfs-a2's brick over root ssh, which fails at once
    /// (`No route to host`); with `--disable-partial` pre exits 1 (without it, exit 0 and a list of
    /// gfs-a1's brick only). The changes step fails naming gfs-a2 and the cause, the replay does not
    /// run; with gfs-a2 back, `resume` lists and replays.
    @Test func aBrickNodeDownAtPreStopsTheChangesStepAndNothingIsReplayedUntilItIsBack() throws {
        try healthyLab()
        let before = try primaryOptions()
        defer { restoreAfterGlusterfindFault(before) }
        _ = try node("gfs-a1", ["rm", "-rf", faultList, faultTarget])
        #expect(try node("gfs-a1", ["mkdir", "-p", faultTarget]).status == 0)

        let created = try newState()
        let session = try timed("glusterfind session on gvprimary") {
            try runbook(created, ["run", sessionRunbook, "-i", inventory, "--yes"])
        }
        try #require(session.status == 0, "\(session.stdout.suffix(2000))\(session.stderr)")
        let index = try outputs(created, try runID(created), "index")
        print("lab: session time \(index["session_time"] ?? "none")")

        // The changes: after the session time (create + one rollover), and one rollover
        // before the pre, so that a pre that works lists them.
        let dir = "gfault-\(String(UUID().uuidString.prefix(8)).lowercased())"
        try timed("changes on gvprimary, one rollover either side") {
            Thread.sleep(forTimeInterval: oneRollover)
            try make("\(primaryMount)/\(dir)", ["one.txt": "one\n", "sub dir/two 2.txt": "two\n"])
            Thread.sleep(forTimeInterval: oneRollover)
        }

        let down = try lab("site.sh", ["down", "gfs-a2"])
        try #require(down.status == 0, "site.sh down gfs-a2: \(down.stderr)")
        let state = try newState()
        let failed = try timed("the change list with gfs-a2 down: the changes step fails") {
            try runbook(state, ["run", changesRunbook, "-i", inventory, "--yes", "--approve", "commit"])
        }
        let run = try runID(state)
        let output = failed.stdout + failed.stderr
        print(output.suffix(2500))
        #expect(failed.status == 1, "\(output.suffix(2000))")
        #expect(output.contains("changes on gfs-a1: failed"), "the step and its host are named")
        #expect(output.contains("pre failed on gfs-a2"), "the node is named: \(output.suffix(2000))")
        #expect(output.contains("No route to host"), "the cause is said: \(output.suffix(2000))")
        #expect(output.contains("runbook resume"), "what to do next is said")
        var steps = try journal(state).steps(runID: run)
        #expect(steps.first { $0.nodeID == "changes" }?.state == .failed)
        #expect(steps.first { $0.nodeID == "replay" }.map { [.pending, .skipped].contains($0.state) } == true)
        #expect(try journal(state).attempts(runID: run).filter { $0.nodeID == "replay" }.isEmpty, "no replay")
        #expect(try node("gfs-a1", ["test", "-e", faultList]).status == 1, "glusterfind wrote no list")
        #expect(try node("gfs-a1", ["ls", "-A", faultTarget]).stdout.isEmpty, "nothing replayed")

        // gfs-a2 back: the same run lists both bricks and replays.
        let up = try lab("site.sh", ["up", "gfs-a2"])
        try #require(up.status == 0, "site.sh up gfs-a2: \(up.stderr)")
        let resumed = try timed("resume with gfs-a2 back: list and replay") { try runbook(state, ["resume", run]) }
        #expect(resumed.status == 0, "\(resumed.stdout.suffix(2000))\(resumed.stderr)")
        steps = try journal(state).steps(runID: run)
        #expect(steps.first { $0.nodeID == "replay" }?.state == .succeeded)
        let changes = try outputs(state, run, "changes")
        print("lab: changes \(changes)")
        #expect(changes["bricks"] as? Int == 2, "both bricks' status files checked: \(changes)")
        #expect((changes["new"] as? Int ?? 0) >= 4, "the directory, its subdirectory and two files: \(changes)")
        let copied = try node("gfs-a1", ["cat", "\(faultTarget)/\(dir)/sub dir/two 2.txt"])
        #expect(copied.stdout == "two\n", "replayed once the list is whole: \(copied.stderr)")
    }

    /// A missing prerequisite on a brick node that is not the session's: `.keys` hidden on gfs-a2.
    /// The session step's check names the node, what is missing and the fix; nothing is created
    /// (no session, the volume options untouched).
    @Test func aMissingKeysDirectoryOnABrickNodeStopsTheSessionBeforeAnythingIsCreated() throws {
        try healthyLab()
        let before = try primaryOptions()
        defer { restoreAfterGlusterfindFault(before) }
        let keys = "/var/lib/glusterd/glusterfind/.keys"
        let hidden = "/var/lib/glusterd/glusterfind/.keys.rbl-hidden"
        #expect(try node("gfs-a2", ["mv", keys, hidden]).status == 0)
        defer { _ = try? node("gfs-a2", ["mv", hidden, keys]) }

        let state = try newState()
        let failed = try timed("glusterfind session with .keys missing on gfs-a2") {
            try runbook(state, ["run", sessionRunbook, "-i", inventory, "--yes"])
        }
        let output = failed.stdout + failed.stderr
        print(output.suffix(2500))
        #expect(failed.status != 0 && failed.status != 4, "fails, does not park: \(output.suffix(2000))")
        #expect(output.contains("index"), "the step is named")
        #expect(output.contains("on gfs-a2: \(keys) does not exist"), "the node and what: \(output.suffix(2000))")
        #expect(output.contains("mkdir -p \(keys)"), "the fix: \(output.suffix(2000))")
        #expect(!(try node("gfs-a1", ["glusterfind", "list"]).stdout.contains(faultSession)), "no session created")
        #expect(try primaryOptions() == before, "glusterfind create did not run: the options are unchanged")
        let index = try #require(try journal(state).steps(runID: try runID(state)).first { $0.nodeID == "index" })
        #expect(index.state == .failed && !index.changed, "\(index.state), changed \(index.changed)")
    }

    // MARK: - Site B (two nodes since issue 17): the failback's list on gvsecondary

    var sessionRunbookB: String {
        root.appendingPathComponent("Tests/RunbookCLITests/Fixtures/lab-glusterfind-session-b.yaml").path
    }
    var changesRunbookB: String {
        root.appendingPathComponent("Tests/RunbookCLITests/Fixtures/lab-glusterfind-changes-b.yaml").path
    }

    func secondaryOptions() throws -> [String: String] {
        var values: [String: String] = [:]
        for name in glusterfindOptions { values[name] = try option("gfs-b1", secondaryVolume, name) }
        return values
    }

    /// gfs-b2 back, site B's pool connected, no session `labfault` on gvsecondary, its options as
    /// `before`, the list and the replay target removed from gfs-b1.
    func restoreSiteBAfterGlusterfindFault(_ before: [String: String]) {
        _ = try? lab("site.sh", ["up", "gfs-b2"])
        try? waitUntil(90, "gfs-b1 and gfs-b2 see each other Connected") {
            let one = try gluster("gfs-b1", ["pool", "list"]).stdout
            let two = try gluster("gfs-b2", ["pool", "list"]).stdout
            return [one, two].allSatisfy { text in
                text.split(separator: "\n").dropFirst().allSatisfy { $0.contains("Connected") }
                    && text.split(separator: "\n").count == 3
            }
        }
        if (try? node("gfs-b1", ["glusterfind", "list"]).stdout.contains(faultSession)) == true {
            let deleted = try? node("gfs-b1", ["glusterfind", "delete", faultSession, secondaryVolume])
            print("glusterfind delete \(faultSession) -> \(deleted?.status ?? -1) \(deleted?.stdout ?? "")")
        }
        for (name, value) in before.sorted(by: { $0.key < $1.key })
        where (try? option("gfs-b1", secondaryVolume, name)) != value {
            let set = try? gluster("gfs-b1", ["volume", "set", secondaryVolume, name, value])
            print("gluster volume set \(secondaryVolume) \(name) \(value) -> \(set?.status ?? -1)")
        }
        _ = try? node("gfs-b1", ["rm", "-rf", faultList, faultList + ".replay", faultTarget])
        waitForSiteBHeals()
    }

    /// The site-B fault tests' start: an empty replay target on gfs-b1, the glusterfind session on
    /// gvsecondary (both brick nodes), then `files` written under a new directory on the primary
    /// after the session time (one rollover), synced to the secondary by the geo-rep session (each
    /// with its content), and one rollover of the secondary's changelog before the list. Returns
    /// the directory's name.
    func siteBSessionThenChanges(_ prefix: String, _ files: [String: String]) throws -> String {
        _ = try node("gfs-b1", ["rm", "-rf", faultList, faultTarget])
        #expect(try node("gfs-b1", ["mkdir", "-p", faultTarget]).status == 0)
        let created = try newState()
        let session = try timed("glusterfind session on gvsecondary (gfs-b1, gfs-b2)") {
            try runbook(created, ["run", sessionRunbookB, "-i", inventory, "--yes"])
        }
        try #require(session.status == 0, "\(session.stdout.suffix(2000))\(session.stderr)")
        let dir = "\(prefix)-\(String(UUID().uuidString.prefix(8)).lowercased())"
        try timed("changes on gvprimary reach gvsecondary, one rollover either side") {
            Thread.sleep(forTimeInterval: oneRollover)
            try make("\(primaryMount)/\(dir)", files)
            try waitUntil(90, "the changes reach gvsecondary") {
                files.allSatisfy { name, text in read("\(secondaryMount)/\(dir)/\(name)") == text }
            }
            Thread.sleep(forTimeInterval: oneRollover)
        }
        return dir
    }

    /// Site B's replicated volumes healed: gfs-b2 back from a freeze or an outage missed what was
    /// written meanwhile on gfs-b1 (gvsecondary, gvsecondary2, the meta volume). Until the
    /// self-heal daemon has copied it, a rename or delete the next test's session replays can
    /// meet the stale entry on gfs-b2. An index heal is asked for at once (the daemon's own crawl
    /// runs every 10 minutes), then `heal info` must show both bricks with no entry.
    func waitForSiteBHeals() {
        let volumes = [secondaryVolume, "gvsecondary2", "gluster_shared_storage"]
        for volume in volumes { _ = try? gluster("gfs-b1", ["volume", "heal", volume]) }
        for volume in volumes {
            do {
                try timed("\(volume): heal info shows nothing pending") {
                    try waitUntil(180, "gluster volume heal \(volume) info: no entry on either brick") {
                        let info = try gluster("gfs-b1", ["volume", "heal", volume, "info"]).stdout
                        let counts = info.split(separator: "\n").filter { $0.hasPrefix("Number of entries:") }
                        return counts.count == 2 && counts.allSatisfy { $0.hasSuffix(": 0") }
                    }
                }
            } catch {
                Issue.record("site B not healed after the fault, the next test would meet stale entries: \(error)")
            }
        }
    }

    /// Issue 17, item 4: a node of site B down at the failback's `pre`. The list is made on
    /// gvsecondary (replica 2 on gfs-b1 and gfs-b2) from gfs-b1, as the failback's final-changes
    /// does; with gfs-b2 taken away (`site.sh down gfs-b2`) the list refuses to be partial
    /// (`--disable-partial`): the changes step fails naming gfs-b2 and the cause, nothing is
    /// replayed; with gfs-b2 back, `resume` lists both bricks and replays. The changes reach
    /// gvsecondary the way a failover window's do not, through the session, which is all the list
    /// needs: it reads the secondary's changelogs.
    @Test func aSiteBNodeDownAtPreStopsTheListOfTheSecondaryAndNamesTheNode() throws {
        try healthyLab()
        let before = try secondaryOptions()
        defer { restoreSiteBAfterGlusterfindFault(before) }
        let dir = try siteBSessionThenChanges("gfault-b", ["one.txt": "one\n", "sub dir/two 2.txt": "two\n"])

        let down = try lab("site.sh", ["down", "gfs-b2"])
        try #require(down.status == 0, "site.sh down gfs-b2: \(down.stderr)")
        let state = try newState()
        let failed = try timed("the change list with gfs-b2 down: the changes step fails") {
            try runbook(state, ["run", changesRunbookB, "-i", inventory, "--yes", "--approve", "commit"])
        }
        let run = try runID(state)
        let output = failed.stdout + failed.stderr
        print(output.suffix(2500))
        #expect(failed.status == 1, "\(output.suffix(2000))")
        #expect(output.contains("changes on gfs-b1: failed"), "the step and its host are named")
        #expect(output.contains("pre failed on gfs-b2"), "the node is named: \(output.suffix(2000))")
        #expect(output.contains("No route to host"), "the cause is said: \(output.suffix(2000))")
        #expect(output.contains("runbook resume"), "what to do next is said")
        var steps = try journal(state).steps(runID: run)
        #expect(steps.first { $0.nodeID == "changes" }?.state == .failed)
        #expect(try journal(state).attempts(runID: run).filter { $0.nodeID == "replay" }.isEmpty, "no replay")
        #expect(try node("gfs-b1", ["test", "-e", faultList]).status == 1, "glusterfind wrote no list")
        #expect(try node("gfs-b1", ["ls", "-A", faultTarget]).stdout.isEmpty, "nothing replayed")

        let up = try lab("site.sh", ["up", "gfs-b2"])
        try #require(up.status == 0, "site.sh up gfs-b2: \(up.stderr)")
        let resumed = try timed("resume with gfs-b2 back: list and replay") { try runbook(state, ["resume", run]) }
        #expect(resumed.status == 0, "\(resumed.stdout.suffix(2000))\(resumed.stderr)")
        steps = try journal(state).steps(runID: run)
        #expect(steps.first { $0.nodeID == "replay" }?.state == .succeeded)
        let changes = try outputs(state, run, "changes")
        print("lab: changes \(changes)")
        #expect(changes["bricks"] as? Int == 2, "both bricks' status files checked: \(changes)")
        #expect((changes["new"] as? Int ?? 0) >= 4, "the directory, its subdirectory and two files: \(changes)")
        let copied = try node("gfs-b1", ["cat", "\(faultTarget)/\(dir)/sub dir/two 2.txt"])
        #expect(copied.stdout == "two\n", "replayed once the list is whole: \(copied.stderr)")
        #expect(
            try journal(state).attempts(runID: run).filter { $0.nodeID == "replay" && $0.phase == .apply }.count == 1,
            "the replay applied once")
        try? FileManager.default.removeItem(atPath: "\(primaryMount)/\(dir)")
    }

    var gatedChangesRunbookB: String {
        root.appendingPathComponent("Tests/RunbookCLITests/Fixtures/lab-glusterfind-changes-b-gated.yaml").path
    }

    /// Issue 17, item 4, the second fault: `gfs-b2` frozen (`site.sh freeze gfs-b2`: SIGSTOP, its
    /// connections hang) during the replay, from the replay's first operation on: the list is made
    /// with both of gvsecondary's brick nodes, the run parks at a gate before the replay, gfs-b2 is
    /// frozen, and the run is resumed. gvsecondary is replica 2, so gfs-b1's FUSE client waits
    /// `network.ping-timeout` (42 s by default) on gfs-b2's brick and then reads from gfs-b1's.
    /// Seen by hand first (2026-12-07 12:58, gfs-b2 frozen the instant the replay started, 300
    /// files and 400 MB): the replay succeeded in 86 s and copied every file byte for byte. So the
    /// run does not fail: it is slower by the ping timeout, the replay is applied once, and what
    /// it copied is the source's.
    @Test func gfsB2FrozenDuringTheReplaySlowsItAndEverythingIsCopiedOnce() throws {
        try healthyLab()
        let before = try secondaryOptions()
        var frozen = false
        defer {
            if frozen { _ = try? lab("site.sh", ["up", "gfs-b2"]) }
            restoreSiteBAfterGlusterfindFault(before)
        }
        let big = String(repeating: "0123456789abcdef\n", count: 256 * 1024)  // 4.5 MB
        let dir = try siteBSessionThenChanges(
            "gfreeze-b", ["one.txt": "one\n", "sub dir/two 2.txt": "two\n", "big.txt": big])

        let state = try newState()
        let parked = try timed("the list with both nodes, parked before the replay") {
            try runbook(state, ["run", gatedChangesRunbookB, "-i", inventory, "--yes", "--approve", "commit"])
        }
        try #require(parked.status == 4, "parks at replay-go: \(parked.stdout.suffix(2000))\(parked.stderr)")
        let run = try runID(state)
        let freeze = try lab("site.sh", ["freeze", "gfs-b2"])
        try #require(freeze.status == 0, "site.sh freeze gfs-b2: \(freeze.stderr)")
        frozen = true
        let resumed = try timed("the replay with gfs-b2 frozen") {
            try runbook(state, ["resume", run, "--approve", "replay-go"])
        }
        print(resumed.stdout.suffix(2500))
        #expect(resumed.status == 0, "\(resumed.stdout.suffix(2000))\(resumed.stderr)")
        let steps = try journal(state).steps(runID: run)
        #expect(steps.first { $0.nodeID == "replay" }?.state == .succeeded)
        #expect(
            try journal(state).attempts(runID: run).filter { $0.nodeID == "replay" && $0.phase == .apply }.count == 1,
            "the replay applied once")
        // What it copied is the source's, read on gfs-b1 (gfs-b2 is still frozen).
        #expect(try node("gfs-b1", ["cat", "\(faultTarget)/\(dir)/sub dir/two 2.txt"]).stdout == "two\n")
        #expect(try node("gfs-b1", ["cat", "\(faultTarget)/\(dir)/one.txt"]).stdout == "one\n")
        let size = try node("gfs-b1", ["stat", "-c", "%s", "\(faultTarget)/\(dir)/big.txt"]).stdout
        #expect(size.trimmingCharacters(in: .whitespacesAndNewlines) == "\(big.utf8.count)", "big.txt: \(size)")

        let up = try lab("site.sh", ["up", "gfs-b2"])
        #expect(up.status == 0, "site.sh up gfs-b2: \(up.stderr)")
        frozen = up.status != 0
        try? FileManager.default.removeItem(atPath: "\(primaryMount)/\(dir)")
    }
}
