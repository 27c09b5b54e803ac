import Foundation
import RunbookCore

/// `mountbroker-status`: for a non-root session, `gluster-mountbroker status` (run on one node of
/// the secondary site; it asks every peer) says every node is UP, its mount root and group exist
/// (`(OK)`), and it lists the session user with the secondary volume.
public struct MountbrokerStatusCheck: PreflightCheck {
    public init() {}
    public let name = "mountbroker-status"
    public let reason =
        "a non-root session mounts the secondary volume through glusterd's mountbroker: a node whose glusterd.vol lacks the mount root, the group or the user's volume (down during `setup`/`add`, or not restarted since) refuses the mount and the session stays Created or goes Faulty"
    public let issue = "https://github.com/gluster/glusterfs/issues/3875"
    public let fix =
        "on one node of the site: `gluster-mountbroker setup /var/mountbroker-root GROUP` and `gluster-mountbroker add VOLUME USER` again with every node up, then restart glusterd on each node"
    public let required = ["secondary"]

    static let argv = ["gluster-mountbroker", "status"]

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        guard input.isNonRoot else { return [] }
        return [PlannedCommand(.probe, on: input.host, CommandSpec(argv: Self.argv))]
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        guard let answer = answers.first else { return [] }
        if let failure = answer.failure("run gluster-mountbroker status") { return [failure] }
        let rows = MountbrokerStatus.parse(answer.result?.stdout ?? "")
        guard !rows.isEmpty else { return [PreflightFinding(answer.host, "gluster-mountbroker status listed no node")] }
        let volume = input.secondaryVolume ?? ""
        return rows.compactMap { row in
            let problems = row.problems(user: input.user, volume: volume)
            return problems.isEmpty ? nil : PreflightFinding(row.node, problems.joined(separator: ", "))
        }
    }
}

/// A row of `gluster-mountbroker status`'s table (peer_mountbroker.py `CliStatus`):
/// `| NODE | NODE STATUS | MOUNT ROOT | GROUP | USERS |`, e.g.
/// `| localhost | UP | /var/mountbroker-root(OK) | geogroup(OK) | geoaccount(gvsecondary) |`.
public struct MountbrokerStatus: Sendable, Hashable {
    public var node: String
    public var up: Bool
    /// The mount root and whether it exists (`None`: not set up).
    public var mountRoot: String
    public var mountRootOK: Bool
    public var group: String
    public var groupOK: Bool
    /// Each user and the volumes it may mount.
    public var users: [String: [String]]

    /// The table's rows (the header and borders skipped).
    public static func parse(_ text: String) -> [MountbrokerStatus] {
        PeerTable.rows(text).compactMap { cells -> MountbrokerStatus? in
            guard cells.count == 5 else { return nil }
            let (root, rootOK) = Self.marked(cells[2])
            let (group, groupOK) = Self.marked(cells[3])
            return MountbrokerStatus(
                node: cells[0], up: cells[1] == "UP", mountRoot: root, mountRootOK: rootOK, group: group,
                groupOK: groupOK, users: Self.users(cells[4]))
        }
    }

    /// `/var/mountbroker-root(OK)` → (`/var/mountbroker-root`, true); `None` → (`None`, false).
    static func marked(_ cell: String) -> (String, Bool) {
        guard cell.hasSuffix(")"), let open = cell.lastIndex(of: "(") else { return (cell, false) }
        let mark = cell[cell.index(after: open)..<cell.index(before: cell.endIndex)]
        return (String(cell[..<open]), mark == "OK")
    }

    /// `geoaccount(gv1, gv2) other(gv3)` → [geoaccount: [gv1, gv2], other: [gv3]]; `None` → [:].
    static func users(_ cell: String) -> [String: [String]] {
        var users: [String: [String]] = [:]
        var rest = Substring(cell)
        while let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") {
            let user = rest[..<open].trimmingCharacters(in: .whitespaces)
            let volumes = rest[rest.index(after: open)..<close].split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            users[user, default: []] += volumes
            rest = rest[rest.index(after: close)...]
        }
        return users
    }

    /// What is wrong on this node for `user` and `volume` (empty: OK).
    public func problems(user: String, volume: String) -> [String] {
        var problems: [String] = []
        if !up { problems.append("node DOWN") }
        if mountRoot == "None" {
            problems.append("no mount root (not set up)")
        } else if !mountRootOK {
            problems.append("mount root \(mountRoot) missing")
        }
        if group == "None" {
            problems.append("no group")
        } else if !groupOK {
            problems.append("group \(group) missing")
        }
        if up, !(users[user] ?? []).contains(volume) {
            problems.append("\(user) may not mount \(volume.isEmpty ? "the volume" : volume)")
        }
        return problems
    }
}
