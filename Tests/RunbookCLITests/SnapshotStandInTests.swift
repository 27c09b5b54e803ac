import Foundation
import RunbookCore
import RunbookExecution
import RunbookTestSupport
import Testing

/// The drill's snapshot path (`Runbooks/georep-drill.yaml`, from `pause-session` to
/// `delete-snapshot`, with its `snapshot-possible` precondition) run end to end by the real CLI
/// against the stand-in CLI of `Tests/RunbookGlusterTests/Fixtures/stand-in` (these machines
/// have no device-mapper: no real snapshot can be taken). The stand-in replays the captured and
/// reconstructed outputs and keeps what was created, so each test can check what is left.
@Suite struct SnapshotStandInTests {
    let standIn = PackagePaths.root.appendingPathComponent("Tests/RunbookGlusterTests/Fixtures/stand-in").path

    /// A scratch directory with the stand-in's state (`stand-in/`) and mounts (`mnt/`).
    static func scratch() throws -> Scratch {
        let scratch = try Scratch("snapshot")
        for dir in [scratch.standIn, scratch.mounts] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        return scratch
    }

    /// The drill's snapshot steps and precondition, cut from the shipped runbook (pause and
    /// resume included; the steps before them are the RPO and content checks, run in the lab).
    func runbookText() throws -> String {
        let drill = try String(
            contentsOfFile: PackagePaths.root.appendingPathComponent("Runbooks/georep-drill.yaml").path,
            encoding: .utf8)
        func between(_ start: String, _ end: String) throws -> String {
            let from = try #require(drill.range(of: start), "georep-drill.yaml has no `\(start)`")
            let to = try #require(drill.range(of: end, range: from.upperBound..<drill.endIndex))
            return String(drill[from.lowerBound..<to.lowerBound])
        }
        let params = try between("params:\n", "objectives:\n")
        let precondition = try between("  - id: snapshot-possible\n", "\nsteps:\n")
        let steps = try between("  - id: pause-session\n", "  # --- leave the primary")
            .replacingOccurrences(of: "    needs: [content-check]\n", with: "")
        return """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: drill-snapshot-path}
            modes: [drill]
            on_failure: rollback
            \(params)roles:
              primary:   {min: 1}
              secondary: {min: 1}
            preconditions:
            \(precondition)
            steps:
            \(steps)
            """
    }

    func inventory(_ scratch: Scratch) -> String {
        """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: stand-in}
        defaults: {transport: local, gluster: \(standIn)/gluster}
        hosts:
          gfs-a1: {roles: [primary]}
          gfs-b1: {roles: [secondary]}
        vars:
          sessions:
            - primary_volume: gvprimary
              secondary_volume: gvsecondary
              secondary_host: gfs-b1
              primary_mount: \(scratch.path)/primary
              compare_primary_mount: \(scratch.path)/primary
              compare_secondary_mount: \(scratch.path)/secondary
          clone_mount_root: \(scratch.mounts)
          snapshot: true
        """
    }

    func run(_ scratch: Scratch, _ extra: [String] = []) throws -> ProcessOutput {
        let runbook = scratch.path + "/drill.yaml"
        let inventory = scratch.path + "/inventory.yaml"
        try runbookText().write(toFile: runbook, atomically: true, encoding: .utf8)
        try self.inventory(scratch).write(toFile: inventory, atomically: true, encoding: .utf8)
        // The stand-in's gluster, lvs, findmnt, mount, mountpoint and umount come first.
        let path = standIn + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try RunbookTestSupport.runbook(
            scratch, ["run", runbook, "-i", inventory, "--yes"] + extra,
            extraEnvironment: ["STANDIN_STATE": scratch.standIn, "PATH": path])
        print("$ runbook run drill.yaml \(extra.joined(separator: " ")) -> exit \(result.status)")
        return result
    }

    func states(_ scratch: Scratch) throws -> [String: StepState] {
        let journal = try scratch.journal()
        let id = try #require(try journal.runs(limit: 1).first?.id)
        return Dictionary(try journal.steps(runID: id).map { ($0.stepID, $0.state) }, uniquingKeysWith: { $1 })
    }

