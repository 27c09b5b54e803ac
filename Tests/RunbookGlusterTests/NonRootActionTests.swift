import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import RunbookTestSupport
import Testing

/// The non-root (mountbroker) plumbing: `gluster.mountbroker`, `gluster.georep.pem_keys`,
/// `gluster.georep.sshkey`, and a session user in every session URL. Answers derived from the
/// GlusterFS 11.1 tools (Fixtures/INDEX.md), per command by ScriptedHosts.
@Suite struct NonRootActionTests {
    func step(_ yaml: String, on host: String = "gfs-b1") throws -> PlanNode {
        try Lab.node(yaml, on: host, inventory: PreflightTests.inventory)
    }

    func context(_ node: PlanNode, _ hosts: ScriptedHosts, _ phase: PlannedCommand.Purpose) -> ActionContext {
        ActionContext(
            node: node, host: node.host, settings: Lab.settings(node.host, inventory: PreflightTests.inventory),
            phase: phase, timeout: 30, runner: hosts)
    }

    func reply(_ fixture: String) throws -> ScriptedHosts.Reply {
        let f = try Fixture(fixture)
        return .exit(f.exitCode, stdout: f.text)
    }

    static let mountbroker =
        "action: gluster.mountbroker\nwith: {root: /var/mountbroker-root, group: geogroup, user: geoaccount, volume: gvsecondary}"

