import Foundation
import RunbookCore
import RunbookGluster
import Testing

@Suite struct GeoRepStatusParserTests {
    func workers(_ name: String) throws -> [GeoRepWorker] {
        let status = try GlusterParse.geoRepStatus(try Fixture(name).output())
        return status.workers
    }

    @Test func live103StatusHasOneActiveHybridWorkerWithUTCTimes() throws {
        let status = try GlusterParse.geoRepStatus(try Fixture("live-10.3-georep-status.xml").output())
        guard case .sessions(let sessions) = status else {
            Issue.record("expected a session")
            return
        }
        #expect(sessions.count == 1)
        #expect(sessions[0].primaryVolume == "mastervol")
        #expect(sessions[0].sessionSecondary.contains("ssh://vm::slavevol"))
        let worker = try #require(sessions[0].workers.first)
        #expect(sessions[0].workers.count == 1)
        #expect(worker.primaryNode == "vm")
        #expect(worker.primaryBrick == "/bricks/m1")
        #expect(worker.primaryNodeUUID == "c22e8b4c-8163-4ded-946a-bfd342ba56f5")
        #expect(worker.secondaryUser == "root")
        #expect(worker.secondary == "vm::slavevol")
        #expect(worker.secondaryNode == "")  // empty in 10.3 even when Active
        #expect(worker.status == "Active" && worker.state == .active)
        #expect(worker.crawlStatus == "Hybrid Crawl")
        #expect(worker.lastSynced == utc("2026-11-25 08:22:15"))
        #expect(
            worker.checkpointTime == nil && worker.checkpointCompleted == nil && worker.checkpointCompletionTime == nil)
        #expect(worker.entry == 0 && worker.data == 0 && worker.meta == 0 && worker.failures == 0)
    }

    @Test func detailXMLIsTheSameAsStatusXML() throws {
        #expect(try workers("live-10.3-georep-status-detail.xml") == workers("live-10.3-georep-status.xml"))
    }

    @Test func checkpointPendingThenCompleted() throws {
        let pending = try #require(try workers("live-10.3-georep-status-detail-checkpoint.xml").first)
        #expect(pending.checkpointCompleted == false)
        #expect(pending.checkpointTime == utc("2026-11-25 08:25:56"))
        #expect(pending.checkpointCompletionTime == nil)
        #expect(pending.lastSynced == utc("2026-11-25 08:24:19"))

        let done = try #require(try workers("live-10.3-georep-status-detail-checkpoint-2.xml").first)
        #expect(done.checkpointCompleted == true)
        #expect(done.checkpointTime == utc("2026-11-25 08:25:56"))
        #expect(done.checkpointCompletionTime == utc("2026-11-25 08:27:25"))
        #expect(done.lastSynced == utc("2026-11-25 08:27:12"))

        let outputs = GeoRepStatusProbe.outputs(
            try GlusterParse.geoRepStatus(try Fixture("live-10.3-georep-status-detail-checkpoint-2.xml").output()),
            volume: nil)
        #expect(outputs["checkpoint_completed_all"] == .bool(true))
        #expect(outputs["state"] == .string("Sync Completed"))
        let before = GeoRepStatusProbe.outputs(
            try GlusterParse.geoRepStatus(try Fixture("live-10.3-georep-status-detail-checkpoint.xml").output()),
            volume: nil)
        #expect(before["checkpoint_completed_all"] == .bool(false))
        #expect(before["state"] == .string("Sync in Progress"))
    }

    @Test func oldMasterSlaveTagsParseLikeTheNewOnes() throws {
        let old = try #require(try workers("vdsm-georep-status-master-slave-tags.xml").first)
        let new = try #require(try workers("vdsm-georep-status-primary-secondary-tags.xml").first)
        for worker in [old, new] {
            #expect(worker.primaryNode == "localhost.localdomain")
            #expect(worker.primaryBrick == "/root/b1_vol1")
            #expect(worker.primaryNodeUUID == "6a2f7584-05a8-4651-8786-1cd6ae87b896")
            #expect(worker.secondaryUser == "root")
            #expect(worker.secondary == "192.168.122.145::vol2")
            #expect(worker.status == "Stopped" && worker.state == .stopped)
            #expect(worker.crawlStatus == "N/A")
            #expect(worker.lastSynced == utc("2014-12-12 05:18:23"))
            #expect(worker.checkpointTime == utc("2014-12-12 05:17:23"))
            #expect(worker.checkpointCompletionTime == utc("2014-12-12 05:18:20"))
            #expect(worker.checkpointCompleted == true)
        }
        #expect(old.secondaryNode == "192.168.122.145")
        #expect(new.secondaryNode == "")
        guard
            case .sessions(let sessions) = try GlusterParse.geoRepStatus(
                try Fixture("vdsm-georep-status-master-slave-tags.xml").output())
        else {
            Issue.record("expected sessions")
            return
        }
        #expect(sessions[0].sessionSecondary == "6a2f7584-05a8-4651-8786-1cd6ae87b896:ssh://192.168.122.145::vol2")
        let outputs = GeoRepStatusProbe.outputs(.sessions(sessions), volume: nil)
        #expect(outputs["state"] == .string("Stopped"))
        #expect(outputs["stopped"] == .int(1))
    }

    @Test(arguments: [
        "live-10.3-georep-status-nosession.xml", "live-10.3-georep-status-nonexistent-pair.xml",
        "live-10.3-georep-status-nosession.txt", "live-10.3-georep-status-nonexistent-pair.txt",
    ])
    func noSessionIsAStateNotAnError(_ name: String) throws {
        let fixture = try Fixture(name)
        #expect(fixture.exitCode != 0)
        let status = try GlusterParse.geoRepStatus(fixture.output())
        guard case .noSession = status else {
            Issue.record("\(name): expected noSession, got \(status)")
            return
        }
        #expect(!status.exists)
        let outputs = GeoRepStatusProbe.outputs(status, volume: nil)
        #expect(outputs["session"] == .string("none"))
        #expect(outputs["state"] == .string("No session"))
        #expect(outputs["faulty"] == .int(0))
    }

    @Test func brickDownCaptureHasNAFields() throws {
        let worker = try #require(try workers("live-10.3-georep-status-secondary-brick-down.xml").first)
        #expect(worker.status == "Initializing...")
        #expect(worker.state == .initializing)
        #expect(worker.secondaryNode == "N/A")
        #expect(worker.crawlStatus == "N/A")
        #expect(worker.lastSynced == nil && worker.entry == nil && worker.failures == nil)
        let outputs = GeoRepStatusProbe.outputs(
            .sessions([GeoRepSession(primaryVolume: "mastervol", sessionSecondary: "", workers: [worker])]), volume: nil
        )
        #expect(outputs["initializing"] == .int(1))
        #expect(outputs["active"] == .int(0))
        #expect(outputs["checkpoint_completed_all"] == .bool(false))
    }

    @Test func bricksWithoutARowAreMergedAsOffline() throws {
        // synthetic: a 2-brick replica whose second brick's node did not answer
        let status = try GlusterParse.geoRepStatus(
            try Fixture("live-10.3-georep-status-detail-checkpoint-2.xml").output())
        let volume = GlusterVolume(
            name: "mastervol", id: "", status: "Started", type: "Replicate",
            bricks: [
                GlusterBrick(host: "vm", path: "/bricks/m1", hostUUID: "c22e8b4c-8163-4ded-946a-bfd342ba56f5"),
                GlusterBrick(host: "vm2", path: "/bricks/m1", hostUUID: "0000aaaa-0000-0000-0000-000000000002"),
            ], options: [])
        let outputs = GeoRepStatusProbe.outputs(status, volume: volume)
        #expect(outputs["offline"] == .int(1))
        #expect(outputs["active"] == .int(1))
        guard case .list(let workers)? = outputs["workers"], workers.count == 2, case .map(let offline) = workers[1]
        else {
            Issue.record("expected 2 workers")
            return
        }
        #expect(offline["node"] == .string("vm2"))
        #expect(offline["status"] == .string("Offline"))
        #expect(offline["checkpoint_completed"] == .bool(false))
        guard case .map(let active) = workers[0] else { return }
        #expect(active["checkpoint_completion_time"] == .timestamp(try #require(utc("2026-11-25 08:27:25"))))
        #expect(active["entry"] == .int(0))
    }

    @Test func badTimeIsAnErrorNamingTheField() throws {
        // synthetic
        let text = try Fixture("live-10.3-georep-status.xml").text.replacingOccurrences(
            of: "2026-11-25 08:22:15", with: "yesterday")
        let output = GlusterOutput(
            command: "gluster --mode=script --xml volume geo-replication m vm::s status detail", host: "gfs-a1",
            exitCode: 0, stdout: text)
        #expect { try GlusterParse.geoRepStatus(output) } throws: { error in
            "\(error)".contains("last_synced 'yesterday'") && "\(error)".contains("gfs-a1")
                && "\(error)".contains("status detail")
        }
    }
}

