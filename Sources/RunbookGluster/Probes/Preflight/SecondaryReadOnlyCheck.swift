import Foundation
import RunbookCore

/// `secondary-read-only`: the secondary volume has `features.read-only on` while its session runs.
///
/// With `primary` and `secondary`, the step's host (a primary node) reads the session's status
/// and the first of `nodes` (a secondary node) reads the volume: a session with no worker
/// started (stopped, or already failed over) needs nothing. Without them, the step's host reads
/// the volume and it must be read-only.
public struct SecondaryReadOnlyCheck: PreflightCheck {
    public init() {}
    public let name = "secondary-read-only"
    public let reason =
        "a write, delete or attribute change on a secondary whose session runs makes gfid mismatches, stale handles and files never resynced"
    public let issue = "https://github.com/gluster/glusterfs/issues/3621"
    public let fix =
        "find what wrote to it, then `gluster volume set VOLUME features.read-only on` (geo-rep workers write through their own mount, not affected)"
    public let required = ["volume"]

    func withSession(_ input: PreflightInput) -> Bool {
        !input.string("primary").isEmpty && !input.string("secondary").isEmpty
    }

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        let info = cli.volumeInfo(input.string("volume"))
        guard withSession(input) else { return [PlannedCommand(.probe, on: input.host, info)] }
        return [
            PlannedCommand(
                .probe, on: input.host, cli.geoRepStatus(input.string("primary"), input.string("secondary"))),
            PlannedCommand(.probe, on: input.nodes.first ?? input.host, info),
        ]
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        var answers = answers[...]
        if withSession(input), let statusAnswer = answers.popFirst() {
            guard let result = statusAnswer.result else {
                return statusAnswer.failure("read the session status").map { [$0] } ?? []
            }
            let output = GlusterOutput(command: statusAnswer.command.command, host: statusAnswer.host, result: result)
            do {
                let status = try GlusterParse.geoRepStatus(output)
                guard status.workers.contains(where: { $0.state.isStarted }) else { return [] }
            } catch {
                return [PreflightFinding(statusAnswer.host, "\(error)")]
            }
        }
        guard let answer = answers.first, let result = answer.result else {
            return answers.first?.failure("read volume info").map { [$0] } ?? []
        }
        let name = input.string("volume")
        do {
            let volume = try GlusterParse.volume(
                name, in: GlusterOutput(command: answer.command.command, host: answer.host, result: result))
            let value = volume.option("features.read-only")?.value ?? "off (default)"
            return OptionValue.truthy.contains(value.lowercased())
                ? [] : [PreflightFinding(answer.host, "\(name) has features.read-only \(value) while its session runs")]
        } catch {
            return [PreflightFinding(answer.host, "\(error)")]
        }
    }
}