    @Test func mountbrokerIsDoneWhenEveryNodeIsOK() async throws {
        let node = try step(Self.mountbroker)
        #expect(
            node.commands.map { "\($0.purpose) \($0.command.argv.joined(separator: " "))" } == [
                "probe gluster-mountbroker status",
                "apply gluster-mountbroker setup /var/mountbroker-root geogroup",
                "apply gluster-mountbroker add gvsecondary geoaccount",
                "verify gluster-mountbroker status",
            ])
        let hosts = ScriptedHosts()
        hosts.answer(["gluster-mountbroker", "status"], with: try reply("derived-11.1-mountbroker-status.txt"))
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await type.probe(context(node, hosts, .probe))
        #expect(observation.done, "\(observation.summary)")
        #expect(observation.outputs["nodes"] == .list([.string("localhost"), .string("gfs-b2")]))
    }

    @Test func mountbrokerSetsUpAddsAndUndoesTheAdd() async throws {
        let node = try step(Self.mountbroker)
        let hosts = ScriptedHosts()
        hosts.answer(
            ["gluster-mountbroker", "status"], with: try reply("derived-11.1-mountbroker-status-node-missed.txt"))
        hosts.answer(
            ["gluster-mountbroker", "setup", "/var/mountbroker-root", "geogroup"],
            with: try reply("derived-11.1-mountbroker-setup.txt"))
        hosts.answer(
            ["gluster-mountbroker", "add", "gvsecondary", "geoaccount"],
            with: try reply("derived-11.1-mountbroker-add.txt"))
        hosts.answer(
            ["gluster-mountbroker", "remove", "--volume", "gvsecondary", "--user", "geoaccount"],
            with: try reply("derived-11.1-mountbroker-remove.txt"))
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await type.probe(context(node, hosts, .probe))
        #expect(!observation.done)
        #expect(observation.summary.contains("gfs-b2: geoaccount may not mount gvsecondary"), "\(observation.summary)")
        #expect(observation.summary.contains("gfs-b3: node DOWN"), "\(observation.summary)")
        let applied = try await type.apply(context(node, hosts, .apply), observation: observation)
        #expect(applied.succeeded, "\(applied.summary)")
        #expect(applied.summary.contains("restart glusterd"))
        #expect(
            hosts.commands().suffix(2) == [
                "gluster-mountbroker setup /var/mountbroker-root geogroup",
                "gluster-mountbroker add gvsecondary geoaccount",
            ])
        let undone = try await type.undo(context(node, hosts, .undo), undoState: observation.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(hosts.commands().last == "gluster-mountbroker remove --volume gvsecondary --user geoaccount")
    }

    @Test func aNodeThatIsNotOKFailsTheAdd() async throws {
        let node = try step(Self.mountbroker)
        let hosts = ScriptedHosts()
        hosts.answer(
            ["gluster-mountbroker", "status"], with: try reply("derived-11.1-mountbroker-status-node-missed.txt"))
        hosts.answer(
            ["gluster-mountbroker", "setup", "/var/mountbroker-root", "geogroup"],
            with: try reply("derived-11.1-mountbroker-setup.txt"))
        hosts.answer(
            ["gluster-mountbroker", "add", "gvsecondary", "geoaccount"],
            with: try reply("derived-11.1-mountbroker-add-no-group.txt"))
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await type.probe(context(node, hosts, .probe))
        let applied = try await type.apply(context(node, hosts, .apply), observation: observation)
        #expect(!applied.succeeded)
        #expect(applied.summary.contains("gfs-b2: NOT OK: Group is not available"), "\(applied.summary)")
    }

    @Test func pemKeysDeclaresReadOnlyAndItsUndoPutsItBack() async throws {
        let node = try step(
            "action: gluster.georep.pem_keys\nwith: {user: geoaccount, primary: gvprimary, secondary: mastervol, script: /usr/lib/x86_64-linux-gnu/glusterfs/set_geo_rep_pem_keys.sh}"
        )
        let pem = ["sh", "-c", #"cat "$(getent passwd "$1" | cut -d: -f6)/$2""#, "sh", "geoaccount"]
        let info = [Lab.binary, "--mode=script", "--xml", "volume", "info", "mastervol"]
        let script = [
            "/usr/lib/x86_64-linux-gnu/glusterfs/set_geo_rep_pem_keys.sh", "geoaccount", "gvprimary", "mastervol",
        ]
        #expect(node.commands.filter { $0.purpose == .apply }.map(\.command.argv) == [script])
        let hosts = ScriptedHosts()
        hosts.answer(
            pem + ["gvprimary_mastervol_common_secret.pem.pub"],
            with: try reply("derived-10.3-authorized-keys-geoaccount.txt"))
        hosts.answer(pem + [".ssh/authorized_keys"], with: try reply("derived-10.3-authorized-keys-no-gsyncd.txt"))
        hosts.answer(
            info, with: try reply("live-10.3-volume-info-all.xml"), try reply("derived-10.3-volume-info-read-only.xml"))
        hosts.answer(
            [Lab.binary, "--mode=script", "--xml", "volume", "reset", "mastervol", "features.read-only", "force"],
            with: Lab.okXML.asReply)
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await type.probe(context(node, hosts, .probe))
        #expect(!observation.done)
        #expect(observation.outputs["keys"] == .int(4) && observation.outputs["missing"] == .int(3))
        #expect(observation.outputs["read_only"] == .string("off"))
        let applied = try await type.apply(context(node, hosts, .apply), observation: observation)
        #expect(applied.succeeded && applied.outputs["read_only"] == .string("on"))
        #expect(applied.summary.contains("features.read-only is now on"))
        let undone = try await type.undo(context(node, hosts, .undo), undoState: observation.undoState)
        #expect(undone.succeeded, "\(undone.summary)")
        #expect(hosts.commands().last?.hasSuffix("volume reset mastervol features.read-only force") == true)
    }

    @Test func pemKeysRefusesRootAndNamesAMissingPemFile() async throws {
        #expect(
            PemKeysAction().check(ResolvedArguments(["user": .string("root")])).contains {
                $0.contains("not for root") || $0.contains("non-root")
            })
        let node = try step(
            "action: gluster.georep.pem_keys\nwith: {user: geoaccount, primary: gvprimary, secondary: mastervol}")
        let hosts = ScriptedHosts()
        let pem = ["sh", "-c", #"cat "$(getent passwd "$1" | cut -d: -f6)/$2""#, "sh", "geoaccount"]
        hosts.answer(
            pem + ["gvprimary_mastervol_common_secret.pem.pub"],
            with: .exit(
                1,
                stderr: "cat: /home/geoaccount/gvprimary_mastervol_common_secret.pem.pub: No such file or directory\n"))
        hosts.answer(
            [Lab.binary, "--mode=script", "--xml", "volume", "info", "mastervol"],
            with: try reply("live-10.3-volume-info-all.xml"))
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await type.probe(context(node, hosts, .probe))
        #expect(observation.summary.contains("create push-pem"), "\(observation.summary)")
        let applied = try await type.apply(context(node, hosts, .apply), observation: observation)
        #expect(!applied.succeeded)
        #expect(!hosts.commands().contains { $0.contains("set_geo_rep_pem_keys.sh") }, "nothing to install")
    }

    @Test func sshkeyGenerateFailsOnANodeThatIsDown() async throws {
        let node = try step("action: gluster.georep.sshkey", on: "gfs-a1")
        #expect(node.commands.map(\.command.argv)[1] == ["gluster-georep-sshkey", "generate"])
        let hosts = ScriptedHosts()
        hosts.answer(["test", "-s", KeysCreateAction.commonSecret], with: .exit(1))
        hosts.answer(
            ["gluster-georep-sshkey", "generate"], with: try reply("derived-11.1-georep-sshkey-generate-node-down.txt"))
        let type = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await type.probe(context(node, hosts, .probe))
        #expect(!observation.done)
        let applied = try await type.apply(context(node, hosts, .apply), observation: observation)
        #expect(!applied.succeeded)
        #expect(applied.summary.contains("gfs-a2: node DOWN"), "\(applied.summary)")
    }

    @Test(arguments: [
        ("gluster.georep.status", "status detail"), ("gluster.georep.stop", "stop"), ("gluster.georep.start", "start"),
        ("gluster.georep.create", "create push-pem"), ("gluster.georep.checkpoint", "config checkpoint now"),
    ])
    func aSessionUserIsInEverySessionCommand(type: String, words: String) throws {
        let extra = type == "gluster.georep.create" ? ", push_pem: true" : ""
        let node = try step(
            "\(type.hasSuffix("status") ? "probe" : "action"): \(type)\nwith: {primary: gvprimary, secondary: 'geoaccount@gfs-b1::gvsecondary'\(extra)}",
            on: "gfs-a1")
        let texts = node.commands.map { $0.command.argv.joined(separator: " ") }
        #expect(
            texts.contains { $0.contains("geo-replication gvprimary geoaccount@gfs-b1::gvsecondary \(words)") },
            "\(texts)")
    }

    @Test func aSessionUserInConfig() throws {
        let node = try step(
            "action: gluster.georep.config\nwith: {primary: gvprimary, secondary: 'geoaccount@gfs-b1::gvsecondary', key: use_meta_volume, value: 'true'}",
            on: "gfs-a1")
        #expect(
            node.commands.contains {
                $0.command.argv.joined(separator: " ").contains(
                    "geo-replication gvprimary geoaccount@gfs-b1::gvsecondary config use_meta_volume true")
            })
    }
}

extension CommandResult {
    var asReply: ScriptedHosts.Reply { .exit(exitCode ?? 0, stdout: stdout, stderr: stderr) }
}
