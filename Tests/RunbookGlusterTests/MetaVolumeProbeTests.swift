import Foundation
import RunbookCore
import RunbookExecution
import RunbookGluster
import Testing

/// `gluster.meta.mounted` on the lab's captured mount tables (Fixtures/lab-10.3-proc-mounts-meta-*.txt):
/// the meta volume the shared-storage hook mounted on gfs-b1, and gfs-b2 without it.
@Suite struct MetaVolumeProbeTests {
    func observe(_ fixture: String, path: String? = nil) async throws -> Observation {
        let node = try Lab.node(
            "probe: gluster.meta.mounted" + (path.map { "\nwith: {path: \"\($0)\"}" } ?? ""), on: "gfs-b1")
        let host = FakeHost()
        try host.on("/proc/mounts", fixture: fixture)
        let probe = try #require(ActionRegistry.withGluster[node.typeName])
        #expect(probe.descriptor.defaultExpectation == "outputs.mounted")
        #expect(node.commands.map(\.command.argv) == [["cat", "/proc/mounts"]], "the plan shows what it reads")
        return try await probe.probe(Lab.context(node, host))
    }

    @Test func theHooksMountIsTheMetaVolume() async throws {
        let observation = try await observe("lab-10.3-proc-mounts-meta-mounted.txt")
        #expect(observation.outputs["mounted"] == .bool(true))
        #expect(observation.outputs["source"] == .string("gfs-b1:/gluster_shared_storage"))
        #expect(observation.outputs["path"] == .string("/run/gluster/shared_storage"))
        #expect(observation.summary.contains("is mounted on gfs-b1"), "\(observation.summary)")
    }

    @Test func aNodeWithoutItIsNamedWithTheFix() async throws {
        let observation = try await observe("lab-10.3-proc-mounts-meta-unmounted.txt")
        #expect(observation.outputs["mounted"] == .bool(false))
        #expect(observation.outputs["source"] == .null)
        #expect(observation.summary.contains("NOT mounted on gfs-b1"), "\(observation.summary)")
        #expect(observation.summary.contains("cluster.enable-shared-storage enable"), "\(observation.summary)")
    }

    @Test func theVarRunSpellingAndAnotherVolumeOnThePath() throws {
        let table = try Fixture("lab-10.3-proc-mounts-meta-mounted.txt").text
        #expect(MetaVolumeProbe.mounts(at: "/var/run/gluster/shared_storage", in: table).count == 1)
        let other = "gfs-b1:/gvsecondary /run/gluster/shared_storage fuse.glusterfs rw 0 0\n"
        let mounts = MetaVolumeProbe.mounts(at: "/run/gluster/shared_storage", in: table + other)
        #expect(mounts.count == 2)
        #expect(mounts.last.map(MetaVolumeProbe.isMetaVolume) == false, "the last mount hides the meta volume")
        #expect(MetaVolumeProbe.mounts(at: "/mnt/a b", in: "h:/v /mnt/a\\040b fuse.glusterfs rw 0 0").count == 1)
    }
}
