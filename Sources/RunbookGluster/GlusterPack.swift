import RunbookCore
import RunbookExecution

/// The GlusterFS pack: the `gluster.*` action and probe types and their runtimes.
public enum GlusterPack {
    /// Every type of the pack, each both the declaration (`ActionType`) and the effects (`ExecutableAction`).
    public static var types: [any ActionType & ExecutableAction] {
        [
            KeysCreateAction(),
            GeoRepSessionAction(.create), GeoRepSessionAction(.start), GeoRepSessionAction(.stop),
            GeoRepSessionAction(.pause), GeoRepSessionAction(.resume), GeoRepSessionAction(.delete),
            GeoRepConfigAction(), GeoRepCheckpointAction(),
            VolumeOptionAction(.set), VolumeOptionAction(.reset), VolumeStateAction(.start), VolumeStateAction(.stop),
            VolumeHealthProbe(), GeoRepStatusProbe(), PeersProbe(), VolumeOptionsProbe(), VolumeEmptyProbe(),
        ]
    }

    /// Adds the pack's types to a registry.
    public static func register(_ registry: inout ActionRegistry) {
        for type in types { registry.register(type) }
    }

    /// The pack's runtimes, by type name.
    public static func runtimes() -> [String: any ExecutableAction] {
        Dictionary(types.map { ($0.descriptor.name, $0 as any ExecutableAction) }, uniquingKeysWith: { _, last in last })
    }
}

extension ActionRegistry {
    /// The built-in types plus the GlusterFS pack.
    public static var withGluster: ActionRegistry {
        var registry = ActionRegistry.builtIn
        GlusterPack.register(&registry)
        return registry
    }
}
