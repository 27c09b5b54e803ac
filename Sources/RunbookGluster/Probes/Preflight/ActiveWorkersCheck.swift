import Foundation
import RunbookCore

/// `active-workers`: the session has as many Active workers as the primary volume has
/// subvolumes, computed from its brick and replica (or disperse) counts, not from `distCount`.
/// A session with no worker started needs nothing.
public struct ActiveWorkersCheck: PreflightCheck {
    public init() {}
    public let name = "active-workers"
    public let reason =
        "each subvolume (replica set) syncs through exactly one Active worker: fewer means a subvolume whose changes are not going to the secondary (a Passive that did not take over, or a row missing for a down node); distCount cannot be trusted on 10.x"
    public let issue = "https://github.com/gluster/glusterfs/issues/121"
    public let fix =
        "bring the named subvolume's nodes and glusterd back, or restart the session (stop, start) and check `gluster volume geo-replication PRIMARY SECONDARY status` again"
    public let required = ["primary", "secondary"]

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        let primary = input.string("primary")
        return [
            PlannedCommand(.probe, on: input.host, cli.geoRepStatus(primary, input.string("secondary"))),
            PlannedCommand(.probe, on: input.host, cli.volumeInfo(primary)),
        ]
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        guard answers.count == 2, let statusResult = answers[0].result, let infoResult = answers[1].result else {
            return answers.compactMap { $0.failure("read the session and its volume") }
        }
        let host = answers[0].host
        do {
            let status = try GlusterParse.geoRepStatus(
                GlusterOutput(command: answers[0].command.command, host: host, result: statusResult))
            let volume = try GlusterParse.volume(
                input.string("primary"),
                in: GlusterOutput(command: answers[1].command.command, host: host, result: infoResult))
            let expected = volume.subvolumeCount
            // A session with no worker started (stopped, or already failed over) has nothing to count.
            guard status.workers.contains(where: { $0.state.isStarted }) else { return [] }
            let workers = GlusterParse.mergeOffline(status.workers, volume: volume)
            let active = workers.filter { $0.state == .active }.count
            guard active != expected else { return [] }
            let others = workers.filter { $0.state != .active && $0.state != .passive }
                .map { "\($0.brickName) \($0.status)" }
            return [
                PreflightFinding(
                    host,
                    "\(active) Active worker(s) for \(expected) subvolume(s) of \(volume.name) (\(volume.bricks.count) bricks / \(volume.bricksPerSubvolume) per subvolume)"
                        + (others.isEmpty ? "" : "; not syncing: \(others.joined(separator: ", "))"))
            ]
        } catch {
            return [PreflightFinding(host, "\(error)")]
        }
    }
}
