import Foundation

/// One brick of a volume, as `volume info` lists it.
public struct GlusterBrick: Sendable, Hashable {
    /// The host part of `host:/path`, as the cluster knows it (a peer name or address).
    public var host: String
    /// The brick directory.
    public var path: String
    /// The UUID of the peer that holds it, when printed.
    public var hostUUID: String?
    /// Whether it is an arbiter brick.
    public var isArbiter: Bool

    /// `host:path`.
    public var name: String { "\(host):\(path)" }

    /// Creates a brick.
    public init(host: String, path: String, hostUUID: String? = nil, isArbiter: Bool = false) {
        self.host = host
        self.path = path
        self.hostUUID = hostUUID
        self.isArbiter = isArbiter
    }

    /// Splits `host:/path` at the last `:` before the path (IPv6 hosts keep their colons).
    public static func split(_ name: String) -> (host: String, path: String)? {
        guard let slash = name.range(of: ":/") else { return nil }
        let host = String(name[..<slash.lowerBound])
        let path = String(name[name.index(after: slash.lowerBound)...])
        return host.isEmpty ? nil : (host, path)
    }
}

/// One volume option as `volume info` (explicitly set options) or `volume get` (effective) prints it.
public struct GlusterOption: Sendable, Hashable {
    /// The full option name, e.g. `features.read-only`.
    public var name: String
    /// Its value, without a `(DEFAULT)` marker.
    public var value: String
    /// For `volume get`: whether gluster marked the value as the default. nil when not said.
    public var isDefault: Bool?

    /// Creates an option.
    public init(name: String, value: String, isDefault: Bool? = nil) {
        self.name = name
        self.value = value
        self.isDefault = isDefault
    }
}

/// A volume as `volume info --xml` describes it.
public struct GlusterVolume: Sendable, Hashable {
    /// Its name.
    public var name: String
    /// Its UUID.
    public var id: String
    /// `Started`, `Stopped` or `Created`.
    public var status: String
    /// `Distribute`, `Replicate`, `Distributed-Replicate`, `Disperse`, ...
    public var type: String
    /// Its bricks, in order.
    public var bricks: [GlusterBrick]
    /// The options set on it explicitly (defaults are not listed), in order.
    public var options: [GlusterOption]
    /// `<replicaCount>` (bricks per replica set, arbiter included; 1 for none), when listed.
    public var replicaCount: Int?
    /// `<disperseCount>` (bricks per disperse set; 0 for none), when listed.
    public var disperseCount: Int?
    /// `<distCount>` as printed: 10.x sometimes prints a wrong value (glusterfs issue 3662: 3 for
    /// a 1 x 3 volume) and 11.x prints the number of subvolumes. Read ``subvolumeCount`` instead.
    public var distCount: Int?

    /// Whether it is started.
    public var isStarted: Bool { status == "Started" }

    /// Creates a volume record.
    public init(
        name: String, id: String, status: String, type: String, bricks: [GlusterBrick], options: [GlusterOption]
    ) {
        self.name = name
        self.id = id
        self.status = status
        self.type = type
        self.bricks = bricks
        self.options = options
    }

    /// The bricks of one subvolume (DHT subvolume: a replica or disperse set, or one brick).
    public var bricksPerSubvolume: Int {
        if let disperse = disperseCount, disperse > 1 { return disperse }
        if let replica = replicaCount, replica > 1 { return replica }
        return 1
    }

    /// The number of subvolumes, computed from the brick count and the replica or disperse count
    /// (never from `distCount`): the number of Active geo-rep workers a session of it has.
    public var subvolumeCount: Int { max(bricks.count / bricksPerSubvolume, bricks.isEmpty ? 0 : 1) }

    /// The option named `name`, or, for a short name like `changelog`, the one option whose last
    /// component it is (`changelog.changelog`). nil when it is not set.
    public func option(_ name: String) -> GlusterOption? { GlusterOption.find(name, in: options) }
}

extension GlusterOption {
    /// Looks an option up by full name, or by short name when exactly one option ends with `.name`.
    public static func find(_ name: String, in options: [GlusterOption]) -> GlusterOption? {
        if let exact = options.first(where: { $0.name == name }) { return exact }
        guard !name.contains(".") else { return nil }
        let matches = options.filter { $0.name.hasSuffix("." + name) }
        return matches.count == 1 ? matches.first : nil
    }
}

/// One process row of `volume status --xml`: a brick (path starting with `/`) or a daemon.
public struct GlusterBrickStatus: Sendable, Hashable {
    /// `hostname` as printed (for daemons, e.g. `Self-heal Daemon`).
    public var host: String
    /// The brick path (for daemons, `localhost` or a peer name).
    public var path: String
    /// The peer UUID.
    public var peerID: String?
    /// `<status>1</status>`.
    public var online: Bool
    /// The process id; nil when offline (`-1`) or not printed.
    public var pid: Int?
    /// The TCP port; nil when `N/A`.
    public var port: Int?

