import Foundation
import RunbookCore

/// `ignore-deletes`: the session's `ignore-deletes` is false (true is a warning: a resurrection risk).
public struct IgnoreDeletesCheck: PreflightCheck {
    public init() {}
    public let name = "ignore-deletes"
    public let reason =
        "with ignore-deletes true gsyncd drops unlink and rmdir: the secondary keeps every file deleted on the primary, and they all come back (resurrect) for clients at failover"
    public let issue = "https://github.com/gluster/glusterfs/issues/1541"
    public let fix =
        "if deletes must reach the secondary: `gluster volume geo-replication PRIMARY SECONDARY config ignore-deletes false`, and clean up the files already kept there; otherwise expect deleted files after failover"
    public let severity = PreflightSeverity.warn
    public let required = ["primary", "secondary"]

    public func commands(_ input: PreflightInput, cli: GlusterCLI) -> [PlannedCommand] {
        [
            PlannedCommand(
                .probe, on: input.host, cli.geoRepConfigGet(input.string("primary"), input.string("secondary")))
        ]
    }

    public func evaluate(_ answers: [PreflightAnswer], _ input: PreflightInput) -> [PreflightFinding] {
        guard let answer = answers.first, let result = answer.result else {
            return answers.first?.failure("read the session config").map { [$0] } ?? []
        }
        do {
            let config = try GlusterParse.geoRepConfig(
                GlusterOutput(command: answer.command.command, host: answer.host, result: result))
            let value = config["ignore-deletes"] ?? "false"
            return OptionValue.truthy.contains(value.lowercased())
                ? [
                    PreflightFinding(
                        answer.host,
                        "\(input.string("primary")) -> \(input.string("secondary")) has ignore-deletes \(value): deleted files will resurrect at failover"
                    )
                ] : []
        } catch {
            return [PreflightFinding(answer.host, "\(error)")]
        }
    }
}
