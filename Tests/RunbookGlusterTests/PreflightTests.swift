import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import RunbookTestSupport
import Testing

/// `gluster.preflight`: every check of the catalogue on captured or derived outputs
/// (Fixtures/INDEX.md, "Preflight"), answered per node by ScriptedHosts; each check has a case
/// that fails (or warns) and names the node, the issue and what to do.
@Suite struct PreflightTests {
    static let inventory = """
        apiVersion: runbook/v1
        kind: Inventory
        metadata: {name: lab}
        defaults: {transport: local, gluster: /opt/gluster/sbin/gluster}
        hosts:
          gfs-a1: {roles: [primary]}
          gfs-a2: {roles: [primary]}
          gfs-b1: {roles: [secondary]}
          gfs-b2: {roles: [secondary]}
        """
    static let gluster = Lab.binary

    /// Plans one `gluster.preflight` step (`with` as YAML flow text), answers it with `script`,
    /// and returns the node (for its planned commands) and the observation.
    func preflight(_ with: String, on host: String = "gfs-a1", _ script: (ScriptedHosts) throws -> Void) async throws
        -> (node: PlanNode, observation: Observation)
    {
        let node = try Lab.node("probe: gluster.preflight\nwith: \(with)", on: host, inventory: Self.inventory)
        let hosts = ScriptedHosts()
        try script(hosts)
        let probe = try #require(ActionRegistry.withGluster[node.typeName])
        #expect(probe.descriptor.defaultExpectation == "outputs.passed")
        let context = ActionContext(
            node: node, host: node.host, settings: Lab.settings(node.host, inventory: Self.inventory), timeout: 30,
            runner: hosts)
        return (node, try await probe.probe(context))
    }

    func text(_ fixture: String) throws -> ScriptedHosts.Reply {
        let f = try Fixture(fixture)
        return .exit(f.exitCode, stdout: f.text)
    }

