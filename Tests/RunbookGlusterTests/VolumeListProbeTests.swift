import Foundation
import RunbookCore
import RunbookGluster
import Testing

/// `gluster.volume.list`: the example of a type added as one file (see the README's layout).
@Suite struct VolumeListProbeTests {
    @Test func rendersVolumeListWithGlobalOptionsFirst() throws {
        let node = try Lab.node("probe: gluster.volume.list")
        #expect(node.commands.map(\.command.argv) == [[Lab.binary, "--mode=script", "--xml", "volume", "list"]])
        #expect(node.commands.map(\.purpose) == [.probe])
    }

    @Test func readsTheNamesFromTheLiveOutput() async throws {
        let node = try Lab.node("probe: gluster.volume.list")
        let host = FakeHost()
        try host.on("--mode=script --xml volume list", fixture: "live-10.3-volume-list.xml")
        let type = try #require(ActionRegistry.withGluster["gluster.volume.list"])
        let observation = try await type.probe(Lab.context(node, host))
        #expect(observation.outputs["volumes"] == .list([.string("mastervol"), .string("slavevol")]))
        #expect(observation.outputs["count"] == .int(2))
        #expect(observation.summary == "2 volume(s): mastervol, slavevol")
    }

    @Test func aFailedAnswerIsAnError() async throws {
        let node = try Lab.node("probe: gluster.volume.list")
        let host = FakeHost()
        host.on(
            "--mode=script --xml volume list",
            Lab.failedXML("Connection failed. Please check if gluster daemon is operational."))
        let type = try #require(ActionRegistry.withGluster["gluster.volume.list"])
        await #expect(throws: GlusterError.self) { try await type.probe(Lab.context(node, host)) }
    }
}
