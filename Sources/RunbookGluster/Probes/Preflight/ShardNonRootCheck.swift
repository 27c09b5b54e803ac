import Foundation
import RunbookCore

/// `shard-non-root`: a non-root session's volume does not have `features.shard on` (refused).
public struct ShardNonRootCheck: PreflightCheck {
    public init() {}
    public let name = "shard-non-root"
    public let reason =
        "shards live in trusted.* xattrs that an unprivileged user cannot read or write: a non-root session replicates a sharded volume as empty files"
    public let issue = "https://github.com/gluster/glusterfs/issues/2805"
    public let fix = "run the session of a sharded volume as root (create it as root@HOST::VOLUME)"
    public let required = ["volume"]

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        guard input.isNonRoot else { return [] }
        return [PlannedCommand(.probe, on: input.host, cli.volumeInfo(input.string("volume")))]
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        guard let answer = answers.first, let result = answer.result else {
            return answers.first?.failure("read volume info").map { [$0] } ?? []
        }
        let name = input.string("volume")
        do {
            let volume = try GlusterParse.volume(
                name, in: GlusterOutput(command: answer.command.command, host: answer.host, result: result))
            guard let value = volume.option("features.shard")?.value, OptionValue.truthy.contains(value.lowercased())
            else { return [] }
            return [
                PreflightFinding(
                    answer.host, "\(name) has features.shard \(value) and the session user is \(input.user)")
            ]
        } catch {
            return [PreflightFinding(answer.host, "\(error)")]
        }
    }
}