    func expectFailed(
        _ observation: Observation, _ check: String, naming: [String],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        #expect(observation.outputs["ok"] == .bool(false), sourceLocation: sourceLocation)
        #expect(observation.outputs["passed"] == .bool(false), sourceLocation: sourceLocation)
        #expect(
            observation.summary.hasPrefix("preflight \(check): FAILED"), "\(observation.summary)",
            sourceLocation: sourceLocation)
        let issue = try #require(PreflightCatalogue.check(named: check)).issue
        #expect(observation.summary.contains(issue), sourceLocation: sourceLocation)
        #expect(observation.summary.contains("Do: "), sourceLocation: sourceLocation)
        for text in naming {
            #expect(
                observation.summary.contains(text), "\(observation.summary) lacks \(text)",
                sourceLocation: sourceLocation)
        }
    }

    func expectOK(_ observation: Observation, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(observation.outputs["ok"] == .bool(true), "\(observation.summary)", sourceLocation: sourceLocation)
        #expect(observation.outputs["passed"] == .bool(true), sourceLocation: sourceLocation)
    }

    @Test func theCatalogueHasTwelveChecksEachWithReasonIssueAndFix() {
        let checks = PreflightCatalogue.checks
        #expect(checks.count >= 12)
        #expect(Set(checks.map(\.name)).count == checks.count)
        for check in checks {
            #expect(!check.reason.isEmpty && !check.fix.isEmpty, "\(check.name)")
            #expect(check.issue.hasPrefix("https://github.com/gluster/glusterfs/issues/"), "\(check.name)")
        }
    }

    @Test func anUnknownCheckAndAMissingParameterAreRefusedByValidate() throws {
        let probe = PreflightProbe()
        #expect(
            probe.check(ResolvedArguments(["check": .string("same-versoin")])).first?.contains("same-version") == true)
        #expect(
            probe.check(ResolvedArguments(["check": .string("active-workers"), "primary": .string("gv0")]))
                == ["preflight check active-workers needs `secondary`"])
    }

    // MARK: same-version

    @Test func sameVersionNamesTheNodeOfTheOtherVersion() async throws {
        let (node, observation) = try await preflight("{check: same-version, nodes: [gfs-a1, gfs-a2, gfs-b1]}") {
            $0.answer([Self.gluster, "--version"], with: try text("local-10.3-gluster-version.txt"))
            $0.answer([Self.gluster, "--version"], on: "gfs-b1", with: try text("derived-11.1-gluster-version.txt"))
        }
        #expect(node.commands.map(\.host) == ["gfs-a1", "gfs-a2", "gfs-b1"])
        try expectFailed(observation, "same-version", naming: ["gfs-b1: runs glusterfs 11.1, gfs-a1, gfs-a2 run 10.3"])
    }

    @Test func sameVersionPassesOnOneVersion() async throws {
        let (_, observation) = try await preflight("{check: same-version, nodes: [gfs-a1, gfs-b1]}") {
            $0.answer([Self.gluster, "--version"], with: try text("local-10.3-gluster-version.txt"))
        }
        expectOK(observation)
    }

    // MARK: known-bad-versions

    @Test func knownBadRsyncIsNamedWithItsIssue() async throws {
        let (node, observation) = try await preflight("{check: known-bad-versions, nodes: [gfs-b1, gfs-b2]}") {
            $0.answer(KnownBadArgv.read, with: try text("local-10.3-packages-os-release.txt"))
            $0.answer(KnownBadArgv.read, on: "gfs-b2", with: try text("derived-10.3-packages-rsync-known-bad.txt"))
        }
        #expect(node.commands.map(\.command.argv) == [KnownBadArgv.read, KnownBadArgv.read])
        try expectFailed(
            observation, "known-bad-versions",
            naming: ["gfs-b2: rsync 3.5.0+ds1-0+deb12u1", "issues/4533", "apt-mark hold rsync"])
        #expect(!observation.summary.contains("gfs-b1:"))
    }

    @Test func aSitesOwnKnownBadEntryAndTheOSRule() async throws {
        let (_, observation) = try await preflight(
            "{check: known-bad-versions, known_bad: ['python3=3.11.2-1+b1']}"
        ) {
            $0.answer(KnownBadArgv.read, with: try text("local-10.3-packages-os-release.txt"))
        }
        try expectFailed(
            observation, "known-bad-versions", naming: ["gfs-a1: python3 3.11.2-1+b1", "the site's known_bad list"])
        let versions = KnownBadVersionsCheck.versions(try Fixture("local-10.3-packages-os-release.txt").text)
        #expect(versions["os"] == "debian 12")
        #expect(versions["glusterfs-server"] == "10.3-5")
        #expect(KnownBadVersions.matches("3.11.2-1+b1", ">=3.9"))
        #expect(KnownBadVersions.matches("9.2-1", "<9.3") && !KnownBadVersions.matches("10.3-5", "<9.3"))
        #expect(KnownBadVersions.matches("11.1-4ubuntu1", "11.*"))
    }

    // MARK: session-keys

    @Test func aSecondaryNodeWithoutTheGsyncdKeyIsNamed() async throws {
        let argv = ["sh", "-c", #"cat "$(getent passwd "$1" | cut -d: -f6)/.ssh/authorized_keys""#, "sh", "geoaccount"]
        let (node, observation) = try await preflight(
            "{check: session-keys, user: geoaccount, nodes: [gfs-b1, gfs-b2], expected_keys: 2}", on: "gfs-b1"
        ) {
            $0.answer(argv, on: "gfs-b1", with: try text("derived-10.3-authorized-keys-geoaccount.txt"))
            $0.answer(argv, on: "gfs-b2", with: try text("derived-10.3-authorized-keys-no-gsyncd.txt"))
        }
        #expect(node.commands.map(\.command.argv) == [argv, argv])
        try expectFailed(
            observation, "session-keys", naming: ["gfs-b2: 0 of 2 geo-rep key(s)", "geoaccount's authorized_keys"])
        #expect(!observation.summary.contains("gfs-b1:"))
    }

    // MARK: session-login

    @Test func aLoginThatReachesAShellOrIsRefusedIsNamed() async throws {
        func login(_ node: String) -> [String] {
            [
                "ssh", "-oPasswordAuthentication=no", "-oStrictHostKeyChecking=no", "-i",
                "/var/lib/glusterd/geo-replication/secret.pem", "-oBatchMode=yes", "-oConnectTimeout=10",
                "geoaccount@\(node)", "echo", "runbook-preflight-shell",
            ]
        }
        // Synthetic: gsyncd as the forced command ignores the request and answers with its own
        // usage error; a key without command= runs the echo in a shell.
        let (_, observation) = try await preflight(
            "{check: session-login, secondary: 'geoaccount@gfs-b1::gvsecondary', nodes: [gfs-b1, gfs-b2]}"
        ) {
            $0.answer(login("gfs-b1"), with: .exit(1, stderr: "usage: gsyncd.py [-h]\n"))
            $0.answer(login("gfs-b2"), with: .ok("runbook-preflight-shell\n"))
        }
        try expectFailed(observation, "session-login", naming: ["geoaccount@gfs-b2 opened a shell"])
        #expect(!observation.summary.contains("gfs-b1 "))
        // Synthetic: ssh's refusal as issue 1754 shows it, at the name site A resolves (`addresses`).
        let (node, refused) = try await preflight(
            "{check: session-login, user: geoaccount, addresses: [gfs-b1.dc-b.example.net]}"
        ) {
            $0.answer(
                login("gfs-b1.dc-b.example.net"),
                with: .exit(255, stderr: "geoaccount@gfs-b1.dc-b.example.net: Permission denied (publickey).\n"))
        }
        #expect(node.commands.map(\.command.argv) == [login("gfs-b1.dc-b.example.net")])
        try expectFailed(
            refused, "session-login",
            naming: ["geoaccount@gfs-b1.dc-b.example.net refused the session key", "Permission denied (publickey)"])
    }

    // MARK: meta-volume-mounted

    @Test func theMetaVolumeUnmountedOnANodeOfTheNewPrimary() async throws {
        let (node, observation) = try await preflight(
            "{check: meta-volume-mounted, use_meta_volume: true, nodes: [gfs-b1, gfs-b2]}", on: "gfs-b1"
        ) {
            $0.answer(["cat", "/proc/mounts"], on: "gfs-b1", with: try text("lab-10.3-proc-mounts-meta-mounted.txt"))
            $0.answer(["cat", "/proc/mounts"], on: "gfs-b2", with: try text("lab-10.3-proc-mounts-meta-unmounted.txt"))
        }
        #expect(node.commands.map(\.host) == ["gfs-b1", "gfs-b2"])
        try expectFailed(observation, "meta-volume-mounted", naming: ["gfs-b2: gluster_shared_storage is not mounted"])
        #expect(!observation.summary.contains("gfs-b1:"))
        let (off, _) = try await preflight("{check: meta-volume-mounted, use_meta_volume: false}") { _ in }
        #expect(off.commands.isEmpty, "nothing to read when the session does not use it")
    }

    // MARK: mountbroker-status

    @Test func mountbrokerStatusNamesTheNodesThatAreNotOK() async throws {
        let with = "{check: mountbroker-status, secondary: 'geoaccount@gfs-b1::gvsecondary'}"
        let (_, bad) = try await preflight(with, on: "gfs-b1") {
            $0.answer(
                ["gluster-mountbroker", "status"], with: try text("derived-11.1-mountbroker-status-node-missed.txt"))
        }
        try expectFailed(
            bad, "mountbroker-status",
            naming: [
                "gfs-b2: geoaccount may not mount gvsecondary",
                "gfs-b3: node DOWN, no mount root (not set up), no group",
            ])
        #expect(!bad.summary.contains("localhost:"))
        let (_, good) = try await preflight(with, on: "gfs-b1") {
            $0.answer(["gluster-mountbroker", "status"], with: try text("derived-11.1-mountbroker-status.txt"))
        }
        expectOK(good)
        let (root, _) = try await preflight("{check: mountbroker-status, secondary: 'gfs-b1::gvsecondary'}") { _ in }
        #expect(root.commands.isEmpty, "a root session has no mountbroker")
    }

    // MARK: secondary-read-only

    @Test func aWritableSecondaryIsRefused() async throws {
        let info = [Self.gluster, "--mode=script", "--xml", "volume", "info", "mastervol"]
        let (_, observation) = try await preflight("{check: secondary-read-only, volume: mastervol}", on: "gfs-b1") {
            $0.answer(info, with: try text("live-10.3-volume-info-all.xml"))
        }
        try expectFailed(
            observation, "secondary-read-only", naming: ["gfs-b1: mastervol has features.read-only off (default)"])
        let (_, slave) = try await preflight("{check: secondary-read-only, volume: slavevol}", on: "gfs-b1") {
            $0.answer(
                [Self.gluster, "--mode=script", "--xml", "volume", "info", "slavevol"],
                with: try text("live-10.3-volume-info-all.xml"))
        }
        expectOK(slave)
    }

    @Test func readOnlyIsNeededOnlyWhileTheSessionRuns() async throws {
        let with =
            "{check: secondary-read-only, primary: mastervol, secondary: 'vm::slavevol', volume: mastervol, nodes: [gfs-b1]}"
        let info = [Self.gluster, "--mode=script", "--xml", "volume", "info", "mastervol"]
        let (node, running) = try await preflight(with) {
            $0.answer(Self.status, on: "gfs-a1", with: try text("live-10.3-georep-status.xml"))
            $0.answer(info, on: "gfs-b1", with: try text("live-10.3-volume-info-all.xml"))
        }
        #expect(
            node.commands.map(\.host) == ["gfs-a1", "gfs-b1", "gfs-a1"],
            "status on the primary, the volume on the secondary, then the status's text form (run only if it fails bare)"
        )
        try expectFailed(
            running, "secondary-read-only",
            naming: ["gfs-b1: mastervol has features.read-only off (default) while its session runs"])
        let (_, none) = try await preflight(with) {
            $0.answer(Self.status, on: "gfs-a1", with: try text("live-10.3-georep-status-nonexistent-pair.xml"))
            $0.answer(Self.textStatus, on: "gfs-a1", with: try text("live-10.3-georep-status-nonexistent-pair.txt"))
            $0.answer(info, on: "gfs-b1", with: try text("live-10.3-volume-info-all.xml"))
        }
        expectOK(none)
    }

    // MARK: worker-failures

    static let status = [
        gluster, "--mode=script", "--xml", "volume", "geo-replication", "mastervol", "vm::slavevol", "status", "detail",
    ]
    /// The same status in text form: where 10.3 says "No active geo-replication sessions".
    static let textStatus = status.filter { $0 != "--xml" }
    static let info = [gluster, "--mode=script", "--xml", "volume", "info", "mastervol"]
    static let session = "{primary: mastervol, secondary: 'vm::slavevol'"

    @Test func aWorkerWithFailuresIsNamed() async throws {
        let (_, observation) = try await preflight("\(Self.session), check: worker-failures}") {
            $0.answer(Self.status, with: try text("derived-10.3-georep-status-detail-failures.xml"))
        }
        try expectFailed(observation, "worker-failures", naming: ["vm: worker of vm:/bricks/m1 has FAILURES 2"])
        let (_, clean) = try await preflight("\(Self.session), check: worker-failures}") {
            $0.answer(Self.status, with: try text("live-10.3-georep-status-detail.xml"))
        }
        expectOK(clean)
    }

    /// The lab's fresh-clone CI run of 06:45: at the start of a failover the session's `status
    /// detail --xml` failed once with nothing but "geo-replication command failed" (glusterd
    /// logged nothing), and the check left the session out. 10.3 answers a session that does not
    /// exist the same way; its text form tells them apart ("No active geo-replication sessions").
    /// A read that fails bare while the text does not say "no session", or that glusterd refuses as
    /// busy, is read again after a wait; a check that reads a moment later passes.
    @Test func aStatusThatFailsWithNoReasonIsReadAgain() async throws {
        let bare = ScriptedHosts.Reply.exit(2, stdout: "geo-replication command failed\n")
        let bareText = ScriptedHosts.Reply.exit(1, stdout: "geo-replication command failed\n")
        let (_, observation) = try await GlusterdLock.$delays.withValue([0.01, 0.01]) {
            try await preflight("\(Self.session), check: worker-failures}") {
                $0.answer(
                    Self.status, with: bare,
                    .exit(
                        1, stderr: "Another transaction is in progress for mastervol. Please try again after some time."
                    ),
                    try text("live-10.3-georep-status-detail.xml"))
                $0.answer(Self.textStatus, with: bareText)
            }
        }
        expectOK(observation)
        // Still failing after the last wait, and the text form never said "no session": the
        // failure is the finding, never "no worker has failures".
        let (_, failed) = try await GlusterdLock.$delays.withValue([0.01]) {
            try await preflight("\(Self.session), check: worker-failures}") {
                $0.answer(Self.status, with: bare)
                $0.answer(Self.textStatus, with: bareText)
            }
        }
        #expect(failed.outputs["passed"] == .bool(false), "\(failed.summary) \(failed.outputs)")
        #expect(failed.summary.contains("could not be read"), "\(failed.summary)")
        // The text form says there is no session: that is the answer (had it been taken for a
        // failure, the reads would have gone on and ended in "could not be read").
        let (_, none) = try await preflight("\(Self.session), check: worker-failures}") {
            $0.answer(Self.status, with: try text("live-10.3-georep-status-nosession.xml"))
            $0.answer(Self.textStatus, with: try text("live-10.3-georep-status-nosession.txt"))
        }
        expectOK(none)
    }

    // MARK: active-workers

    @Test func fewerActiveWorkersThanSubvolumes() async throws {
        let (node, observation) = try await preflight("\(Self.session), check: active-workers}") {
            $0.answer(Self.status, with: try text("live-10.3-georep-status-secondary-brick-down.xml"))
            $0.answer(Self.info, with: try text("live-10.3-volume-info-all.xml"))
        }
        #expect(node.commands.map(\.command.argv) == [Self.status, Self.info, Self.textStatus])
        try expectFailed(
            observation, "active-workers",
            naming: ["0 Active worker(s) for 1 subvolume(s) of mastervol", "vm:/bricks/m1 Initializing..."])
        let (_, healthy) = try await preflight("\(Self.session), check: active-workers}") {
            $0.answer(Self.status, with: try text("live-10.3-georep-status.xml"))
            $0.answer(Self.info, with: try text("live-10.3-volume-info-all.xml"))
        }
        expectOK(healthy)
    }

    // MARK: ignore-deletes

    @Test func ignoreDeletesIsAWarningThatNamesTheResurrection() async throws {
        let config = [
            Self.gluster, "--mode=script", "--xml", "volume", "geo-replication", "mastervol", "vm::slavevol", "config",
        ]
        let (_, observation) = try await preflight("\(Self.session), check: ignore-deletes}") {
            $0.answer(config, with: try text("derived-10.3-georep-config-ignore-deletes.xml"))
        }
        #expect(observation.outputs["ok"] == .bool(false))
        #expect(observation.outputs["passed"] == .bool(true), "a warning does not fail the step")
        #expect(observation.summary.hasPrefix("preflight ignore-deletes: WARNING"), "\(observation.summary)")
        #expect(observation.summary.contains("deleted files will resurrect at failover"))
        let (_, off) = try await preflight("\(Self.session), check: ignore-deletes}") {
            $0.answer(config, with: try text("live-10.3-georep-config.xml"))
        }
        expectOK(off)
    }

    // MARK: shard-non-root

    @Test func aNonRootSessionOnAShardedVolumeIsRefused() async throws {
        let (_, observation) = try await preflight("{check: shard-non-root, volume: mastervol, user: geoaccount}") {
            $0.answer(Self.info, with: try text("derived-10.3-volume-info-shard.xml"))
        }
        try expectFailed(
            observation, "shard-non-root",
            naming: ["mastervol has features.shard on and the session user is geoaccount"])
        let (asRoot, _) = try await preflight("{check: shard-non-root, volume: mastervol}") { _ in }
        #expect(asRoot.commands.isEmpty, "root sessions replicate shards")
    }

    // MARK: protected-hardlinks

    @Test func protectedHardlinksOnANonRootSecondaryIsAWarning() async throws {
        let (_, observation) = try await preflight(
            "{check: protected-hardlinks, user: geoaccount, nodes: [gfs-b1, gfs-b2]}"
        ) {
            $0.answer(
                ["sysctl", "-n", "fs.protected_hardlinks"], on: "gfs-b1",
                with: try text("local-sysctl-protected-hardlinks.txt"))
            $0.answer(["sysctl", "-n", "fs.protected_hardlinks"], on: "gfs-b2", with: .ok("0\n"))  // synthetic
        }
        #expect(observation.outputs["passed"] == .bool(true))
        #expect(observation.summary.hasPrefix("preflight protected-hardlinks: WARNING"), "\(observation.summary)")
        #expect(observation.summary.contains("gfs-b1: fs.protected_hardlinks = 1 for non-root user geoaccount"))
        #expect(!observation.summary.contains("gfs-b2:"))
        #expect(observation.summary.contains("issues/1727"))
    }

    // MARK: ssh-cipher

    @Test func anSSHDWithoutAES128CTRIsNamed() async throws {
        let (_, observation) = try await preflight("{check: ssh-cipher, nodes: [gfs-b1, gfs-b2]}") {
            $0.answer(["sshd", "-T"], on: "gfs-b1", with: try text("local-sshd-T-default.txt"))
            $0.answer(["sshd", "-T"], on: "gfs-b2", with: try text("local-sshd-T-no-aes128ctr.txt"))
        }
        try expectFailed(
            observation, "ssh-cipher",
            naming: ["gfs-b2: sshd allows chacha20-poly1305@openssh.com,aes256-gcm@openssh.com, not aes128-ctr"])
        #expect(!observation.summary.contains("gfs-b1:"))
    }

    @Test func anUnreachableNodeIsAFinding() async throws {
        let (_, observation) = try await preflight("{check: ssh-cipher, nodes: [gfs-b1]}") {
            $0.setUnreachable("gfs-b1")
        }
        try expectFailed(observation, "ssh-cipher", naming: ["gfs-b1: could not run sshd -T"])
    }
}

enum KnownBadArgv {
    static let read = [
        "sh", "-c",
        #"dpkg-query -W -f='${Package} ${Version}\n' rsync python3 glusterfs-server 2>/dev/null || rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\n' rsync python3 glusterfs-server 2>/dev/null; cat /etc/os-release"#,
    ]
}
