import RunbookCore

/// The GlusterFS pack: the `gluster.*` and `glusterfind.*` types and the inventory keys they read.
public struct GlusterPack: Pack {
    public init() {}

    public var name: String { "gluster" }
    public var types: [any ActionType] { Self.types }
    public var hostKeys: [HostKeySpec] { Self.hostKeys }

    /// Every type of the pack: each one value that declares, renders and carries out its steps.
    public static var types: [any ActionType] {
        [
            KeysCreateAction(), SSHKeyGenerateAction(), PemKeysAction(), MountbrokerAction(),
            GeoRepSessionAction(.create), GeoRepSessionAction(.start), GeoRepSessionAction(.stop),
            GeoRepSessionAction(.pause), GeoRepSessionAction(.resume), GeoRepSessionAction(.delete),
            GeoRepConfigAction(), GeoRepCheckpointAction(), GeoRepProveAction(),
            VolumeOptionAction(.set), VolumeOptionAction(.reset), EpochAction(), VolumeStateAction(.start),
            VolumeStateAction(.stop),
            VolumeHealthProbe(), GeoRepStatusProbe(), PeersProbe(), VolumeOptionsProbe(), VolumeEmptyProbe(),
            VolumeListProbe(), MetaVolumeProbe(), PreflightProbe(),
            GlusterfindSessionAction(),
            GlusterfindChangesAction(),
            GlusterfindPostAction(),
            SnapshotCreateAction(), SnapshotActivateAction(), SnapshotCloneAction(), SnapshotDeleteAction(),
            SnapshotStatusProbe(), VolumeDeleteAction(),
        ]
    }

    /// The inventory host keys the pack reads.
    public static let hostKeys: [HostKeySpec] = [
        HostKeySpec(GlusterCLI.binaryKey, .string, "path of the gluster CLI on the host (default /usr/sbin/gluster)"),
        HostKeySpec(
            GlusterfindCLI.binaryKey, .string,
            "path of the glusterfind tool on the host (default \(GlusterfindCLI.defaultBinary))"),
    ]

}

extension ActionRegistry {
    /// The built-in types plus the GlusterFS pack (no transports: the execution layer brings them).
    public static var withGluster: ActionRegistry { ActionRegistry(packs: [CorePack(), GlusterPack()]) }
}