    @Test func snapshotPathSucceedsAndLeavesNothingBehind() throws {
        let scratch = try Self.scratch()
        let result = try run(scratch)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let left = try scratch.left()
        #expect(left.snapshots.isEmpty && left.volumes.isEmpty && !left.paused, "\(left)")
        let calls = try scratch.calls()
        let changes = calls.filter {
            !$0.contains(" info") && !$0.hasSuffix(" status detail") && !$0.contains(" list") && !$0.contains(" get ")
                && !$0.contains("volume status")
        }
        let runID = try #require(try scratch.journal().runs(limit: 1).first?.id)
        let snap = "drill-\(runID)-gvsecondary"
        let clone = "drill-\(runID)-gvsecondary-clone"
        let mount = "\(scratch.mounts)/\(runID)-gvsecondary"
        #expect(
            changes == [
                "volume geo-replication gvprimary root@gfs-b1::gvsecondary pause",
                "snapshot create \(snap) gvsecondary no-timestamp description runbook drill \(runID)",
                "volume geo-replication gvprimary root@gfs-b1::gvsecondary resume",
                "snapshot activate \(snap)", "snapshot clone \(clone) \(snap)", "volume start \(clone) force",
                "volume set \(clone) features.read-only off", "mount localhost:/\(clone) \(mount)", "umount \(mount)",
                "volume stop \(clone) force", "volume delete \(clone)", "snapshot delete \(snap)",
            ], "\(calls)")
        #expect(!FileManager.default.fileExists(atPath: mount), "the clone's mount point is removed")
        let states = try states(scratch)
        #expect(states["verify-clone"] == .succeeded && states["delete-snapshot"] == .succeeded, "\(states)")
    }

    @Test(arguments: [
        ("thick", "is on /dev/mapper/vg_bricks-brick_lvm, a thick LV (no thin pool)"),
        ("no-lvm", "LVM commands not found, snapshot functionality is disabled"),
    ])
    func preconditionRefusesSnapshotWhereItCannotWork(fault: String, says: String) throws {
        let scratch = try Self.scratch()
        try scratch.fault(fault)
        let result = try run(scratch)
        // A per-session precondition leaves its session out (on_item_failure: isolate): the
        // run ends failed (exit 1) with nothing of that session run.
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let text = result.stdout + result.stderr
        #expect(
            text.contains("snapshot-possible[gvprimary]") && text.contains("snapshot: true needs every brick"),
            "\(text)")
        #expect(text.contains("item [gvprimary] left out"), "\(text)")
        #expect(text.contains(says), "\(text)")
        #expect(try scratch.calls().allSatisfy { !$0.contains("pause") && !$0.contains("snapshot create") })
    }

    @Test(arguments: [
        ("not-thin", "Snapshot is supported only for thin provisioned LV"),
        ("limit", "reached the effective maximum limit of 256"),
    ])
    func createRefusedByGlusterFailsAndResumesTheSession(fault: String, says: String) throws {
        let scratch = try Self.scratch()
        try scratch.fault(fault)
        let result = try run(scratch)
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        #expect((result.stdout + result.stderr).contains(says), "\(result.stdout)\n\(result.stderr)")
        let left = try scratch.left()
        #expect(left.snapshots.isEmpty && left.volumes.isEmpty && !left.paused, "\(left)")
        let states = try states(scratch)
        #expect(states["snapshot-secondary"] == .failed && states["pause-session"] == .undone, "\(states)")
    }

    @Test func cloneExistsInTheMiddleUndoesWhatWasMadeNewestFirst() throws {
        let scratch = try Self.scratch()
        try scratch.fault("clone-exists")
        let result = try run(scratch)
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        #expect((result.stdout + result.stderr).contains("already exists"), "\(result.stdout)\n\(result.stderr)")
        let left = try scratch.left()
        #expect(left.snapshots.isEmpty && left.volumes.isEmpty && !left.paused, "\(left)")
        let states = try states(scratch)
        for step in ["activate-snapshot", "resume-session", "snapshot-secondary", "pause-session"] {
            #expect(states[step] == .undone, "\(step): \(states)")
        }
    }

    @Test func failingVerificationHookCleansUpInReverseOrder() throws {
        let scratch = try Self.scratch()
        let result = try run(scratch, ["-p", "verify_hook=[\"sh\",\"-c\",\"echo broken >&2; exit 7\"]"])
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let left = try scratch.left()
        #expect(left.snapshots.isEmpty && left.volumes.isEmpty && !left.paused, "\(left)")
        let runID = try #require(try scratch.journal().runs(limit: 1).first?.id)
        let snap = "drill-\(runID)-gvsecondary"
        let clone = "drill-\(runID)-gvsecondary-clone"
        let calls = try scratch.calls()
        // After the hook: unmount, read-only back on, stop and delete the clone, deactivate,
        // pause again (the resume's undo), delete the snapshot, resume (the pause's undo).
        let cleanup = [
            "umount \(scratch.mounts)/\(runID)-gvsecondary", "volume set \(clone) features.read-only on",
            "volume stop \(clone) force", "volume delete \(clone)", "snapshot deactivate \(snap)",
            "volume geo-replication gvprimary root@gfs-b1::gvsecondary pause", "snapshot delete \(snap)",
            "volume geo-replication gvprimary root@gfs-b1::gvsecondary resume",
        ]
        let positions = cleanup.map { line in calls.lastIndex(of: line) }
        #expect(positions.allSatisfy { $0 != nil }, "\(calls)")
        let found = positions.compactMap { $0 }
        #expect(found == found.sorted(), "cleanup out of order: \(calls)")
        let states = try states(scratch)
        #expect(
            states["verify-clone"] == .undone, "the failed hook is rolled back too (its undo is nothing): \(states)")
        for step in ["mount-clone", "start-clone", "clone-snapshot", "activate-snapshot", "snapshot-secondary"] {
            #expect(states[step] == .undone, "\(step): \(states)")
        }
        // Never run: the session's later steps do not start once one of its steps failed.
        #expect(
            states["unmount-clone"] == .pending || states["unmount-clone"] == .skipped
                || states["unmount-clone"] == nil,
            "\(states)")
    }
}

extension Scratch {
    /// The stand-in's state.
    fileprivate var standIn: String { path + "/stand-in" }
    fileprivate var mounts: String { path + "/mnt" }

    fileprivate func fault(_ name: String) throws {
        try name.write(toFile: standIn + "/fault", atomically: true, encoding: .utf8)
    }

    /// What the stand-in still holds: snapshots, volumes (clones), whether the session is paused.
    fileprivate func left() throws -> (snapshots: [String], volumes: [String], paused: Bool) {
        let files = FileManager.default
        let snaps = (try? files.contentsOfDirectory(atPath: standIn + "/snaps")) ?? []
        let vols = ((try? files.contentsOfDirectory(atPath: standIn + "/vols")) ?? []).filter {
            !$0.hasSuffix(".read-only")
        }
        return (snaps.sorted(), vols.sorted(), files.fileExists(atPath: standIn + "/paused"))
    }

    /// The stand-in's calls, without `--mode=script --xml`.
    fileprivate func calls() throws -> [String] {
        let text = (try? String(contentsOfFile: standIn + "/calls", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map {
            $0.replacingOccurrences(of: "--mode=script ", with: "").replacingOccurrences(of: "--xml ", with: "")
        }
    }
}
