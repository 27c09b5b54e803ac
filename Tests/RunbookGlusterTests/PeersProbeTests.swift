import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import Testing

/// `gluster.peers` on vdsm's captured `peer status --xml` (Fixtures/vdsm-peer-status-rejected.xml):
/// a peer in `Peer rejected` with `<connected>1</connected>` is not a healthy member.
@Suite struct PeersProbeTests {
    @Test func aRejectedPeerIsNotConnectedAndFailsTheDefaultExpectation() async throws {
        let parsed = try GlusterParse.peers(try Fixture("vdsm-peer-status-rejected.xml").output())
        #expect(parsed.map(\.hostname) == ["192.168.2.21", "FC16-1", "FC16-2"])
        #expect(parsed.map(\.connected) == [true, false, true], "glusterd's own flag, as printed")
        #expect(parsed.map(\.rejected) == [false, false, true])
        #expect(parsed.map(\.healthy) == [true, false, false])

        let node = try Lab.node("probe: gluster.peers")
        let host = FakeHost()
        try host.on("--mode=script --xml peer status", fixture: "vdsm-peer-status-rejected.xml")
        let probe = try #require(ActionRegistry.withGluster[node.typeName])
        let observation = try await probe.probe(Lab.context(node, host))
        #expect(observation.outputs["connected"] == .int(1), "the rejected peer is not counted as connected")
        #expect(observation.outputs["disconnected"] == .int(1))
        #expect(observation.outputs["rejected"] == .int(1))
        #expect(observation.summary.hasPrefix("1/3 peers connected; disconnected: FC16-1; rejected"))
        #expect(observation.summary.contains("FC16-2 (Peer rejected)"), "\(observation.summary)")
        #expect(probe.descriptor.defaultExpectation == "outputs.disconnected == 0 && outputs.rejected == 0")
    }
}
