import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import Testing

/// Probe / apply / undo of the typed actions against a fake host answering from the fixtures.
@Suite struct GlusterActionTests {
    let b = Lab.binary
    let session = "volume geo-replication mastervol vm::slavevol"

    func runtime(_ node: PlanNode) throws -> any ActionType {
        try #require(ActionRegistry.withGluster[node.typeName])
    }

    // MARK: volume.set / reset

    @Test func volumeSetRendersGlobalOptionsFirstWithTheInventoryBinary() throws {
        let node = try Lab.node(
            "action: gluster.volume.set\nwith: {volume: slavevol, option: features.read-only, value: \"off\"}")
        #expect(
            node.commands.map(\.command.argv) == [
                [b, "--mode=script", "--xml", "volume", "info", "slavevol"],
                [b, "--mode=script", "--xml", "volume", "get", "slavevol", "features.read-only"],
                [b, "--mode=script", "--xml", "volume", "set", "slavevol", "features.read-only", "off"],
                [b, "--mode=script", "--xml", "volume", "info", "slavevol"],
                [b, "--mode=script", "--xml", "volume", "get", "slavevol", "features.read-only"],
            ])
        #expect(node.commands.map(\.purpose) == [.probe, .probe, .apply, .verify, .verify])
        #expect(
            node.undo
                == .derived("set the previous value again, or `volume reset VOL OPTION force` when it was not set"))
    }

    @Test func volumeSetObservedOnUndoSetsOnAgain() async throws {
        let node = try Lab.node(
            "action: gluster.volume.set\nwith: {volume: slavevol, option: features.read-only, value: \"off\"}")
        let host = FakeHost()
        let info = try Fixture("live-10.3-volume-info-all.xml")
        let afterSet = Lab.ok(
            info.text.replacingOccurrences(
                of: "<name>features.read-only</name>\n            <value>on</value>",
                with: "<name>features.read-only</name>\n            <value>off</value>"))
        host.on("--mode=script --xml volume info slavevol", info.result, afterSet)
        host.on("--mode=script --xml volume set slavevol features.read-only off", Lab.okXML)
        host.on("--mode=script --xml volume set slavevol features.read-only on", Lab.okXML)
        let action = try runtime(node)
        let context = Lab.context(node, host)

        let observation = try await action.probe(context)
        #expect(!observation.done)
        #expect(observation.summary.contains("'on' (set)"))
        #expect(observation.outputs["previous"] == .string("on"))
        let state = try #require(observation.undoState)
        #expect(state.contains("\"previous\":\"on\"") && state.contains("\"wasSet\":true"))

        let effect = try await action.apply(context, observation: observation)
        #expect(effect.succeeded)
        let verified = try await action.verify(context)
        #expect(verified.succeeded, "\(verified.summary)")

        let undone = try await action.undo(context.phase(.undo), undoState: state)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(
            host.changes == [
                "--mode=script --xml volume set slavevol features.read-only off",
                "--mode=script --xml volume set slavevol features.read-only on",
            ])
        #expect(host.ran.allSatisfy { $0.first == b && $0[1] == "--mode=script" })
        #expect(host.hosts.allSatisfy { $0 == "gfs-a1" })
    }

    @Test func volumeSetNotSetBeforeUndoResetsAndDefaultCountsAsDone() async throws {
        let node = try Lab.node(
            "action: gluster.volume.set\nwith: {volume: mastervol, option: features.read-only, value: \"on\"}")
        let host = FakeHost()
        try host.on("--mode=script --xml volume info mastervol", fixture: "live-10.3-volume-info-all.xml")
        // synthetic `volume get` answer: the default
        host.on(
            "--mode=script --xml volume get mastervol features.read-only",
            Lab.ok(
                """
                <cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volGetopts><count>1</count>
                <Opt><Option>features.read-only</Option><Value>off</Value></Opt></volGetopts></cliOutput>
                """))
        let action = try runtime(node)
        let context = Lab.context(node, host)
        let observation = try await action.probe(context)
        #expect(!observation.done)
        #expect(observation.summary.contains("'off' (default)"))
        #expect(observation.undoState?.contains("\"wasSet\":false") == true)

        // After the set the option is listed: undo resets it (force).
        let host2 = FakeHost()
        let info = try Fixture("live-10.3-volume-info-all.xml").text.replacingOccurrences(
            of: "<name>nfs.disable</name>",
            with: "<name>features.read-only</name>\n<value>on</value></option><option><name>nfs.disable</name>")
        host2.on("--mode=script --xml volume info mastervol", Lab.ok(info))
        host2.on("--mode=script --xml volume reset mastervol features.read-only force", Lab.okXML)
        let undone = try await action.undo(Lab.context(node, host2, phase: .undo), undoState: observation.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(host2.changes == ["--mode=script --xml volume reset mastervol features.read-only force"])

        // Wanting the default value is already done.
        let same = try Lab.node(
            "action: gluster.volume.set\nwith: {volume: mastervol, option: features.read-only, value: \"false\"}")
        let done = try await action.probe(Lab.context(same, host))
        #expect(done.done, "\(done.summary)")
    }

    @Test func volumeResetDoneWhenNotListedAndUndoSetsPrevious() async throws {
        let host = FakeHost()
        try host.on("--mode=script --xml volume info mastervol", fixture: "live-10.3-volume-info-all.xml")
        host.on("--mode=script --xml volume reset mastervol geo-replication.indexing force", Lab.okXML)
        let node = try Lab.node(
            "action: gluster.volume.reset\nwith: {volume: mastervol, option: geo-replication.indexing, force: true}")
        let action = try runtime(node)
        let observation = try await action.probe(Lab.context(node, host))
        #expect(!observation.done)
        #expect(observation.undoState?.contains("\"previous\":\"on\"") == true)
        #expect(
            node.commands.first { $0.purpose == .apply }?.command.argv == [
                b, "--mode=script", "--xml", "volume", "reset", "mastervol", "geo-replication.indexing", "force",
            ])

        let notSet = try Lab.node("action: gluster.volume.reset\nwith: {volume: mastervol, option: features.read-only}")
        #expect(try await action.probe(Lab.context(notSet, host)).done)
        // short name: `changelog` is changelog.changelog
        let short = try Lab.node("action: gluster.volume.reset\nwith: {volume: mastervol, option: changelog}")
        #expect(try await action.probe(Lab.context(short, host)).done == false)

        // Undo after the reset: the option is gone, so it is set back.
        let after = FakeHost()
        try after.on("--mode=script --xml volume info mastervol", fixture: "live-10.3-volume-info-all.xml")
        after.on("--mode=script --xml volume set mastervol geo-replication.indexing on", Lab.okXML)
        let info = try Fixture("live-10.3-volume-info-all.xml").text.replacingOccurrences(
            of: "<name>geo-replication.indexing</name>", with: "<name>x.removed</name>")
        after.on("--mode=script --xml volume info mastervol", Lab.ok(info))
        let fresh = FakeHost()
        fresh.on("--mode=script --xml volume info mastervol", Lab.ok(info))
        fresh.on("--mode=script --xml volume set mastervol geo-replication.indexing on", Lab.okXML)
        let undone = try await action.undo(Lab.context(node, fresh, phase: .undo), undoState: observation.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(fresh.changes == ["--mode=script --xml volume set mastervol geo-replication.indexing on"])
    }

    @Test func failingSetReportsOpErrstrCommandAndHost() async throws {
        let node = try Lab.node(
            "action: gluster.volume.set\nwith: {volume: slavevol, option: features.read-only, value: \"off\"}")
        let host = FakeHost()
        host.on(
            "--mode=script --xml volume set slavevol features.read-only off",
            Lab.failedXML("Volume slavevol does not exist"))
        let action = try runtime(node)
        await #expect {
            try await action.apply(Lab.context(node, host), observation: Observation(done: false, summary: ""))
        } throws: { error in
            let text = "\(error)"
            return text.contains("Volume slavevol does not exist") && text.contains("on gfs-a1")
                && text.contains("volume set slavevol features.read-only off")
        }
    }

    // MARK: geo-rep session

    @Test func createRendersPushPemPortForceAndUndoStopsThenDeletes() async throws {
        let node = try Lab.node(
            "action: gluster.georep.create\nwith: {primary: mastervol, secondary: vm::slavevol, ssh_port: 2222, force: true}"
        )
        #expect(
            node.commands.first { $0.purpose == .apply }?.command.argv == [
                b, "--mode=script", "--xml", "volume", "geo-replication", "mastervol", "vm::slavevol", "create",
                "ssh-port", "2222", "push-pem", "force",
            ])
        let host = FakeHost()
        try host.onNoSession("\(session) status detail", fixture: "live-10.3-georep-status-nonexistent-pair")
        let action = try runtime(node)
        let observation = try await action.probe(Lab.context(node, host))
        #expect(!observation.done)
        #expect(observation.summary == "no session mastervol → vm::slavevol")

        let running = FakeHost()
        try running.on("--mode=script --xml \(session) status detail", fixture: "live-10.3-georep-status.xml")
        running.on("--mode=script --xml \(session) stop force", Lab.okXML)
        running.on("--mode=script --xml \(session) delete", Lab.okXML)
        #expect(try await action.probe(Lab.context(node, running)).done)
        let undone = try await action.undo(Lab.context(node, running, phase: .undo), undoState: observation.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(
            running.changes == ["--mode=script --xml \(session) stop force", "--mode=script --xml \(session) delete"])
    }

    @Test func startStopDecisionsAndDerivedUndo() async throws {
        let active = FakeHost()
        try active.on("--mode=script --xml \(session) status detail", fixture: "live-10.3-georep-status.xml")
        let stopped = FakeHost()
        try stopped.on(
            "--mode=script --xml \(session) status detail",
            Lab.ok(
                try Fixture("live-10.3-georep-status.xml").text.replacingOccurrences(
                    of: "<status>Active</status>", with: "<status>Stopped</status>")))
        let initializing = FakeHost()
        try initializing.on(
            "--mode=script --xml \(session) status detail", fixture: "live-10.3-georep-status-secondary-brick-down.xml")
        let none = FakeHost()
        try none.onNoSession("\(session) status detail")

        let start = try Lab.node("action: gluster.georep.start\nwith: {primary: mastervol, secondary: vm::slavevol}")
        let stop = try Lab.node("action: gluster.georep.stop\nwith: {primary: mastervol, secondary: vm::slavevol}")
        let startAction = try runtime(start)
        let stopAction = try runtime(stop)
        #expect(try await startAction.probe(Lab.context(start, active)).done)
        #expect(try await startAction.probe(Lab.context(start, initializing)).done)
        #expect(try await startAction.probe(Lab.context(start, stopped)).done == false)
        #expect(try await startAction.probe(Lab.context(start, none)).done == false)
        #expect(try await stopAction.probe(Lab.context(stop, stopped)).done)
        #expect(try await stopAction.probe(Lab.context(stop, none)).done)

        // stop observed a running session: undo starts it again (force).
        let observed = try await stopAction.probe(Lab.context(stop, active))
        #expect(!observed.done)
        stopped.on("--mode=script --xml \(session) start force", Lab.okXML)
        let undone = try await stopAction.undo(Lab.context(stop, stopped, phase: .undo), undoState: observed.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(stopped.changes == ["--mode=script --xml \(session) start force"])

        // stop on a session that was not running: nothing to undo.
        let quiet = try await stopAction.probe(Lab.context(stop, none))
        let none2 = FakeHost()
        try none2.onNoSession("\(session) status detail")
        let nothing = try await stopAction.undo(Lab.context(stop, none2, phase: .undo), undoState: quiet.undoState)
        #expect(nothing.succeeded)
        #expect(none2.changes.isEmpty)

        // start's undo: stop force.
        active.on("--mode=script --xml \(session) stop force", Lab.okXML)
        let startUndo = try await startAction.undo(Lab.context(start, active, phase: .undo), undoState: nil)
        #expect(startUndo.succeeded)
        #expect(active.changes == ["--mode=script --xml \(session) stop force"])
    }

    @Test func deleteIsDeclaredAndDoneWithoutSession() async throws {
        let node = try Lab.node(
            "action: gluster.georep.delete\nwith: {primary: mastervol, secondary: vm::slavevol, reset_sync_time: true}\nirreversible: true",
            behindCommit: true)
        #expect(node.undo == .irreversible)
        #expect(node.commands.first { $0.purpose == .apply }?.command.argv.suffix(2) == ["delete", "reset-sync-time"])
        let none = FakeHost()
        try none.onNoSession("\(session) status detail")
        #expect(try await runtime(node).probe(Lab.context(node, none)).done)
        #expect(GlusterPack.types.first { $0.descriptor.name == "gluster.georep.delete" }?.descriptor.undo == .declared)
    }

    // MARK: config / checkpoint

    @Test func configSetHasNoTrailingXMLAndUndoRestoresOrResets() async throws {
        let node = try Lab.node(
            "action: gluster.georep.config\nwith: {primary: mastervol, secondary: vm::slavevol, key: change-detector, value: changelog}"
        )
        #expect(
            node.commands.map(\.command.argv) == [
                [b, "--mode=script", "--xml", "volume", "geo-replication", "mastervol", "vm::slavevol", "config"],
                [
                    b, "--mode=script", "volume", "geo-replication", "mastervol", "vm::slavevol", "config",
                    "change-detector", "changelog",
                ],
                [b, "--mode=script", "--xml", "volume", "geo-replication", "mastervol", "vm::slavevol", "config"],
            ])
        for command in node.commands {
            let argv = command.command.argv
            if let config = argv.firstIndex(of: "config") { #expect(!argv[config...].contains("--xml")) }
        }
        let host = FakeHost()
        try host.on("--mode=script --xml \(session) config", fixture: "live-10.3-georep-config.xml")
        let action = try runtime(node)
        let observation = try await action.probe(Lab.context(node, host))
        #expect(!observation.done)
        #expect(observation.summary.contains("change-detector is 'xsync'"))
        #expect(observation.summary.contains("restarts the session"))

        // xsync is not the default: undo sets it back.
        host.on(
            "--mode=script \(session) config change-detector xsync",
            Lab.ok("geo-replication config updated successfully\n"))
        let changed = FakeHost()
        changed.on(
            "--mode=script --xml \(session) config",
            Lab.ok(
                try Fixture("live-10.3-georep-config.xml").text.replacingOccurrences(
                    of: "<change_detector>xsync", with: "<change_detector>changelog")))
        changed.on(
            "--mode=script \(session) config change-detector xsync",
            Lab.ok("geo-replication config updated successfully\n"))
        let undone = try await action.undo(Lab.context(node, changed, phase: .undo), undoState: observation.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(changed.changes == ["--mode=script \(session) config change-detector xsync"])

        // sync_method was rsync (the default): undo resets it with `!sync-method`.
        let sync = try Lab.node(
            "action: gluster.georep.config\nwith: {primary: mastervol, secondary: vm::slavevol, key: sync-method, value: tarssh}"
        )
        let syncObserved = try await action.probe(Lab.context(sync, host))
        #expect(!syncObserved.done)
        let tarssh = FakeHost()
        tarssh.on(
            "--mode=script --xml \(session) config",
            Lab.ok(
                try Fixture("live-10.3-georep-config.xml").text.replacingOccurrences(
                    of: "<sync_method>rsync", with: "<sync_method>tarssh")))
        tarssh.on(
            "--mode=script \(session) config !sync-method", Lab.ok("geo-replication config updated successfully\n"))
        #expect(try await action.probe(Lab.context(sync, tarssh)).done)
        let reset = try await action.undo(Lab.context(sync, tarssh, phase: .undo), undoState: syncObserved.undoState)
        #expect(reset.succeeded, "\(reset.summary)")
        #expect(tarssh.changes == ["--mode=script \(session) config !sync-method"])

        // gfid-conflict-resolution true == the wanted "true": done.
        let gfid = try Lab.node(
            "action: gluster.georep.config\nwith: {primary: mastervol, secondary: vm::slavevol, key: gfid_conflict_resolution, value: \"true\"}"
        )
        #expect(try await action.probe(Lab.context(gfid, host)).done)
        // reset of special-sync-mode (empty) is done.
        let special = try Lab.node(
            "action: gluster.georep.config\nwith: {primary: mastervol, secondary: vm::slavevol, key: special-sync-mode, reset: true}"
        )
        #expect(try await action.probe(Lab.context(special, host)).done)
        #expect(special.commands.first { $0.purpose == .apply }?.command.argv.last == "!special-sync-mode")
    }

    @Test func checkpointNeverDoneAndReadsTheTimeBack() async throws {
        let node = try Lab.node(
            "action: gluster.georep.checkpoint\nwith: {primary: mastervol, secondary: vm::slavevol}")
        #expect(node.undo == .none)
        let action = try runtime(node)
        let host = FakeHost()
        let observation = try await action.probe(Lab.context(node, host))
        #expect(!observation.done)
        #expect(observation.summary.contains("set anew every time"))
        #expect(host.ran.isEmpty)
        host.on(
            "--mode=script \(session) config checkpoint now", Lab.ok("geo-replication config updated successfully\n"))
        host.on(
            "--mode=script --xml \(session) config",
            Lab.ok(
                try Fixture("live-10.3-georep-config.xml").text.replacingOccurrences(
                    of: "<checkpoint>0</checkpoint>", with: "<checkpoint>1795595156</checkpoint>")))
        let effect = try await action.apply(Lab.context(node, host), observation: observation)
        #expect(effect.succeeded)
        #expect(effect.outputs["checkpoint_time"] == .timestamp(Date(timeIntervalSince1970: 1_795_595_156)))
        #expect(
            host.ran.first == [
                b, "--mode=script", "volume", "geo-replication", "mastervol", "vm::slavevol", "config", "checkpoint",
                "now",
            ])
    }

    // MARK: probes

    @Test func healthNamesTheOfflineBrick() async throws {
        let node = try Lab.node("probe: gluster.volume.health\nwith: {volume: slavevol}", on: "gfs-b1")
        #expect(node.expect == nil || node.expect == "outputs.offline_bricks == 0")
        let host = FakeHost()
        try host.on("--mode=script --xml volume info slavevol", fixture: "live-10.3-volume-info-all.xml")
        try host.on(
            "--mode=script --xml volume status slavevol", fixture: "live-10.3-volume-status-brick-offline-detail.xml")
        let observation = try await runtime(node).probe(Lab.context(node, host))
        #expect(observation.outputs["offline_bricks"] == .int(1))
        #expect(observation.outputs["bricks_total"] == .int(1))
        #expect(observation.outputs["bricks_online"] == .int(0))
        #expect(observation.outputs["offline"] == .list([.string("vm:/bricks/s1")]))
        #expect(observation.summary.contains("vm:/bricks/s1"))
        #expect(host.hosts.allSatisfy { $0 == "gfs-b1" })

        let healthy = FakeHost()
        try healthy.on("--mode=script --xml volume info slavevol", fixture: "live-10.3-volume-info-all.xml")
        try healthy.on("--mode=script --xml volume status slavevol", fixture: "live-10.3-volume-status-all.xml")
        let ok = try await runtime(node).probe(Lab.context(node, healthy))
        #expect(ok.outputs["offline_bricks"] == .int(0))
        #expect(ok.summary == "slavevol: all 1 bricks online")
    }

    @Test func georepStatusProbeOutputs() async throws {
        let node = try Lab.node("probe: gluster.georep.status\nwith: {primary: mastervol, secondary: vm::slavevol}")
        let host = FakeHost()
        try host.on(
            "--mode=script --xml \(session) status detail", fixture: "live-10.3-georep-status-detail-checkpoint-2.xml")
        try host.on("--mode=script --xml volume info mastervol", fixture: "live-10.3-volume-info-all.xml")
        let observation = try await runtime(node).probe(Lab.context(node, host))
        #expect(observation.done)
        #expect(observation.outputs["state"] == .string("Sync Completed"))
        #expect(observation.outputs["active"] == .int(1))
        #expect(observation.outputs["offline"] == .int(0))
        #expect(observation.outputs["checkpoint_completed_all"] == .bool(true))

        let none = FakeHost()
        try none.onNoSession("\(session) status detail")
        let empty = try await runtime(node).probe(Lab.context(node, none))
        #expect(empty.outputs["session"] == .string("none"))
        #expect(none.ran.count == 2, "the --xml read and its text form, no wait: \(none.ran)")
    }

    /// An answer cut at the capture limit is never parsed: the error says so, with the command
    /// and the host, instead of an XML parser's message about a document that ends early.
    @Test func aStatusCutAtTheOutputLimitIsRefusedSayingSo() async throws {
        let node = try Lab.node("probe: gluster.georep.status\nwith: {primary: mastervol, secondary: vm::slavevol}")
        let whole = try Fixture("live-10.3-georep-status-detail-checkpoint-2.xml").text
        let host = FakeHost()
        host.on(
            "--mode=script --xml \(session) status detail",
            CommandResult(exitCode: 0, stdout: String(whole.prefix(whole.count / 2)), stdoutTruncated: true))
        do {
            _ = try await runtime(node).probe(Lab.context(node, host))
            Issue.record("a cut answer must not be read")
        } catch {
            let text = "\(error)"
            #expect(text.contains("a partial answer is not read"), "\(text)")
            #expect(text.contains("status detail") && text.contains("gfs-a1"), "\(text)")
        }
    }

    @Test func peersAndOptionsAndEmpty() async throws {
        let peers = try Lab.node("probe: gluster.peers")
        let host = FakeHost()
        try host.on("--mode=script --xml peer status", fixture: "live-10.3-peer-status.xml")
        let seen = try await runtime(peers).probe(Lab.context(peers, host))
        #expect(seen.outputs["disconnected"] == .int(0) && seen.outputs["peers"] == .list([]))

        let options = try Lab.node("probe: gluster.volume.options\nwith: {volume: slavevol}")
        try host.on("--mode=script --xml volume info slavevol", fixture: "live-10.3-volume-info-all.xml")
        let read = try await runtime(options).probe(Lab.context(options, host))
        guard case .map(let map)? = read.outputs["options"] else {
            Issue.record("no options map")
            return
        }
        #expect(map["features.read-only"] == .string("on"))
        #expect(map.count == 4)

        let empty = try Lab.node("probe: gluster.volume.empty\nwith: {volume: slavevol}")
        try host.on("--mode=script --xml pool list", fixture: "live-10.3-pool-list.xml")
        host.on(
            "/bricks/s1 -mindepth 1 ( -path /bricks/s1/.glusterfs -o -path /bricks/s1/.trashcan ) -prune -o -print -quit",
            Lab.ok("/bricks/s1/dir\n"))
        let result = try await runtime(empty).probe(Lab.context(empty, host))
        #expect(result.outputs["empty"] == .bool(false))
        #expect(result.outputs["sample"] == .string("/bricks/s1/dir"))
        #expect(host.ran.last?.first == "find")
    }

    @Test func keysCreate() async throws {
        let node = try Lab.node("action: gluster.keys.create\nirreversible: true", behindCommit: true)
        #expect(
            node.commands.first { $0.purpose == .apply }?.command.argv == [
                b, "--mode=script", "system::", "execute", "gsec_create",
            ])
        let host = FakeHost()
        host.on("-s /var/lib/glusterd/geo-replication/common_secret.pem.pub", CommandResult(exitCode: 1))
        host.on(
            "--mode=script system:: execute gsec_create",
            Lab.ok("Common secret pub file present at /var/lib/glusterd/geo-replication/common_secret.pem.pub\n"))
        let action = try runtime(node)
        let observation = try await action.probe(Lab.context(node, host))
        #expect(!observation.done)
        #expect(try await action.apply(Lab.context(node, host), observation: observation).succeeded)
    }

    @Test func volumeStartStop() async throws {
        let stop = try Lab.node("action: gluster.volume.stop\nwith: {volume: mastervol, force: true}")
        let host = FakeHost()
        try host.on("--mode=script --xml volume info mastervol", fixture: "live-10.3-volume-info-all.xml")
        let observed = try await runtime(stop).probe(Lab.context(stop, host))
        #expect(!observed.done)
        let stoppedInfo = Lab.ok(
            try Fixture("live-10.3-volume-info-all.xml").text.replacingOccurrences(
                of: "<statusStr>Started</statusStr>", with: "<statusStr>Stopped</statusStr>"))
        let after = FakeHost()
        after.on("--mode=script --xml volume info mastervol", stoppedInfo)
        after.on("--mode=script --xml volume start mastervol force", Lab.okXML)
        let undone = try await runtime(stop).undo(Lab.context(stop, after, phase: .undo), undoState: observed.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(after.changes == ["--mode=script --xml volume start mastervol force"])

        // start force on a Started volume with a dead brick is not done.
        let start = try Lab.node("action: gluster.volume.start\nwith: {volume: slavevol, force: true}")
        let dead = FakeHost()
        try dead.on("--mode=script --xml volume info slavevol", fixture: "live-10.3-volume-info-all.xml")
        try dead.on(
            "--mode=script --xml volume status slavevol", fixture: "live-10.3-volume-status-brick-offline-detail.xml")
        let startObserved = try await runtime(start).probe(Lab.context(start, dead))
        #expect(!startObserved.done)
        #expect(startObserved.summary.contains("vm:/bricks/s1"))
    }

    @Test func unreachableHostPropagatesAsTransportError() async throws {
        let node = try Lab.node("probe: gluster.peers")
        await #expect(throws: TransportError.self) { try await runtime(node).probe(Lab.context(node, FakeHost())) }
    }

    @Test func validateRejectsBadArguments() throws {
        var diagnostics = Diagnostics()
        let text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: t}
            steps:
              - id: a
                on: gfs-a1
                action: gluster.georep.config
                with: {primary: mastervol, secondary: "vm:slavevol", key: use-tarssh, value: "true"}
            """
        let runbook = try #require(RunbookLoader.load(text: text, file: "r.yaml", diagnostics: &diagnostics))
        let inventory = try #require(
            InventoryLoader.load(
                text: Lab.inventory, file: "i.yaml", hostKeys: GlusterPack.hostKeys, diagnostics: &diagnostics))
        _ = Compiler(registry: .withGluster).compile(
            Compiler.Request(runbook: runbook, inventory: inventory, mode: nil, params: [], environment: [:]),
            diagnostics: &diagnostics)
        let messages = diagnostics.errors.map(\.description).joined(separator: "\n")
        #expect(messages.contains("HOST::VOLUME"))
        #expect(messages.contains("sync-method"))
    }
}