@Suite struct VolumeParserTests {
    @Test func volumeInfoLive() throws {
        let volumes = try GlusterParse.volumeInfo(try Fixture("live-10.3-volume-info-all.xml").output())
        #expect(volumes.map(\.name) == ["mastervol", "slavevol"])
        let master = volumes[0]
        #expect(master.status == "Started" && master.type == "Distribute")
        #expect(
            master.bricks == [
                GlusterBrick(host: "vm", path: "/bricks/m1", hostUUID: "c22e8b4c-8163-4ded-946a-bfd342ba56f5")
            ])
        #expect(master.options.count == 6)
        #expect(master.option("geo-replication.indexing")?.value == "on")
        #expect(master.option("changelog")?.name == "changelog.changelog")  // short name
        #expect(master.option("features.read-only") == nil)
        #expect(volumes[1].option("features.read-only")?.value == "on")
    }

    @Test func volumeInfoVdsmReplicaArbiterAndStopped() throws {
        let volumes = try GlusterParse.volumeInfo(try Fixture("vdsm-volume-info.xml").output())
        #expect(volumes.count == 2)
        #expect(volumes[0].type == "Replicate")
        #expect(volumes[0].bricks.map(\.name) == ["192.168.122.2:/tmp/m_b1", "192.168.122.2:/tmp/m_b2"])
        #expect(volumes[0].bricks.allSatisfy { $0.isArbiter })
        #expect(volumes[0].bricks[0].hostUUID == "04eb591b-2fd3-489e-a22c-5d342a3c713d")
        #expect(volumes[0].options == [GlusterOption(name: "auth.allow", value: "*")])
        #expect(volumes[1].status == "Stopped" && !volumes[1].isStarted)
        #expect(volumes[1].options.isEmpty)
    }

    @Test func volumeStatusOnlineAndOffline() throws {
        let all = try GlusterParse.volumeStatus(try Fixture("live-10.3-volume-status-all.xml").output())
        #expect(all.map(\.name) == ["mastervol", "slavevol"])
        #expect(
            all[0].bricks == [
                GlusterBrickStatus(
                    host: "vm", path: "/bricks/m1", peerID: "c22e8b4c-8163-4ded-946a-bfd342ba56f5", online: true,
                    pid: 6573, port: 50508)
            ])
        let detail = try GlusterParse.volumeStatus(try Fixture("live-10.3-volume-status-mastervol-detail.xml").output())
        #expect(detail[0].bricks[0].online && detail[0].bricks[0].pid == 6573)
        let down = try GlusterParse.volumeStatus(
            try Fixture("live-10.3-volume-status-brick-offline-detail.xml").output())
        #expect(
            down[0].bricks == [
                GlusterBrickStatus(
                    host: "vm", path: "/bricks/s1", peerID: "c22e8b4c-8163-4ded-946a-bfd342ba56f5", online: false,
                    pid: nil, port: nil)
            ])
        let vdsm = try GlusterParse.volumeStatus(try Fixture("vdsm-volume-status-detail.xml").output())
        #expect(vdsm[0].bricks.map(\.port) == [49152, 49153])  // older: no <ports>
    }

    @Test func healthMergeNamesTheOfflineBrick() throws {
        let slave = try GlusterParse.volume("slavevol", in: try Fixture("live-10.3-volume-info-all.xml").output())
        let down = try GlusterParse.volumeStatus(
            try Fixture("live-10.3-volume-status-brick-offline-detail.xml").output())[0].bricks
        let health = VolumeHealthProbe.mergeForTesting(slave, down)
        #expect(health.offline == ["vm:/bricks/s1"])
        #expect(health.online.isEmpty)
        // synthetic: the brick's node is unreachable, so it has no row at all
        let missing = VolumeHealthProbe.mergeForTesting(slave, [])
        #expect(missing.offline == ["vm:/bricks/s1"])
        #expect(missing.reasons["vm:/bricks/s1"]?.contains("no row") == true)
    }

    @Test func volumeGetBothShapes() throws {
        // synthetic: the 10.x shape (Opt elements) and the 3.7 single-option shape
        let multi = GlusterOutput(
            command: "gluster --mode=script --xml volume get gv0 all", host: "gfs-a1", exitCode: 0,
            stdout: """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volGetopts><count>2</count>
                <Opt><Option>features.read-only</Option><Value>off (DEFAULT)</Value></Opt>
                <Opt><Option>changelog.changelog</Option><Value>on</Value></Opt></volGetopts></cliOutput>
                """)
        #expect(
            try GlusterParse.volumeGet(multi) == [
                GlusterOption(name: "features.read-only", value: "off", isDefault: true),
                GlusterOption(name: "changelog.changelog", value: "on"),
            ])
        let single = GlusterOutput(
            command: "gluster --xml volume get gv0 nfs.disable", host: "gfs-a1", exitCode: 0,
            stdout: """
                <cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volGetopts><count>1</count><Option>nfs.disable</Option><Value>on</Value></volGetopts></cliOutput>
                """)
        #expect(try GlusterParse.volumeGet(single) == [GlusterOption(name: "nfs.disable", value: "on")])
    }

    @Test func peersAndPool() throws {
        #expect(try GlusterParse.peers(try Fixture("live-10.3-peer-status.xml").output()).isEmpty)
        let pool = try GlusterParse.peers(try Fixture("live-10.3-pool-list.xml").output())
        #expect(pool.count == 1)
        #expect(
            pool[0].hostname == "localhost" && pool[0].connected
                && pool[0].uuid == "c22e8b4c-8163-4ded-946a-bfd342ba56f5")
    }

    @Test func opErrstrIsTheFailure() throws {
        let fixture = try Fixture("live-10.3-heal-info-distribute.xml")
        let output = GlusterOutput(
            command: "/usr/sbin/gluster --mode=script --xml volume heal mastervol info", host: "gfs-b1", exitCode: 234,
            stdout: fixture.text)
        #expect { try GlusterEnvelope.checked(output) } throws: { error in
            let text = "\(error)"
            return text.contains("This command is supported for only volumes of replicate/disperse type")
                && text.contains("gfs-b1") && text.contains("volume heal mastervol info")
        }
        // an unknown volume in volume info is an opRet -1 envelope too (synthetic)
        let missing = GlusterOutput(
            command: "gluster --mode=script --xml volume info nope", host: "gfs-a1", exitCode: 1,
            stdout:
                "<cliOutput><opRet>-1</opRet><opErrno>30800</opErrno><opErrstr>Volume nope does not exist</opErrstr></cliOutput>"
        )
        #expect { try GlusterParse.volumeInfo(missing) } throws: { "\($0)".contains("Volume nope does not exist") }
        // a payload-less success still parses the envelope
        let list = try GlusterEnvelope.checked(try Fixture("live-10.3-volume-list.xml").output())
        #expect(list.root.path("volList")?.children("volume").map(\.text) == ["mastervol", "slavevol"])
        let heal = try GlusterEnvelope.checked(try Fixture("vdsm-heal-info-summary.xml").output())
        #expect(heal.root.child("healInfo") != nil)
    }

    @Test(arguments: [
        "", "Connection failed. Please check if gluster daemon is operational.", "<cliOutput><opRet>0</opRet>",
        "<html>nope</html>", "garbage\u{0}bytes",
    ])
    func garbageIsAnErrorNamingCommandHostAndOutput(_ text: String) throws {
        let output = GlusterOutput(
            command: "/usr/sbin/gluster --mode=script --xml volume info gv0", host: "gfs-b1",
            exitCode: text.hasPrefix("Connection") ? 1 : 0, stdout: text)
        #expect { try GlusterParse.volumeInfo(output) } throws: { error in
            let message = "\(error)"
            return message.contains("`/usr/sbin/gluster --mode=script --xml volume info gv0`")
                && message.contains("on gfs-b1")
                && message.contains("output starts: \"\(text.isEmpty ? "(no output)" : String(text.prefix(20)))")
        }
        #expect(throws: GlusterError.self) { try GlusterParse.geoRepStatus(output) }
        #expect(throws: GlusterError.self) { try GlusterParse.peers(output) }
    }

    @Test func longOutputIsCutAt300Characters() {
        let output = GlusterOutput(
            command: "gluster x", host: "h", exitCode: 0, stdout: String(repeating: "x", count: 1000))
        #expect(output.start.count == 301)
    }
}

