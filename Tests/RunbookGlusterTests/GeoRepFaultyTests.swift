import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import Testing

/// `gluster.georep.status` when no worker can sync (issue 12, item 3): the state is Faulty, and the
/// gsyncd log of the lab's reverse session, captured when a directory renamed during the failover
/// window made its worker die on every restart (Fixtures/lab-10.3-gsyncd-reverse-dir-rename-faulty.log),
/// says why, which path, and since when.
@Suite struct GeoRepFaultyTests {
    let session = "volume geo-replication mastervol vm::slavevol"
    let log = "/var/log/glusterfs/geo-replication/mastervol_vm_slavevol/gsyncd.log"

    @Test func theLogSaysTheErrorThePathAndSinceWhenNoBatchCompleted() throws {
        let parsed = GsyncdLog.parse(try Fixture("lab-10.3-gsyncd-reverse-dir-rename-faulty.log").text)
        #expect(
            parsed.lastError
                == "E [syncdutils(worker /bricks/gvsecondary):320:log_raise_exception] <top>: The above directory"
                + " failed to sync. Please fix it to proceed further.")
        #expect(parsed.entryFailed?.contains("'op': 'MKDIR'") == true)
        #expect(parsed.entryFailed?.contains("'name_mismatch': True") == true)
        #expect(parsed.errorPath == ".gfid/e84224fb-d0d9-4994-9cf6-404985c13b04/moved-dir")
        // The first of the two `status=Faulty` lines (12:45:28), no batch completed since.
        #expect(parsed.faultySince == utc("2026-12-01T12:45:28Z"))
        // A completed batch after the failures starts the count again.
        let recovered = GsyncdLog.parse(
            try Fixture("lab-10.3-gsyncd-reverse-dir-rename-faulty.log").text
                + "[2026-12-01 12:50:00.1] I [primary(worker /b):1451:process] _GPrimary: Batch Completed [{mode=xsync}]\n"
        )
        #expect(recovered.faultySince == nil)
        #expect(
            GsyncdLog.path(primary: "gvsecondary", secondary: "root@gfs-a1::gvprimary")
                == "/var/log/glusterfs/geo-replication/gvsecondary_gfs-a1_gvprimary/gsyncd.log")
    }

    /// A worker that dies, restarts, completes the same history batch (the stime does not move)
    /// and dies again every ~16 s: that batch is not progress, so Faulty counts from the first
    /// failure after the batch that last moved the stime on.
    @Test func aWorkerThatCompletesTheSameBatchBetweenFailuresIsFaultySinceItsFirstFailure() throws {
        let parsed = GsyncdLog.parse(try Fixture("lab-10.3-gsyncd-reverse-faulty-flapping.log").text)
        #expect(parsed.faultySince == utc("2026-12-07T05:46:47Z"))
        #expect(parsed.entryFailed?.contains("'op': 'MKDIR'") == true)
        // A batch that moves the stime on is progress.
        let moved = GsyncdLog.parse(
            try Fixture("lab-10.3-gsyncd-reverse-faulty-flapping.log").text
                + "[2026-12-07 05:48:20.1] I [primary(worker /b):1451:process] _GPrimary: Batch Completed"
                + " [{mode=live_changelog}, {stime=(1796622100, 0)}]\n")
        #expect(moved.faultySince == nil)
    }

    func faultyHost() throws -> FakeHost {
        let host = FakeHost()
        let status = try Fixture("live-10.3-georep-status.xml").text.replacingOccurrences(
            of: "<status>Active</status>", with: "<status>Faulty</status>")
        host.on("--mode=script --xml \(session) status detail", Lab.ok(status))
        try host.on("--mode=script --xml volume info mastervol", fixture: "live-10.3-volume-info-all.xml")
        let now = Int(utc("2026-12-01T12:55:28Z")!.timeIntervalSince1970)
        host.on(
            "-c \(Self.readLogScript) sh \(log)",
            Lab.ok("\(now)\n" + (try Fixture("lab-10.3-gsyncd-reverse-dir-rename-faulty.log").text)))
        return host
    }

    /// The command that reads the end of a gsyncd log: the last 60,000 bytes from the first whole
    /// line, within the 64 KiB the transports capture.
    static let readLogScript =
        "date +%s; [ -r \"$1\" ] || exit 0; if [ \"$(wc -c < \"$1\")\" -gt 60000 ]; then tail -c 60000 \"$1\" |"
        + " tail -n +2; else cat \"$1\"; fi"

    /// A gsyncd log longer than the 64 KiB a command's output is captured to (the transports keep
    /// the first bytes): an hour of older lines, then the flapping worker. Read by a real shell
    /// through the local transport with the executor's limit, the status probe finds the recent
    /// failure and Faulty since its first one, not the old error. Before: `tail -n 2000` printed
    /// about 150 kB, the capture kept its oldest 64 KiB, and the failback's status gate waited on
    /// (the lab, 2026-12-07 14:49: `faulty_for` null for 8 minutes, the error an hour old).
    @Test func aLogLongerThanTheCaptureIsReadFromItsEnd() async throws {
        let old =
            "[2026-12-07 04:40:43.66552] E [syncdutils(worker /bricks/gvsecondary):845:errlog] Popen: an old error"
            + " of another session [{error=255}]\n"
            + "[2026-12-07 04:41:00.1] I [primary(worker /b):1451:process] _GPrimary: Batch Completed"
            + " [{mode=history_changelog}, {stime=(1796600000, 0)}]\n"
        let text =
            String(repeating: old, count: 100_000 / old.utf8.count + 1)
            + (try Fixture("lab-10.3-gsyncd-reverse-faulty-flapping.log").text)
        #expect(text.utf8.count > 100_000)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gsyncd-\(UUID().uuidString).log")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let status = try Fixture("live-10.3-georep-status.xml").text.replacingOccurrences(
            of: "<status>Active</status>", with: "<status>Faulty</status>")
        let fake = FakeHost()
        fake.on("--mode=script --xml \(session) status detail", Lab.ok(status))
        try fake.on("--mode=script --xml volume info mastervol", fixture: "live-10.3-volume-info-all.xml")
        let runner: @Sendable (String, CommandSpec, Double?, Int) async throws -> CommandResult = {
            host, command, timeout, limit in
            guard command.argv.first == "sh" else { return try await fake.runner(host, command, timeout, limit) }
            var local = command
            local.argv[local.argv.count - 1] = file.path
            return try await LocalTransport().run(local, timeout: 10, outputLimit: 64 * 1024)
        }
        let node = try Lab.node(
            "probe: gluster.georep.status\nwith: {primary: mastervol, secondary: vm::slavevol, nodes: [vm]}",
            inventory: Self.inventory)
        let probe = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await probe.probe(
            ActionContext(
                node: node, host: node.host, settings: Lab.settings(node.host), phase: .probe, timeout: 30,
                runner: runner))
        let error = observation.outputs["last_error"]?.renderedForText ?? ""
        #expect(!error.contains("an old error"), "\(error)")
        #expect(error.contains("ENTRY FAILED"), "\(error)")
        guard case .duration(let faulty)? = observation.outputs["faulty_for"] else {
            Issue.record("no faulty_for: \(observation.outputs)")
            return
        }
        // Since the flapping log's first failure (05:46:47) by this machine's clock.
        let since = try #require(utc("2026-12-07T05:46:47Z"))
        #expect(abs(faulty - Date().timeIntervalSince(since)) < 60, "\(faulty)")
    }

    /// The lab inventory with the fixture's node `vm` (`nodes` names inventory hosts).
    static let inventory = Lab.inventory + "\n  vm: {roles: [primary]}"

    @Test func noWorkerSyncingIsFaultyWithEachWorkersLastError() async throws {
        let node = try Lab.node(
            "probe: gluster.georep.status\nwith: {primary: mastervol, secondary: vm::slavevol, nodes: [vm]}",
            inventory: Self.inventory)
        #expect(
            node.commands.last?.command.argv == [
                "sh", "-c", Self.readLogScript, "sh", log,
            ])
        #expect(node.commands.last?.host == "vm")
        let host = try faultyHost()
        let probe = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await probe.probe(Lab.context(node, host))
        #expect(observation.outputs["state"] == .string("Faulty"), "not Sync in Progress: \(observation.outputs)")
        let error = observation.outputs["last_error"]?.renderedForText ?? ""
        #expect(error.hasPrefix("vm:/bricks/m1: E [syncdutils"), "\(error)")
        #expect(
            error.contains("(after: E [primary(worker /bricks/gvsecondary):788:log_failures] _GPrimary: ENTRY FAILED"))
        #expect(error.hasSuffix("; path .gfid/e84224fb-d0d9-4994-9cf6-404985c13b04/moved-dir"), "\(error)")
        #expect(observation.outputs["faulty_for"] == .duration(600))
        #expect(observation.summary.contains("Faulty") && observation.summary.contains("last error: vm:/bricks/m1"))

        // Bounded: Faulty 10 minutes without a batch against a bound of 5 fails, naming the error.
        let bounded = try Lab.node(
            "probe: gluster.georep.status\nwith: {primary: mastervol, secondary: vm::slavevol, nodes: [vm],"
                + " faulty_timeout: 5m}", inventory: Self.inventory)
        do {
            _ = try await probe.probe(Lab.context(bounded, try faultyHost()))
            Issue.record("a session Faulty past faulty_timeout must fail the probe")
        } catch let failure as ConclusiveProbeFailure {
            #expect(failure.message.contains("has been Faulty for 600 s"), "\(failure.message)")
            #expect(failure.message.contains("moved-dir"), "\(failure.message)")
        }
        let generous = try Lab.node(
            "probe: gluster.georep.status\nwith: {primary: mastervol, secondary: vm::slavevol, nodes: [vm],"
                + " faulty_timeout: 1h}", inventory: Self.inventory)
        #expect(try await probe.probe(Lab.context(generous, try faultyHost())).outputs["state"] == .string("Faulty"))
    }

    /// Issue 21, case 3: `restart-original` (`gluster.georep.start`) counted a Faulty worker as
    /// started, so a session whose workers were all Faulty was "done" and the failback succeeded
    /// while nothing replicated. Faulty is running (the monitor restarts it) but not started.
    @Test func startDoesNotCountAFaultyWorkerAsStarted() async throws {
        let node = try Lab.node(
            "action: gluster.georep.start\nwith: {primary: mastervol, secondary: vm::slavevol, force: true}",
            inventory: Self.inventory)
        let status = try Fixture("live-10.3-georep-status.xml").text
        let host = FakeHost()
        host.on(
            "--mode=script --xml \(session) status detail",
            Lab.ok(status.replacingOccurrences(of: "<status>Active</status>", with: "<status>Faulty</status>")))
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let faulty = try await type.probe(Lab.context(node, host))
        #expect(!faulty.done, "\(faulty.summary)")
        #expect(faulty.summary.contains("Faulty"), "\(faulty.summary)")
        let healthy = FakeHost()
        healthy.on("--mode=script --xml \(session) status detail", Lab.ok(status))
        #expect(try await type.probe(Lab.context(node, healthy)).done)
        #expect(GeoRepWorkerState("Faulty").isRunning && !GeoRepWorkerState("Faulty").isStarted)
    }

    @Test func aFaultyWorkerBesideAnActiveOneIsStillSyncInProgress() throws {
        let status = try GlusterParse.geoRepStatus(try Fixture("live-10.3-georep-status.xml").output())
        guard case .sessions(let sessions) = status, var session = sessions.first, let active = session.workers.first
        else {
            Issue.record("the fixture has a session with a worker")
            return
        }
        var faulty = active
        faulty.status = "Faulty"
        faulty.primaryBrick = "/bricks/other"
        session.workers = [active, faulty]
        #expect(GeoRepStatusProbe.outputs(.sessions([session]), volume: nil)["state"] == .string("Sync in Progress"))
        session.workers = [faulty, faulty]
        #expect(GeoRepStatusProbe.outputs(.sessions([session]), volume: nil)["state"] == .string("Faulty"))
    }
}