    /// `host:path`.
    public var name: String { "\(host):\(path)" }
    /// Creates a row.
    public init(host: String, path: String, peerID: String? = nil, online: Bool, pid: Int? = nil, port: Int? = nil) {
        self.host = host
        self.path = path
        self.peerID = peerID
        self.online = online
        self.pid = pid
        self.port = port
    }

    /// Whether the row is a brick (not a self-heal, NFS or quota daemon).
    public var isBrick: Bool { path.hasPrefix("/") }
}

/// A volume's rows in `volume status --xml`.
public struct GlusterVolumeStatus: Sendable, Hashable {
    /// The volume name.
    public var name: String
    /// Every row, bricks and daemons.
    public var rows: [GlusterBrickStatus]
    /// Only the brick rows.
    public var bricks: [GlusterBrickStatus] { rows.filter(\.isBrick) }
}

/// A peer from `peer status --xml` or `pool list --xml`.
public struct GlusterPeer: Sendable, Hashable {
    /// Its UUID.
    public var uuid: String
    /// The name it was probed with (`localhost` for this node in `pool list`).
    public var hostname: String
    /// Every name it is known by.
    public var hostnames: [String]
    /// Whether glusterd is connected to it.
    public var connected: Bool
    /// `Peer in Cluster`, ... (not printed by `pool list`).
    public var state: String?

    /// `Peer Rejected` (glusterd prints `Peer Rejected`; older releases `Peer rejected`): glusterd
    /// may be connected to it, but its configuration was refused and it is not a member.
    public var rejected: Bool { state?.lowercased().contains("rejected") == true }

    /// Connected and not rejected: a member the cluster can work with.
    public var healthy: Bool { connected && !rejected }
}

/// Parsers for `gluster --mode=script --xml volume ...` and `peer ...` answers.
public enum GlusterParse {
    /// `volume info [VOL] --xml`: every volume listed.
    public static func volumeInfo(_ output: GlusterOutput) throws -> [GlusterVolume] {
        let envelope = try GlusterEnvelope.checked(output)
        guard let volumes = envelope.root.path("volInfo/volumes") else {
            throw GlusterError(.unparseable, output, "no <volInfo><volumes> in the answer")
        }
        return try volumes.children("volume").map { node in
            guard let name = node.text("name"), !name.isEmpty else {
                throw GlusterError(.unparseable, output, "a <volume> has no <name>")
            }
            var bricks: [GlusterBrick] = []
            for brick in node.path("bricks")?.children("brick") ?? [] {
                let full = brick.text("name") ?? brick.text
                guard let (host, path) = GlusterBrick.split(full) else {
                    throw GlusterError(.unparseable, output, "brick '\(full)' of volume \(name) is not host:/path")
                }
                let uuid = brick.text("hostUuid") ?? brick.attributes["uuid"]
                bricks.append(
                    GlusterBrick(
                        host: host, path: path, hostUUID: uuid.flatMap { $0.isEmpty ? nil : $0 },
                        isArbiter: brick.text("isArbiter") == "1"))
            }
            let options = (node.path("options")?.children("option") ?? []).compactMap { option -> GlusterOption? in
                guard let optionName = option.text("name"), !optionName.isEmpty else { return nil }
                return GlusterOption(name: optionName, value: option.text("value") ?? "")
            }
            let status = node.text("statusStr") ?? statusName(node.text("status"))
            var volume = GlusterVolume(
                name: name, id: node.text("id") ?? "", status: status, type: node.text("typeStr") ?? "",
                bricks: bricks, options: options)
            volume.replicaCount = node.text("replicaCount").flatMap { Int($0) }
            volume.disperseCount = node.text("disperseCount").flatMap { Int($0) }
            volume.distCount = node.text("distCount").flatMap { Int($0) }
            return volume
        }
    }

    /// `volume info VOL --xml`, for exactly that volume; a missing volume is an error naming it.
    public static func volume(_ name: String, in output: GlusterOutput) throws -> GlusterVolume {
        guard let volume = try volumeInfo(output).first(where: { $0.name == name }) else {
            throw GlusterError(.unexpected, output, "volume \(name) is not listed")
        }
        return volume
    }

    static func statusName(_ code: String?) -> String {
        switch code {
        case "0": return "Created"
        case "1": return "Started"
        case "2": return "Stopped"
        default: return code ?? "unknown"
        }
    }

