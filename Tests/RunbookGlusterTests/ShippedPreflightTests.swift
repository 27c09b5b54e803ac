import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import RunbookTestSupport
import Testing

/// The shipped failover runs the preflight catalogue as preconditions: the live planner (what
/// `runbook plan` runs, exit 3 when one fails) over the example inventory, the hosts answered by
/// ScriptedHosts, one fault at a time.
@Suite struct ShippedPreflightTests {
    func livePlan(_ script: (ScriptedHosts) throws -> Void) async throws -> (LivePlanner.Result, ScriptedHosts) {
        let (plan, diagnostics) = ShippedRunbookSessionsTests.compile(
            "Runbooks/georep-failover.yaml", inventoryText: try ShippedRunbookSessionsTests.exampleInventory(),
            mode: "planned")
        let compiled = try #require(plan, "\(diagnostics.all)")
        let hosts = ScriptedHosts()
        try script(hosts)
        let result = await LivePlanner(hosts: hosts, compiler: Compiler(registry: .withGluster)).run(compiled)
        return (result, hosts)
    }

    func precondition(_ result: LivePlanner.Result, _ id: String) throws -> LivePlanner.PreconditionResult {
        try #require(result.preconditions.first { $0.nodeID.hasPrefix(id) }, "\(result.preconditions.map(\.nodeID))")
    }

    @Test func aKnownBadRsyncOnOneSecondaryNodeFailsItsPreconditionNamingTheNode() async throws {
        let good = try Fixture("local-10.3-packages-os-release.txt").text
        let bad = try Fixture("derived-10.3-packages-rsync-known-bad.txt").text
        let (result, hosts) = try await livePlan {
            $0.answer(KnownBadArgv.read, with: .ok(good))
            $0.answer(KnownBadArgv.read, on: "gfs-b2", with: .ok(bad))
        }
        let found = try precondition(result, "preflight-known-bad-versions")
        #expect(!found.passed)
        #expect(found.summary.contains("gfs-b2: rsync 3.5.0+ds1-0+deb12u1"), "\(found.summary)")
        #expect(found.summary.contains("issues/4533") && found.summary.contains("apt-mark hold rsync"))
        #expect(result.preconditionsFailed)
        #expect(
            Set(hosts.ran.filter { $0.argv == KnownBadArgv.read }.map(\.host)) == ["gfs-b1", "gfs-b2", "gfs-b3"],
            "every secondary node is read")
        #expect(!hosts.commands().contains { $0.contains(" volume set ") || $0.contains(" stop") }, "nothing changed")

        let (clean, _) = try await livePlan { $0.answer(KnownBadArgv.read, with: .ok(good)) }
        #expect(try precondition(clean, "preflight-known-bad-versions").passed)
    }

    @Test func anSSHDWithoutTheCipherFailsItsPrecondition() async throws {
        let good = try Fixture("local-sshd-T-default.txt").text
        let bad = try Fixture("local-sshd-T-no-aes128ctr.txt").text
        let (result, _) = try await livePlan {
            $0.answer(["sshd", "-T"], with: .ok(good))
            $0.answer(["sshd", "-T"], on: "gfs-b3", with: .ok(bad))
        }
        let found = try precondition(result, "preflight-ssh-cipher")
        #expect(!found.passed)
        #expect(found.summary.contains("gfs-b3: sshd allows"), "\(found.summary)")
        #expect(found.summary.contains("not aes128-ctr"))
    }
}
