import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import Testing

/// The `gluster.snapshot.*` types and parsers over the snapshot fixtures (the live capture of a
/// failed create exits 0 with opRet -1; the others are reconstructed from the 10.3 XML writers,
/// see Fixtures/INDEX.md), and the RPO outputs of `gluster.georep.status`.
@Suite struct SnapshotTests {
    let b = Lab.binary
    let secondary = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: lab}
        defaults: {transport: local, gluster: /opt/gluster/sbin/gluster}
        hosts:
          gfs-b1: {roles: [secondary]}
        """

    func runtime(_ node: PlanNode) throws -> any ActionType {
        try #require(ActionRegistry.withGluster[node.typeName])
    }

    func node(_ step: String) throws -> PlanNode { try Lab.node(step, on: "gfs-b1", inventory: secondary) }

    func context(_ node: PlanNode, _ host: FakeHost, _ phase: PlannedCommand.Purpose = .probe) -> ActionContext {
        ActionContext(
            node: node, host: node.host, settings: Lab.settings("gfs-b1", inventory: secondary), phase: phase,
            timeout: 30, runner: host.runner)
    }

    /// What a fake host ran that changes something (FakeHost.changes does not know the snapshot reads).
    func changes(_ host: FakeHost) -> [String] {
        host.changes.filter { !$0.contains(" snapshot info ") && !$0.hasSuffix(" volume list") }
    }

    /// A fixture with the reconstructed names replaced by the test's.
    func answer(_ name: String, _ replacements: [String: String] = [:]) throws -> CommandResult {
        let fixture = try Fixture(name)
        let text = replacements.reduce(fixture.text) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
        return CommandResult(exitCode: fixture.exitCode, stdout: text)
    }

    // MARK: Parsers

    @Test func failedSnapshotCommandExitsZeroButOpRetFailsIt() throws {
        let live = try Fixture("live-10.3-snapshot-create-no-lvm.xml")
        #expect(live.exitCode == 0)
        let output = live.output("gluster --mode=script --xml snapshot create drill1 gfv no-timestamp", host: "gfs-b1")
        let error = try #require(throws: GlusterError.self) {
            try GlusterParse.snapshotName(output, element: "snapCreate")
        }
        #expect(error.kind == .commandFailed)
        #expect(error.message == "LVM commands not found, snapshot functionality is disabled")
        #expect(error.description.contains("snapshot create drill1 gfv") && error.description.contains("gfs-b1"))
        // The text form of the same failure exits 1.
        #expect(try Fixture("live-10.3-snapshot-create-no-lvm.txt").exitCode == 1)
        for name in [
            "reconstructed-10.3-snapshot-create-not-thin.xml", "reconstructed-10.3-snapshot-create-limit.xml",
            "reconstructed-10.3-snapshot-clone-exists.xml",
        ] {
            #expect(throws: GlusterError.self) { try GlusterParse.cloneName(try Fixture(name).output()) }
        }
    }

    @Test func parsesInfoStatusAndTheCommandsAnswers() throws {
        let inventory = try GlusterParse.snapshotInventory(
            Fixture("reconstructed-10.3-snapshot-info-volume.xml").output())
        #expect(inventory.volume == "gvsecondary" && inventory.count == 1 && inventory.remaining == 255)
        let snapshot = try #require(inventory.snapshots.first)
        #expect(snapshot.name == "drill" && snapshot.status == "Stopped" && !snapshot.isActivated)
        #expect(snapshot.createdAt == utc("2026-12-01 12:30:05"))
        #expect(snapshot.snapshotDescription == "runbook drill")
        let empty = try GlusterParse.snapshotInventory(
            Fixture("reconstructed-10.3-snapshot-info-volume-empty.xml").output())
        #expect(empty.count == 0 && empty.snapshots.isEmpty && empty.remaining == 256)

        let bricks = try GlusterParse.snapshotBricks(Fixture("reconstructed-10.3-snapshot-status.xml").output())
        #expect(bricks.count == 1)
        #expect(bricks.first?.running == true && bricks.first?.dataPercent == 3.52 && bricks.first?.pid == 4242)
        #expect(bricks.first?.volumeGroup == "vg_bricks")

        #expect(
            try GlusterParse.snapshotName(
                Fixture("reconstructed-10.3-snapshot-create.xml").output(), element: "snapCreate"
            ).name == "drill")
        #expect(
            try GlusterParse.snapshotName(
                Fixture("reconstructed-10.3-snapshot-activate.xml").output(), element: "snapActivate"
            ).name == "drill")
        #expect(
            try GlusterParse.cloneName(Fixture("reconstructed-10.3-snapshot-clone.xml").output()).name == "drill-clone")
        try GlusterParse.snapshotDeleted(Fixture("reconstructed-10.3-snapshot-delete.xml").output())
        // A delete whose snapshot entry says Failure fails, with the nested reason.
        let failed = try Fixture("reconstructed-10.3-snapshot-delete.xml").text.replacingOccurrences(
            of: "<status>Success</status>",
            with:
                "<status>Failure</status><opRet>-1</opRet><opErrno>30800</opErrno><opErrstr>Pre Validation failed on gfs-b1</opErrstr>"
        )
        let error = try #require(throws: GlusterError.self) {
            try GlusterParse.snapshotDeleted(GlusterOutput(command: "x", host: "gfs-b1", exitCode: 0, stdout: failed))
        }
        #expect(error.message.contains("Pre Validation failed on gfs-b1"))

        let nosuch = try Fixture("reconstructed-10.3-snapshot-info-nosuch.xml").output()
        #expect(GlusterParse.isNoSuchSnapshot(nosuch))
        #expect(!GlusterParse.isNoSuchSnapshot(try Fixture("live-10.3-snapshot-create-no-lvm.xml").output()))
    }

    // MARK: create

    @Test func createRendersNoTimestampProbesAndUndoDeletes() async throws {
        let node = try node(
            "action: gluster.snapshot.create\nwith: {volume: gvsecondary, snapshot: drill, description: run-1}")
        #expect(
            node.commands.map(\.command.argv) == [
                [b, "--mode=script", "--xml", "snapshot", "info", "volume", "gvsecondary"],
                [
                    b, "--mode=script", "--xml", "snapshot", "create", "drill", "gvsecondary", "no-timestamp",
                    "description", "run-1",
                ],
                [b, "--mode=script", "--xml", "snapshot", "info", "volume", "gvsecondary"],
            ])
        let host = FakeHost()
        host.on(
            "--mode=script --xml snapshot info volume gvsecondary",
            try answer("reconstructed-10.3-snapshot-info-volume-empty.xml"),
            try answer("reconstructed-10.3-snapshot-info-volume.xml"))
        host.on(
            "--mode=script --xml snapshot create drill gvsecondary no-timestamp description run-1",
            try answer("reconstructed-10.3-snapshot-create.xml"))
        let action = try runtime(node)
        let observation = try await action.probe(context(node, host))
        #expect(!observation.done)
        #expect(observation.summary.contains("256 more allowed"))
        let effect = try await action.apply(context(node, host, .apply), observation: observation)
        #expect(effect.succeeded)
        #expect(effect.outputs["uuid"] == .string("5a7c3e1e-9b2f-4d0a-8c61-2f4b9d7e1a03"))
        let verified = try await action.verify(context(node, host, .verify))
        #expect(verified.succeeded, "\(verified.summary)")

        let undoHost = FakeHost()
        undoHost.on(
            "--mode=script --xml snapshot info drill", try answer("reconstructed-10.3-snapshot-info-volume.xml"))
        undoHost.on("--mode=script --xml snapshot delete drill", try answer("reconstructed-10.3-snapshot-delete.xml"))
        let undone = try await action.undo(context(node, undoHost, .undo), undoState: observation.undoState)
        #expect(undone.succeeded && undone.summary == "deleted snapshot drill")
        #expect(changes(undoHost) == ["--mode=script --xml snapshot delete drill"])
    }

    @Test(arguments: [
        ("reconstructed-10.3-snapshot-create-not-thin.xml", "Snapshot is supported only for thin provisioned LV"),
        ("reconstructed-10.3-snapshot-create-limit.xml", "reached the effective maximum limit of 256"),
        ("live-10.3-snapshot-create-no-lvm.xml", "LVM commands not found"),
    ])
    func createFailsOnEachCapturedRefusal(fixture: String, message: String) async throws {
        let node = try node("action: gluster.snapshot.create\nwith: {volume: gvsecondary, snapshot: drill}")
        let host = FakeHost()
        host.on("--mode=script --xml snapshot create drill gvsecondary no-timestamp", try answer(fixture))
        let action = try runtime(node)
        let observation = Observation(done: false, summary: "")
        let error = try await #require(throws: GlusterError.self) {
            _ = try await action.apply(context(node, host, .apply), observation: observation)
        }
        #expect(error.message.contains(message))
        #expect(error.host == "gfs-b1" && error.command.contains("snapshot create drill gvsecondary no-timestamp"))
    }

    // MARK: activate, clone, delete

    @Test func activateProbeUndoAndAbsentSnapshot() async throws {
        let node = try node("action: gluster.snapshot.activate\nwith: {snapshot: drill}")
        let action = try runtime(node)
        let absent = FakeHost()
        absent.on("--mode=script --xml snapshot info drill", try answer("reconstructed-10.3-snapshot-info-nosuch.xml"))
        let notYet = try await action.probe(context(node, absent))
        #expect(!notYet.done && notYet.summary.contains("does not exist"))

        let host = FakeHost()
        let started = try answer("reconstructed-10.3-snapshot-info-volume.xml", ["<status>Stopped": "<status>Started"])
        host.on(
            "--mode=script --xml snapshot info drill", try answer("reconstructed-10.3-snapshot-info-volume.xml"),
            started)
        host.on("--mode=script --xml snapshot activate drill", try answer("reconstructed-10.3-snapshot-activate.xml"))
        let observation = try await action.probe(context(node, host))
        #expect(!observation.done)
        #expect(try await action.apply(context(node, host, .apply), observation: observation).succeeded)
        #expect(try await action.verify(context(node, host, .verify)).succeeded)

        let undoHost = FakeHost()
        undoHost.on("--mode=script --xml snapshot info drill", started)
        undoHost.on(
            "--mode=script --xml snapshot deactivate drill",
            try answer("reconstructed-10.3-snapshot-activate.xml", ["snapActivate": "snapDeactivate"]))
        let undone = try await action.undo(context(node, undoHost, .undo), undoState: observation.undoState)
        #expect(undone.succeeded && changes(undoHost) == ["--mode=script --xml snapshot deactivate drill"])
    }

    @Test func cloneExistsFailsAndUndoStopsThenDeletesTheClone() async throws {
        let node = try node("action: gluster.snapshot.clone\nwith: {clone: drill-clone, snapshot: drill}")
        let action = try runtime(node)
        let host = FakeHost()
        try host.on("--mode=script --xml volume list", fixture: "live-10.3-volume-list.xml")
        host.on(
            "--mode=script --xml snapshot clone drill-clone drill",
            try answer("reconstructed-10.3-snapshot-clone-exists.xml"))
        let observation = try await action.probe(context(node, host))
        #expect(!observation.done)
        let error = try await #require(throws: GlusterError.self) {
            _ = try await action.apply(context(node, host, .apply), observation: observation)
        }
        #expect(error.message == "Volume with name:drill-clone already exists")

        let undoHost = FakeHost()
        let list = try Fixture("live-10.3-volume-list.xml").text.replacingOccurrences(
            of: "<volume>slavevol</volume>", with: "<volume>slavevol</volume><volume>drill-clone</volume>")
        undoHost.on("--mode=script --xml volume list", Lab.ok(list))
        let info = try Fixture("live-10.3-volume-info-all.xml").text.replacingOccurrences(
            of: "<name>slavevol</name>", with: "<name>drill-clone</name>")
        undoHost.on("--mode=script --xml volume info drill-clone", Lab.ok(info))
        undoHost.on("--mode=script --xml volume stop drill-clone force", Lab.okXML)
        undoHost.on("--mode=script --xml volume delete drill-clone", Lab.okXML)
        let undone = try await action.undo(context(node, undoHost, .undo), undoState: nil)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(
            changes(undoHost) == [
                "--mode=script --xml volume stop drill-clone force", "--mode=script --xml volume delete drill-clone",
            ])
    }

    @Test func deleteIsDoneWhenAbsentAndNeedsADeclaredUndo() async throws {
        let node = try node(
            "action: gluster.snapshot.delete\nwith: {snapshot: drill}\nundo: {action: shell, with: {run: [\"true\"]}}")
        let host = FakeHost()
        host.on("--mode=script --xml snapshot info drill", try answer("reconstructed-10.3-snapshot-info-nosuch.xml"))
        let observation = try await runtime(node).probe(context(node, host))
        #expect(observation.done && observation.summary == "snapshot drill does not exist")
        #expect(ActionRegistry.withGluster["gluster.snapshot.delete"]?.descriptor.undo == .declared)
    }

    // MARK: status

    func statusHost(lvs: CommandResult, info: CommandResult) throws -> FakeHost {
        let host = FakeHost()
        let volumeInfo = try Fixture("live-10.3-volume-info-all.xml")
        host.on("--mode=script --xml volume info slavevol", volumeInfo.result)
        try host.on("--mode=script --xml pool list", fixture: "live-10.3-pool-list.xml")
        host.on("-n -o SOURCE --target /bricks/s1", Lab.ok("/dev/mapper/vg_bricks-s1\n"))
        host.on("--noheadings --separator | -o vg_name,pool_lv /dev/mapper/vg_bricks-s1", lvs)
        host.on("--noheadings --nosuffix -o data_percent vg_bricks/thinpool", Lab.ok("  93.10\n"))
        host.on("--mode=script --xml snapshot info volume slavevol", info)
        return host
    }

    @Test func statusSaysWhyAVolumeCannotBeSnapshotted() async throws {
        let node = try node("probe: gluster.snapshot.status\nwith: {volume: slavevol}")
        #expect(node.commands.contains { $0.command.argv.contains("<each local brick of the volume>") })
        let action = try runtime(node)
        let empty = try answer("reconstructed-10.3-snapshot-info-volume-empty.xml")

        // Thin, but the pool is 93% full (over the default 90).
        let thin = try statusHost(lvs: Lab.ok("  vg_bricks|thinpool\n"), info: empty)
        let full = try await action.probe(context(node, thin))
        #expect(full.outputs["thin"] == .bool(true) && full.outputs["ready"] == .bool(false))
        #expect(full.outputs["pool_data_percent"] == .double(93.1))
        #expect(full.summary.contains("93.1% full"))

        // A thick LV.
        let thick = try statusHost(lvs: Lab.ok("  vg_bricks|\n"), info: empty)
        let refused = try await action.probe(context(node, thick))
        #expect(refused.outputs["thin"] == .bool(false))
        #expect(refused.summary.contains("vm:/bricks/s1 is on /dev/mapper/vg_bricks-s1, a thick LV"))

        // No lvm2, and gluster's own refusal.
        let noLVM = try statusHost(
            lvs: CommandResult(exitCode: 127, stderr: "lvs: command not found"),
            info: try answer("live-10.3-snapshot-create-no-lvm.xml"))
        let missing = try await action.probe(context(node, noLVM))
        #expect(
            missing.outputs["snapshot_error"] == .string("LVM commands not found, snapshot functionality is disabled"))
        let problems = try #require(
            missing.outputs["problems"].flatMap { value -> [Value]? in
                if case .list(let items) = value { return items }
                return nil
            })
        #expect(problems.count == 2)
        #expect(missing.summary.contains("install lvm2"))
    }

    // MARK: RPO outputs of gluster.georep.status

    @Test func georepStatusMeasuresTheCheckpointLagAndOldestLastSynced() async throws {
        let node = try Lab.node("probe: gluster.georep.status\nwith: {primary: mastervol, secondary: vm::slavevol}")
        let host = FakeHost()
        try host.on(
            "--mode=script --xml volume geo-replication mastervol vm::slavevol status detail",
            fixture: "live-10.3-georep-status-detail-checkpoint-2.xml")
        try host.on("--mode=script --xml volume info mastervol", fixture: "live-10.3-volume-info-all.xml")
        let observation = try await runtime(node).probe(Lab.context(node, host))
        // 08:25:56 -> 08:27:25: 89 s; last synced 08:27:12.
        #expect(observation.outputs["checkpoint_lag"] == .duration(89))
        #expect(observation.outputs["checkpoint_lag_seconds"] == .double(89))
        #expect(observation.outputs["oldest_last_synced"] == utc("2026-11-25 08:27:12").map(Value.timestamp))
        if case .duration(let age)? = observation.outputs["last_synced_age"] {
            #expect(age > 0)
        } else {
            Issue.record("no last_synced_age")
        }

        let pending = FakeHost()
        try pending.on(
            "--mode=script --xml volume geo-replication mastervol vm::slavevol status detail",
            fixture: "live-10.3-georep-status-detail-checkpoint.xml")
        try pending.on("--mode=script --xml volume info mastervol", fixture: "live-10.3-volume-info-all.xml")
        let notYet = try await runtime(node).probe(Lab.context(node, pending))
        #expect(notYet.outputs["checkpoint_lag"] == .null)
    }
}