    /// `volume status [VOL] [detail] --xml`: per volume, its process rows.
    public static func volumeStatus(_ output: GlusterOutput) throws -> [GlusterVolumeStatus] {
        let envelope = try GlusterEnvelope.checked(output)
        guard let volumes = envelope.root.path("volStatus/volumes") else {
            throw GlusterError(.unparseable, output, "no <volStatus><volumes> in the answer")
        }
        return try volumes.children("volume").map { node in
            guard let name = node.text("volName"), !name.isEmpty else {
                throw GlusterError(.unparseable, output, "a <volume> has no <volName>")
            }
            let rows = try node.children("node").map { row -> GlusterBrickStatus in
                guard let host = row.text("hostname"), let path = row.text("path"), let status = row.text("status")
                else {
                    throw GlusterError(
                        .unparseable, output, "a <node> of volume \(name) lacks hostname, path or status")
                }
                let pid = row.text("pid").flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
                let port = (row.path("ports")?.text("tcp") ?? row.text("port")).flatMap { Int($0) }.flatMap {
                    $0 > 0 ? $0 : nil
                }
                return GlusterBrickStatus(
                    host: host, path: path, peerID: row.text("peerid"), online: status == "1", pid: pid, port: port)
            }
            return GlusterVolumeStatus(name: name, rows: rows)
        }
    }

    /// `volume get VOL OPTION|all --xml`: the effective values.
    ///
    /// Two shapes exist: `<volGetopts><count/><Opt><Option/><Value/></Opt>...` (3.8 and later, 10.3)
    /// and a single `<volGetopts><count>1</count><Option/><Value/>` (3.7). Values that gluster
    /// marks ` (DEFAULT)` come back without the marker, with `isDefault` set.
    public static func volumeGet(_ output: GlusterOutput) throws -> [GlusterOption] {
        let envelope = try GlusterEnvelope.checked(output)
        guard let getopts = envelope.root.child("volGetopts") else {
            throw GlusterError(.unparseable, output, "no <volGetopts> in the answer")
        }
        var pairs: [(String, String)] = getopts.children("Opt").compactMap { opt in
            guard let name = opt.text("Option") else { return nil }
            return (name, opt.text("Value") ?? "")
        }
        if pairs.isEmpty, let name = getopts.text("Option") { pairs = [(name, getopts.text("Value") ?? "")] }
        return pairs.map { name, raw in
            let marker = " (DEFAULT)"
            if raw.hasSuffix(marker) {
                return GlusterOption(name: name, value: String(raw.dropLast(marker.count)), isDefault: true)
            }
            if raw == "(DEFAULT)" { return GlusterOption(name: name, value: "", isDefault: true) }
            return GlusterOption(name: name, value: raw, isDefault: raw.contains("(DEFAULT)") ? true : nil)
        }
    }

    /// `peer status --xml` or `pool list --xml`: the peers (a single node gives none / only itself).
    public static func peers(_ output: GlusterOutput) throws -> [GlusterPeer] {
        let envelope = try GlusterEnvelope.checked(output)
        guard let status = envelope.root.child("peerStatus") else {
            throw GlusterError(.unparseable, output, "no <peerStatus> in the answer")
        }
        return try status.children("peer").map { peer in
            guard let uuid = peer.text("uuid"), let hostname = peer.text("hostname"),
                let connected = peer.text("connected")
            else {
                throw GlusterError(.unparseable, output, "a <peer> lacks uuid, hostname or connected")
            }
            let names = peer.path("hostnames")?.children("hostname").map(\.text) ?? []
            return GlusterPeer(
                uuid: uuid, hostname: hostname, hostnames: names.isEmpty ? [hostname] : names,
                connected: connected == "1", state: peer.text("stateStr"))
        }
    }
}

/// What `volume status VOL detail --xml` adds to a brick row that differs between versions.
public struct GlusterBrickDetail: Sendable, Hashable {
    /// `HOST:PATH`.
    public var brick: String
    /// The brick's filesystem (`<fsName>`), when printed.
    public var fsName: String?
    /// `<inodeSize>` as printed, a string: 11.x prints the inode size (`512`), 10.x the
    /// filesystem's name there (glusterfs issue 2936), and it is absent when glusterd could not
    /// read it (ext4 on 10.3). ``inodeBytes`` is the number when it is one.
    public var inodeSize: String?
    /// `inodeSize` as a number of bytes (nil on 10.x, where it is the filesystem's name).
    public var inodeBytes: Int? { inodeSize.flatMap { Int($0) } }
}

extension GlusterParse {
    /// `volume status [VOL] detail --xml`: the detail fields of each brick row, in order.
    public static func brickDetails(_ output: GlusterOutput) throws -> [GlusterBrickDetail] {
        let envelope = try GlusterEnvelope.checked(output)
        guard let volumes = envelope.root.path("volStatus/volumes") else {
            throw GlusterError(.unparseable, output, "no <volStatus><volumes> in the answer")
        }
        return volumes.children("volume").flatMap { volume in
            volume.children("node").compactMap { row -> GlusterBrickDetail? in
                guard let host = row.text("hostname"), let path = row.text("path"), path.hasPrefix("/") else {
                    return nil
                }
                return GlusterBrickDetail(
                    brick: "\(host):\(path)", fsName: row.text("fsName"), inodeSize: row.text("inodeSize"))
            }
        }
    }
}
