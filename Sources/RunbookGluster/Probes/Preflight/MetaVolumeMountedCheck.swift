import Foundation
import RunbookCore

/// `meta-volume-mounted`: with `use_meta_volume` on, the meta volume is mounted on every node of
/// the site about to become primary (the mount table as `gluster.meta.mounted` reads it).
public struct MetaVolumeMountedCheck: PreflightCheck {
    public init() {}
    public let name = "meta-volume-mounted"
    public let reason =
        "a session with use_meta_volume true elects its Active workers by a lock on gluster_shared_storage: on a node without the mount the worker logs \"Meta-volume is not mounted. Worker Exiting...\" and goes Faulty"
    public let issue = "https://github.com/gluster/glusterfs/issues/2895"
    public let fix =
        "mount it on the named nodes (mount -t glusterfs NODE:/gluster_shared_storage /run/gluster/shared_storage, and its fstab line) or `gluster volume set all cluster.enable-shared-storage enable`"

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        guard input.arguments.bool("use_meta_volume") == true else { return [] }
        return input.nodes.map { PlannedCommand(.probe, on: $0, MetaVolumeProbe.mounts) }
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        answers.compactMap { answer in
            if let failure = answer.failure("read the mount table") { return failure }
            let here = MetaVolumeProbe.mounts(at: MetaVolumeProbe.defaultPath, in: answer.result?.stdout ?? "").last
            if let here, MetaVolumeProbe.isMetaVolume(here) { return nil }
            return PreflightFinding(
                answer.host,
                "\(MetaVolumeProbe.volume) is not mounted at \(MetaVolumeProbe.defaultPath)"
                    + (here.map { " (\($0.source) is)" } ?? ""))
        }
    }
}