@Suite struct GeoRepConfigParserTests {
    @Test func configXMLAndTextAgree() throws {
        let xml = try GlusterParse.geoRepConfig(try Fixture("live-10.3-georep-config.xml").output())
        let text = try GlusterParse.geoRepConfigText(try Fixture("live-10.3-georep-config.txt").output())
        #expect(xml == text)
        #expect(xml.values.count == 67)
        #expect(xml["sync-method"] == "rsync" && xml["sync_method"] == "rsync")
        #expect(xml["change-detector"] == "xsync")
        #expect(xml["special-sync-mode"] == "")
        #expect(xml["gfid-conflict-resolution"] == "true")
        #expect(xml["checkpoint"] == "0")
        #expect(
            xml["ssh_options"]
                == "-oPasswordAuthentication=no -oStrictHostKeyChecking=no -i /var/lib/glusterd/geo-replication/secret.pem"
        )
        #expect(
            xml["stime_xattr_prefix"]
                == "trusted.glusterfs.50a25d60-06f1-4c0e-83d4-288f7aa913a7.bb1cf87d-944d-44ac-ae92-fb8fc3a2525c")
        #expect(xml["use-tarssh"] == nil)
    }

    @Test func singleValueForms() throws {
        #expect(
            try GlusterParse.geoRepConfig(try Fixture("live-10.3-georep-config-use_meta_volume.xml").output()).values
                == ["use_meta_volume": "false"])
        #expect(
            try GlusterParse.geoRepConfigValue(try Fixture("live-10.3-georep-config-sync-method.txt").output())
                == "rsync")
    }

    @Test func oldConfigKeys() throws {
        let config = try GlusterParse.geoRepConfig(try Fixture("vdsm-georep-config-list.xml").output())
        #expect(config["special_sync_mode"] == "partial")
        #expect(config["change-detector"] == "changelog")
        #expect(config["ignore_deletes"] == "true")
        #expect(config.values.count == 20)
    }

    @Test func trailingXMLFailureIsReported() throws {
        let fixture = try Fixture("live-10.3-georep-config-trailing-xml-NOT-parsed.txt")
        let output = fixture.output("gluster volume geo-replication mastervol vm::slavevol config --xml", host: "vm")
        #expect { try GlusterParse.geoRepConfigText(output) } throws: { error in
            "\(error)".contains("exited 1: Invalid option") && "\(error)".contains("on vm")
        }
        #expect { try GlusterParse.geoRepConfig(output) } throws: { "\($0)".contains("Invalid option") }
    }

    @Test func epochCheckpoint() {
        #expect(GlusterTime.epoch("0") == nil)
        #expect(GlusterTime.epoch("1795595156") == Date(timeIntervalSince1970: 1_795_595_156))
    }
}
