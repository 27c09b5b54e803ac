import RunbookCore

/// `gluster.meta.mounted`: whether the geo-rep meta volume (`gluster_shared_storage`) is mounted
/// on this host at `/run/gluster/shared_storage`.
///
/// Sessions with `use_meta_volume true` elect their Active and Passive workers by a lock on that
/// mount; on a node where it is missing the worker logs "Meta-volume is not mounted. Worker
/// Exiting..." and goes Faulty (glusterfs issue 2895: a DR failback that failed for exactly this).
/// Nothing remounts it after a reboot unless the node's fstab does. The probe reads the host's
/// mount table (`cat /proc/mounts`): a `fuse.glusterfs` mount of `HOST:/gluster_shared_storage`
/// on the path (or on `/var/run/...`, the same directory) is mounted; another volume there is not.
public struct MetaVolumeProbe: ActionType {
    /// Creates the type.
    public init() {}

    /// Where glusterd's shared-storage hook mounts the meta volume.
    public static let defaultPath = "/run/gluster/shared_storage"
    /// The meta volume's name (`cluster.enable-shared-storage` creates it).
    public static let volume = "gluster_shared_storage"

    public let descriptor = ActionDescriptor(
        name: "gluster.meta.mounted", kind: .probe,
        summary:
            "Whether the geo-rep meta volume gluster_shared_storage is mounted on this host (sessions with use_meta_volume true go Faulty on a node without it).",
        parameters: [
            ParameterSpec(
                "path", .string, required: false, "where it must be mounted (default \(MetaVolumeProbe.defaultPath))")
        ],
        outputs: [
            OutputSpec("mounted", "bool", "a fuse.glusterfs mount of gluster_shared_storage is on the path"),
            OutputSpec("source", "string", "what is mounted there (HOST:/VOLUME; null when nothing is)"),
            OutputSpec("path", "string", "the path checked"),
        ],
        changes: false, undo: .none,
        defaultExpectation: "outputs.mounted")

    static let mounts = CommandSpec(argv: ["cat", "/proc/mounts"])

    public func commands(for arguments: ResolvedArguments, on host: RenderHost) -> [PlannedCommand] {
        [PlannedCommand(.probe, on: host.name, Self.mounts)]
    }

    /// One mount of the table: what is mounted (`source`), where, and its type.
    public struct Mount: Equatable, Sendable {
        public let source: String
        public let path: String
        public let type: String
    }

    /// The mounts of a `/proc/mounts` text whose path is `path` (or `/var`+`path`), last one last.
    /// Octal escapes (`\040` for a space) are decoded.
    public static func mounts(at path: String, in table: String) -> [Mount] {
        let wanted = Set([path, "/var" + path, path.hasPrefix("/var/") ? String(path.dropFirst(4)) : path])
        return table.split(separator: "\n").compactMap { line -> Mount? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map { decode(String($0)) }
            guard fields.count >= 3 else { return nil }
            let point = fields[1].count > 1 && fields[1].hasSuffix("/") ? String(fields[1].dropLast()) : fields[1]
            return wanted.contains(point) ? Mount(source: fields[0], path: point, type: fields[2]) : nil
        }
    }

    static func decode(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var out = ""
        var chars = Array(field)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if c == "\\", chars.count >= 3, let code = UInt8(String(chars.prefix(3)), radix: 8) {
                out.append(Character(UnicodeScalar(code)))
                chars = chars.dropFirst(3)
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// Whether a mount is the meta volume: a GlusterFS FUSE mount of `HOST:/gluster_shared_storage`.
    public static func isMetaVolume(_ mount: Mount) -> Bool {
        mount.type == "fuse.glusterfs" && mount.source.hasSuffix(":/" + volume)
    }

    public func probe(_ context: ActionContext) async throws -> Observation {
        let path = context.arguments.string("path") ?? Self.defaultPath
        guard let command = context.planned(.probe).first else { return Observation(done: true, summary: "no command") }
        let result = try await context.run(command)
        guard result.succeeded else {
            throw GlusterError(
                .commandFailed, GlusterOutput(command: command.command, host: context.host, result: result),
                "could not read the mount table of \(context.host)")
        }
        // The last mount on a path hides the earlier ones.
        let here = Self.mounts(at: path, in: result.stdout).last
        let mounted = here.map(Self.isMetaVolume) ?? false
        let summary: String
        if mounted, let here {
            summary = "\(Self.volume) is mounted on \(context.host) at \(path) (\(here.source))"
        } else if let here {
            summary =
                "\(Self.volume) is NOT mounted on \(context.host) at \(path): \(here.source) (\(here.type)) is; sessions with use_meta_volume true go Faulty there"
        } else {
            summary =
                "\(Self.volume) is NOT mounted on \(context.host) at \(path): mount it (mount -t glusterfs \(context.host):/\(Self.volume) \(path)) or `gluster volume set all cluster.enable-shared-storage enable`; sessions with use_meta_volume true go Faulty there"
        }
        return Observation(
            done: true, summary: summary,
            outputs: [
                "mounted": .bool(mounted), "source": here.map { .string($0.source) } ?? .null, "path": .string(path),
            ], result: result)
    }

    public func apply(_ context: ActionContext, observation: Observation) async throws -> EffectResult {
        EffectResult(succeeded: true, summary: "probe", outputs: observation.outputs)
    }
}
